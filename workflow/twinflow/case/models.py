"""The case schema: one pydantic model tree for both anatomies.

A case is discriminated by ``anatomy`` (``carotid`` or ``left-ventricle``; ``benchmark``
for the published verification problems run through the same solvers). Every physical
quantity is written with its unit and held in SI (see :mod:`twinflow.units`); unknown
keys are errors; defaults keep the smallest valid case to two lines::

    anatomy: left-ventricle
    description: measurements-only LV with literature defaults

This module is the one source of truth for the case format: ``schemas/case.schema.json`` is
generated from it (``twinflow schema``) and a test fails when that file is stale.
Literature values used as defaults are cited where they are defined.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twinflow import units as u
from twinflow.io import sha256_path

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
# Integers and booleans are strict: YAML's `true` or `yes` must not become 1.
Box = tuple[StrictInt, StrictInt, StrictInt, StrictInt]
WindowSide = Annotated[StrictInt, Field(ge=32, le=4096)]


class Strict(BaseModel):
    """Base of every case model: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, validate_default=True,
                              use_attribute_docstrings=True)


# --------------------------------------------------------------------------- patient


class Patient(Strict):
    """Who the model is of. No identifiers: names and IDs never enter a case file."""

    age: u.Age | None = None
    sex: Literal["female", "male"] | None = None
    height: u.Length | None = None
    weight: u.Mass | None = None
    body_surface_area: u.Area | None = None
    """Measured BSA; derived from height and weight (Mosteller 1987) when omitted."""

    @model_validator(mode="after")
    def _derive_bsa(self) -> Self:
        if self.height is not None and not 0.3 <= self.height <= 2.6:
            raise ValueError(f"height {self.height:.3g} m is outside 0.3-2.6 m")
        if self.weight is not None and not 1 <= self.weight <= 400:
            raise ValueError(f"weight {self.weight:.4g} kg is outside 1-400 kg")
        if self.body_surface_area is None and self.height and self.weight:
            # Mosteller RD 1987, N Engl J Med 317:1098: BSA [m^2] = sqrt(h[cm] * w[kg] / 3600)
            bsa = math.sqrt(self.height * 100 * self.weight / 3600)
            object.__setattr__(self, "body_surface_area", bsa)
        return self


# --------------------------------------------------------------------------- images


def _resolve_path(value: str, info: ValidationInfo, what: str) -> str:
    """Resolve ``value`` against the case file folder, check it exists, return it canonical.

    Canonical paths are POSIX, relative to the project root (the working directory) when the
    file lies under it, absolute otherwise, so ``case.json`` does not depend on where the case
    file sits or how the path was written.
    """
    ctx = info.context or {}
    if ctx.get("canonical"):  # already canonical (case.json, settings files): keep it
        return value
    base = Path(ctx.get("base_dir", "."))
    root = Path(ctx.get("root", os.getcwd())).resolve()
    path = Path(value).expanduser()
    full = (path if path.is_absolute() else base / path).resolve()
    if ctx.get("check_paths", True) and not full.exists():
        raise ValueError(f"{what} not found: {value}")
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return full.as_posix()


class Image(Strict):
    """One input image: a DICOM file or series folder, a NIfTI/MHA volume, or a PNG/JPEG frame.

    In a case file an image has its ``path``; its SHA-256 (``sha256``, of a folder: of its
    files' bytes in name order) is computed when the case is validated (given in the file, it
    must match). The canonical case (``case.json``, settings files) names the image by its
    hash alone, never by its path (which may hold a patient's name): the path is excluded
    from :func:`~twinflow.case.load.to_canonical`, and the ingest rule passes the files on
    its command line (``twinflow ingest --images``), where each is checked against its hash.
    """

    path: str | None = Field(default=None, exclude=True)
    """The file or folder, relative to the case file (absent in canonical data)."""
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    """SHA-256 of the image's bytes (computed from ``path`` when the case is validated)."""
    modality: Literal["ultrasound", "echo", "ct", "mr"]
    view: Literal["transversal-cca", "transversal-ica", "longitudinal", "apical-4ch",
                  "apical-2ch", "volume"]
    phase: Literal["end-diastole", "end-systole"] | None = None
    """Cardiac phase of the frame (LV views)."""
    pixel_spacing: tuple[u.Length, u.Length] | None = None
    """(row, column) spacing; required for PNG/JPEG, overrides the file's own otherwise."""
    frame: Annotated[StrictInt, Field(ge=0)] | None = None
    """Frame index in a multi-frame file; default: the first (or the phase's) frame."""
    burned_in_text: list[Box] = Field(default_factory=list)
    """Pixel boxes (x0, y0, x1, y1) holding burned-in identifying text, blanked at ingest."""

    @field_validator("path")
    @classmethod
    def _exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _resolve_path(value, info, "image")

    @field_validator("burned_in_text")
    @classmethod
    def _boxes(cls, boxes: list[Box]) -> list[Box]:
        for x0, y0, x1, y1 in boxes:
            if min(x0, y0) < 0 or x1 <= x0 or y1 <= y0:
                raise ValueError(f"box {[x0, y0, x1, y1]} must have 0 <= x0 < x1, 0 <= y0 < y1")
        return boxes

    @model_validator(mode="after")
    def _path_and_hash(self, info: ValidationInfo) -> Self:
        ctx = info.context or {}
        if ctx.get("canonical"):
            return self
        if self.path is None:
            raise ValueError("an image needs its 'path'")
        if self.pixel_spacing is None and re.search(r"\.(png|jpe?g)$", self.path, re.I):
            raise ValueError(f"PNG/JPEG image {Path(self.path).name} needs a pixel_spacing")
        root = Path(ctx.get("root", os.getcwd()))
        full = Path(self.path) if Path(self.path).is_absolute() else root / self.path
        if full.exists():
            digest = sha256_path(full)
            if self.sha256 is not None and self.sha256 != digest:
                raise ValueError(f"image {Path(self.path).name}: sha256 {self.sha256} given, "
                                 f"the file's is {digest}")
            object.__setattr__(self, "sha256", digest)
        return self


class Preprocessing(Strict):
    """Image preprocessing of the paper (Geroski 2023): a static window and normalisation."""

    window: tuple[WindowSide, WindowSide] = (512, 512)
    """Analysis window in pixels (rows, columns); 512 x 512 in the paper."""
    normalisation: Literal["percentile", "zscore"] = "percentile"


# --------------------------------------------------------------------------- segmentation


class Segmentation(Strict):
    """Which ONNX model segments the images, and how probabilities become masks."""

    model: str | None = None
    """An ONNX file, or null for the project's demo model of the anatomy (see models/)."""
    thresholds: dict[str, u.Fraction] = Field(default_factory=dict)
    """Probability threshold per class (default 0.5), e.g. {lumen: 0.5, wall: 0.45}."""
    largest_component: StrictBool = True
    """Keep only the largest connected component of each class."""

    @field_validator("model")
    @classmethod
    def _model_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _resolve_path(value, info, "segmentation model")


# --------------------------------------------------------------------------- carotid


class Tube(Strict):
    """Straight rigid tube, for verification against Poiseuille and Womersley flow."""

    radius: u.Length = "3 mm"  # type: ignore[assignment]
    length: u.Length = "60 mm"  # type: ignore[assignment]


class BifurcationTemplate(Strict):
    """Generic carotid bifurcation used where the images do not show a dimension.

    Ratios after Bharadvaj et al. 1982 (J Biomech 15:349): distal ICA ~ 0.7 D, ECA ~ 0.58 D,
    sinus maximum ~ 1.1 D for a CCA diameter D; ICA-ECA angle ~ 50 deg. CCA diameter 6.8 mm
    from CTA of 92 subjects (reference-data.md).
    """

    cca_diameter: u.Length = "6.8 mm"  # type: ignore[assignment]
    ica_ratio: u.PositiveNumber = 0.7
    eca_ratio: u.PositiveNumber = 0.58
    bulb_ratio: u.PositiveNumber = 1.1
    bifurcation_angle: u.Angle = "50 deg"  # type: ignore[assignment]
    cca_length: u.Length = "30 mm"  # type: ignore[assignment]
    ica_length: u.Length = "40 mm"  # type: ignore[assignment]
    eca_length: u.Length = "30 mm"  # type: ignore[assignment]


class CarotidGeometry(Strict):
    kind: Literal["bifurcation", "tube"] = "bifurcation"
    tube: Tube = Field(default_factory=Tube)
    template: BifurcationTemplate = Field(default_factory=BifurcationTemplate)
    flow_extension: Annotated[float, Field(ge=0, le=20)] = 3.0
    """Length of straight inlet/outlet extensions, in local diameters (0: none)."""
    wall: StrictBool = True
    """Also build the outer wall surface and solid wall mesh."""


class Blood(Strict):
    """Newtonian blood (reference-data.md): rho = 1050 kg/m^3, mu = 3.5 mPa s."""

    density: u.Density = "1050 kg/m**3"  # type: ignore[assignment]
    viscosity: u.Viscosity = "3.5 mPa*s"  # type: ignore[assignment]


class FlowTable(Strict):
    """A measured flow waveform over one period (periodic cubic spline through the points)."""

    time: list[u.TimePoint]
    flow: list[u.FlowRate]

    @model_validator(mode="after")
    def _same_length(self) -> Self:
        if len(self.time) != len(self.flow) or len(self.time) < 3:
            raise ValueError("time and flow need the same length, at least 3 points")
        if any(b <= a for a, b in zip(self.time, self.time[1:], strict=False)):
            raise ValueError("time points must increase")
        return self


class Inflow(Strict):
    """CCA inflow: a literature waveform scaled to a mean flow, or a measured table.

    ``holdsworth1999``: Holdsworth DW et al. 1999, Physiol Meas 20:219 (mean ~ 6 mL/s,
    peak ~ 23-25 mL/s, period ~ 0.92 s).
    """

    waveform: Literal["holdsworth1999", "table", "steady", "sinusoidal"] = "holdsworth1999"
    mean_flow: u.FlowRate = "6 mL/s"  # type: ignore[assignment]
    amplitude: u.FlowRate = "0 mL/s"  # type: ignore[assignment]
    """Flow amplitude of the ``sinusoidal`` waveform (Womersley verification)."""
    period: u.Duration = "0.92 s"  # type: ignore[assignment]
    table: FlowTable | None = None
    profile: Literal["womersley", "parabolic", "plug"] = "womersley"

    @model_validator(mode="after")
    def _table_given(self) -> Self:
        if self.waveform == "table" and self.table is None:
            raise ValueError("waveform 'table' needs a table: {time: [...], flow: [...]}")
        return self


class WindkesselOutlet(Strict):
    """Three-element Windkessel: proximal R_p, compliance C, distal R_d."""

    proximal_resistance: u.Resistance
    compliance: u.Compliance
    distal_resistance: u.Resistance


class Outlets(Strict):
    """Outlet conditions: a prescribed ICA/ECA flow split, resistances, or Windkessels."""

    model: Literal["flow-split", "resistance", "windkessel"] = "flow-split"
    ica_fraction: u.Fraction = 0.6
    """ICA share of CCA flow for ``flow-split`` (about 60-70 % in healthy adults)."""
    resistance: dict[Literal["ica", "eca"], u.Resistance] = Field(default_factory=dict)
    windkessel: dict[Literal["ica", "eca"], WindkesselOutlet] = Field(default_factory=dict)
    pressure: u.Pressure = "0 Pa"  # type: ignore[assignment]
    """Reference (venous) pressure behind the outlets."""

    def missing(self, branches: set[str]) -> list[str]:
        """Branches of ``branches`` that the outlet model needs values for but lacks."""
        given = {"resistance": self.resistance, "windkessel": self.windkessel}.get(self.model)
        return [] if given is None else sorted(branches - set(given))


class CarotidPhysics(Strict):
    blood: Blood = Field(default_factory=Blood)
    inflow: Inflow = Field(default_factory=Inflow)
    outlets: Outlets = Field(default_factory=Outlets)


# --------------------------------------------------------------------------- left ventricle


class EllipsoidMeasurements(Strict):
    """Truncated prolate ellipsoid LV from measurements (unloaded reference shape).

    Defaults give an adult-sized LV; the Land et al. 2015 benchmark ellipsoid is
    endo 7/17 mm, epi 10/20 mm, base at 5 mm (cases/verification/).
    """

    endo_short_radius: u.Length = "25 mm"  # type: ignore[assignment]
    endo_long_radius: u.Length = "55 mm"  # type: ignore[assignment]
    epi_short_radius: u.Length = "35 mm"  # type: ignore[assignment]
    epi_long_radius: u.Length = "62 mm"  # type: ignore[assignment]
    base_height: u.NonNegativeLength = "10 mm"  # type: ignore[assignment]
    """Height of the base plane above the equator."""

    @model_validator(mode="after")
    def _nested(self) -> Self:
        if not (self.epi_short_radius > self.endo_short_radius
                and self.epi_long_radius > self.endo_long_radius):
            raise ValueError("the epicardium must enclose the endocardium (epi radii > endo)")
        if self.base_height >= self.endo_long_radius:
            raise ValueError("base_height must be below the endocardial long radius")
        return self


class Fibres(Strict):
    """Rule-based fibres (Bayer et al. 2012): helix angle +60 deg endo to -60 deg epi."""

    helix_endo: u.Angle = "60 deg"  # type: ignore[assignment]
    helix_epi: u.Angle = "-60 deg"  # type: ignore[assignment]
    sheet_endo: u.Angle = "-65 deg"  # type: ignore[assignment]
    sheet_epi: u.Angle = "25 deg"  # type: ignore[assignment]


class LVGeometry(Strict):
    source: Literal["images", "measurements", "volume"] = "measurements"
    """Biplane echo views, measurements alone, or a 3D CT/MR mask."""
    measurements: EllipsoidMeasurements = Field(default_factory=EllipsoidMeasurements)
    fibres: Fibres = Field(default_factory=Fibres)


class HolzapfelOgden(Strict):
    """Transversely isotropic Holzapfel-Ogden (Holzapfel & Ogden 2009); parameters as used
    in fenicsx-pulse: a=2.280 kPa, b=9.726, a_f=1.685 kPa, b_f=15.779."""

    law: Literal["holzapfel-ogden"] = "holzapfel-ogden"
    a: u.Stiffness = "2.280 kPa"  # type: ignore[assignment]
    b: u.PositiveNumber = 9.726
    a_f: u.Stiffness = "1.685 kPa"  # type: ignore[assignment]
    b_f: u.PositiveNumber = 15.779


class HolzapfelOgdenOrthotropic(Strict):
    """Orthotropic Holzapfel-Ogden (Holzapfel & Ogden 2009), fenicsx-pulse parameters."""

    law: Literal["holzapfel-ogden-orthotropic"] = "holzapfel-ogden-orthotropic"
    a: u.Stiffness = "0.059 kPa"  # type: ignore[assignment]
    b: u.PositiveNumber = 8.023
    a_f: u.Stiffness = "18.472 kPa"  # type: ignore[assignment]
    b_f: u.PositiveNumber = 16.026
    a_s: u.Stiffness = "2.481 kPa"  # type: ignore[assignment]
    b_s: u.PositiveNumber = 11.120
    a_fs: u.Stiffness = "0.216 kPa"  # type: ignore[assignment]
    b_fs: u.PositiveNumber = 11.436


class Guccione(Strict):
    """Guccione et al. 1991; defaults of Land et al. 2015 problem 3 (C=2 kPa, 8, 2, 4)."""

    law: Literal["guccione"] = "guccione"
    C: u.Stiffness = "2 kPa"  # type: ignore[assignment]
    b_f: u.PositiveNumber = 8.0
    b_t: u.PositiveNumber = 2.0
    b_fs: u.PositiveNumber = 4.0


class NeoHookean(Strict):
    law: Literal["neo-hookean"] = "neo-hookean"
    mu: u.Stiffness = "15 kPa"  # type: ignore[assignment]


Material = Annotated[HolzapfelOgden | HolzapfelOgdenOrthotropic | Guccione | NeoHookean,
                     Field(discriminator="law")]


class Compressibility(Strict):
    kind: Literal["incompressible", "nearly-incompressible"] = "incompressible"
    bulk_modulus: u.Stiffness = "1000 kPa"  # type: ignore[assignment]
    """Penalty modulus of the nearly incompressible form."""


class CalciumTransient(Strict):
    """Intracellular calcium transient driving activation (a bi-exponential shape)."""

    diastolic: u.Concentration = "0.1 umol/L"  # type: ignore[assignment]
    peak: u.Concentration = "1.0 umol/L"  # type: ignore[assignment]
    onset: u.TimePoint = "0.1 s"  # type: ignore[assignment]
    """Start of the rise within the beat; 0.1 s as the LV contraction start of Regazzoni et
    al. 2020 (tC_LV), so a beat starts at end-diastole with no residual tension."""
    rise_time: u.Duration = "0.05 s"  # type: ignore[assignment]
    decay_time: u.Duration = "0.15 s"  # type: ignore[assignment]
    """0.15 s: active phase ~0.32 s of a 0.8 s beat (0.2 s left too little filling time at
    75 bpm; docs/lv-cycle.md)."""


class Activation(Strict):
    """Hunter, McCulloch & ter Keurs 1998 tension-calcium-stretch relation."""

    model: Literal["hunter1998"] = "hunter1998"
    reference_tension: u.Stiffness = "100 kPa"  # type: ignore[assignment]
    """T_ref: isometric tension at saturating calcium and reference length (100 kPa, Hunter
    et al. 1998). With ``measurements.blood_pressure`` given it is the start of the
    calibration (personalise_lv), which replaces it."""
    transverse_fraction: u.Fraction = 0.0
    """Share of the fibre tension also acting across fibres (0: purely along fibres)."""
    length_dependence: Annotated[float, Field(ge=0, le=10)] = 1.45
    """beta0 of the fibre tension's length dependence T = T_a (1 + beta0 (lambda - 1)),
    lambda the fibre stretch against the model's reference configuration (1.45, Hunter,
    McCulloch & ter Keurs 1998; 0: tension independent of the fibre length)."""
    velocity_dependence: u.NonNegativeDuration = "0.407 s"  # type: ignore[assignment]
    """c0 of the linear force-velocity factor 1 + c0 dlambda/dt of the fibre tension (the
    Hunter, McCulloch & ter Keurs 1998 fading-memory law linearised at steady shortening:
    (1 + a) sum(A_i/alpha_i) = 0.407 s; 0: no velocity dependence). A simplification."""
    calcium: CalciumTransient = Field(default_factory=CalciumTransient)


class Circulation(Strict):
    """0D circulation from the ``circulation`` package; parameter overrides by its names."""

    model: Literal["regazzoni2020", "windkessel3"] = "regazzoni2020"
    heart_rate: u.Frequency = "75 bpm"  # type: ignore[assignment]
    parameters: dict[str, str] = Field(default_factory=dict)
    """Overrides of the package's parameters, each with its unit (e.g. R_AR_SYS: '0.8
    mmHg*s/mL'); names are checked against the model when the simulation stage starts."""

    @field_validator("parameters")
    @classmethod
    def _quantities(cls, params: dict[str, str]) -> dict[str, str]:
        for key, text in params.items():
            try:
                u.parse_quantity(str(text))
            except ValueError as err:
                raise ValueError(f"parameter {key}: {err}") from None
        return params


class MechanicsBoundary(Strict):
    base: Literal["fixed", "sliding"] = "sliding"
    epicardium: Literal["free", "robin"] = "robin"
    pericardium_stiffness: u.SpringStiffness = "0.5 kPa/mm"  # type: ignore[assignment]
    base_stiffness: u.SpringStiffness = "1 kPa/mm"  # type: ignore[assignment]


class LVPhysics(Strict):
    study: Literal["cycle", "inflation"] = "cycle"
    material: Material = Field(default_factory=HolzapfelOgden)
    compressibility: Compressibility = Field(default_factory=Compressibility)
    activation: Activation = Field(default_factory=Activation)
    circulation: Circulation = Field(default_factory=Circulation)
    boundary: MechanicsBoundary = Field(default_factory=MechanicsBoundary)


class BloodPressure(Strict):
    """Cuff (brachial) blood pressure."""

    systolic: u.Pressure
    diastolic: u.Pressure

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        """Diastolic below systolic (their ranges: :mod:`twinflow.case.plausibility`)."""
        mmhg = 133.322387415
        sbp, dbp = self.systolic / mmhg, self.diastolic / mmhg  # type: ignore[operator]
        if not dbp < sbp:
            raise ValueError(f"diastolic pressure {dbp:g} mmHg not below the systolic {sbp:g}")
        return self


class ClinicalMeasurements(Strict):
    """What the clinic measured on the patient (LV cases); the personalisation targets.

    Volumes default to the ones reconstructed from the case's end-diastolic and end-systolic
    images; a value given here overrides the image-derived one (summary.json ``personalisation``
    names the source of every target). ``ejection_fraction`` alone sets the end-systolic
    volume from the end-diastolic one (ESV = EDV (1 - EF)).
    """

    blood_pressure: BloodPressure | None = None
    """Cuff systolic/diastolic pressure; without it the baseline is not personalised."""
    heart_rate: u.Frequency | None = None
    """Sets ``physics.circulation.heart_rate`` (which must then be left out or agree)."""
    end_diastolic_pressure: u.Pressure | None = None
    """LV end-diastolic pressure (catheter or echo estimate); default 8 mmHg (middle of the
    5-12 mmHg normal range, reference-data.md), said so in the outputs."""
    end_diastolic_volume: u.Volume | None = None
    end_systolic_volume: u.Volume | None = None
    ejection_fraction: Annotated[u.Fraction, Field(gt=0, lt=1)] | None = None  # type: ignore[valid-type]
    lv_mass: u.Mass | None = None
    """Recorded for the report; not a calibration target."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Volumes and EF agree (ranges of every value: :mod:`twinflow.case.plausibility`)."""
        edv, esv, ef = self.end_diastolic_volume, self.end_systolic_volume, self.ejection_fraction
        if edv is not None and esv is not None:
            if not esv < edv:  # type: ignore[operator]
                raise ValueError("end-systolic volume not below the end-diastolic volume")
            if ef is not None and abs(1 - esv / edv - ef) > 0.01:  # type: ignore[operator]
                raise ValueError(f"ejection fraction {ef:g} disagrees with the volumes "
                                 f"({1 - esv / edv:.3f}); give two of the three")  # type: ignore[operator]
        return self


class Personalisation(Strict):
    """Calibration of the baseline to ``measurements`` (LV cycle studies)."""

    max_beats: Annotated[StrictInt, Field(ge=2, le=60)] = 12
    """Budget of 3D beats for the active/circulation calibration."""
    pressure_tolerance: u.PositivePressure = "3 mmHg"  # type: ignore[assignment]
    """Systolic and diastolic pressure must match within this."""
    volume_tolerance: Annotated[u.Fraction, Field(gt=0)] = 0.05  # type: ignore[valid-type]
    """EDV and ESV must match within this fraction."""


# --------------------------------------------------------------------------- shared


class Mesh(Strict):
    cell_size: u.Length | None = None
    """Target cell size; default per anatomy (carotid: radius/6, LV: 5 mm)."""
    element_degree: Annotated[StrictInt, Field(ge=1, le=3)] = 2


class Scenario(Strict):
    """A baseline (no drug), a placebo arm (no drug, a ``duration``: the model applies no
    change) or a drug arm naming a drug-library entry and its regimen."""

    id: Annotated[str, Field(pattern=SLUG)]
    drug: str | None = None
    dose: u.Dose | None = None
    """Per administration, e.g. '97 mg'."""
    frequency: u.Frequency | None = None
    """Administrations per time, e.g. '2 /day'."""
    duration: u.Duration | None = None
    """Treatment duration, e.g. '8 month'."""

    @field_validator("drug")
    @classmethod
    def _known_drug(cls, drug: str | None, info: ValidationInfo) -> str | None:
        ctx = info.context or {}
        if drug is None or ctx.get("canonical"):  # canonical: checked when the case was read
            return drug
        from twinflow.drugs.library import load_library

        library = load_library(ctx.get("drug_library"))
        if drug not in library:
            raise ValueError(f"unknown drug '{drug}' (library: "
                             f"{', '.join(sorted(library.entries))})")
        return drug

    @model_validator(mode="after")
    def _regimen(self, info: ValidationInfo) -> Self:
        regimen = {"dose": self.dose, "frequency": self.frequency, "duration": self.duration}
        if self.drug is None:  # a baseline, or a placebo arm over a ``duration``
            given = [k for k in ("dose", "frequency") if regimen[k] is not None]
            if given:
                raise ValueError(f"{', '.join(given)} given without a drug (a placebo arm "
                                 "has a duration only)")
            return self
        missing = [k for k, v in regimen.items() if v is None]
        if missing:
            raise ValueError(f"drug arm '{self.id}' needs {', '.join(missing)}")
        ctx = info.context or {}
        if ctx.get("canonical"):  # checked against the library when the case was read
            return self
        from twinflow.drugs.library import load_library

        d = load_library(ctx.get("drug_library")).get(self.drug).dosing
        if not d.min_dose * 0.999 <= self.dose <= d.max_dose * 1.001:  # type: ignore[operator]
            raise ValueError(
                f"dose {self.dose * 1e6:g} mg outside the approved range of {self.drug} "
                f"({d.min_dose * 1e6:g}-{d.max_dose * 1e6:g} mg)")
        if self.frequency > d.max_frequency * 1.001:  # type: ignore[operator]
            raise ValueError(f"frequency above {d.max_frequency * 86400:g} per day "
                             f"for {self.drug}")
        return self


class Simulation(Strict):
    time_step: u.Duration = "2 ms"  # type: ignore[assignment]
    cycles: Annotated[StrictInt, Field(ge=1, le=100)] = 3
    """Cardiac cycles to run; the last one is analysed."""
    mpi_ranks: Annotated[StrictInt, Field(ge=1, le=4096)] = 1


class CaseBase(Strict):
    description: str = ""
    patient: Patient = Field(default_factory=Patient)
    images: list[Image] = Field(default_factory=list)
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)
    segmentation: Segmentation = Field(default_factory=Segmentation)
    mesh: Mesh = Field(default_factory=Mesh)
    scenarios: list[Scenario] = Field(default_factory=lambda: [Scenario(id="baseline")])
    simulation: Simulation = Field(default_factory=Simulation)

    @field_validator("scenarios")
    @classmethod
    def _one_baseline(cls, scenarios: list[Scenario]) -> list[Scenario]:
        ids = [s.id for s in scenarios]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate scenario id {', '.join(dup)}")
        if not any(s.drug is None and s.duration is None for s in scenarios):
            raise ValueError("scenarios need a baseline (a scenario without a drug and a "
                             "duration)")
        return scenarios


class CarotidCase(CaseBase):
    """Carotid bifurcation: ultrasound -> lumen/wall -> bifurcation -> CFD -> WSS indices."""

    anatomy: Literal["carotid"]
    geometry: CarotidGeometry = Field(default_factory=CarotidGeometry)
    physics: CarotidPhysics = Field(default_factory=CarotidPhysics)

    @field_validator("scenarios")
    @classmethod
    def _no_drug_arms(cls, scenarios: list[Scenario]) -> list[Scenario]:
        arms = [s.id for s in scenarios if s.drug is not None]
        if arms:
            raise ValueError(f"drug arms ({', '.join(arms)}) are modelled for the left "
                             "ventricle only; a carotid case has its baseline alone")
        return scenarios

    @field_validator("physics")
    @classmethod
    def _outlets_complete(cls, physics: CarotidPhysics, info: ValidationInfo) -> CarotidPhysics:
        # a tube has one outlet (its values under "ica"), a bifurcation two
        geometry = info.data.get("geometry")
        tube = geometry is not None and geometry.kind == "tube"
        missing = physics.outlets.missing({"ica"} if tube else {"ica", "eca"})
        if missing:
            model = physics.outlets.model
            raise ValueError(f"outlet model '{model}' needs values for {' and '.join(missing)} "
                             f"(physics.outlets.{model})")
        return physics

    @model_validator(mode="after")
    def _images_for_reconstruction(self) -> Self:
        if self.geometry.kind == "bifurcation" and self.images:
            views = {i.view for i in self.images}
            if not views & {"transversal-cca", "transversal-ica", "longitudinal"}:
                raise ValueError("a carotid case needs transversal or longitudinal views")
        return self


class LeftVentricleCase(CaseBase):
    """Left ventricle: echo/CT -> LV -> mechanics + circulation -> P-V loop per scenario."""

    anatomy: Literal["left-ventricle"]
    geometry: LVGeometry = Field(default_factory=LVGeometry)
    physics: LVPhysics = Field(default_factory=LVPhysics)
    measurements: ClinicalMeasurements = Field(default_factory=ClinicalMeasurements)
    personalisation: Personalisation = Field(default_factory=Personalisation)
    drug_library: str | None = None
    """A folder of drug files (``<id>.yaml``, schemas/drug.schema.json) added to the shipped
    library for this case; relative to the case file."""

    @field_validator("drug_library")
    @classmethod
    def _library_folder(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _resolve_path(value, info, "drug library folder")

    @model_validator(mode="after")
    def _heart_rate(self) -> Self:
        """``measurements.heart_rate`` sets the circulation's heart rate."""
        hr = self.measurements.heart_rate
        circ = self.physics.circulation
        if hr is None:
            return self
        if "heart_rate" in circ.model_fields_set and not math.isclose(
                circ.heart_rate, hr, rel_tol=1e-9):  # type: ignore[arg-type]
            raise ValueError("physics.circulation.heart_rate disagrees with "
                             "measurements.heart_rate (give one)")
        # already validated (SI float): set without re-validating the quantity text
        object.__setattr__(circ, "heart_rate", hr)
        circ.model_fields_set.add("heart_rate")
        return self

    @model_validator(mode="after")
    def _images_for_source(self) -> Self:
        views = {i.view for i in self.images}
        if self.geometry.source == "images" and not {"apical-4ch", "apical-2ch"} <= views:
            raise ValueError("geometry source 'images' needs apical-4ch and apical-2ch views")
        if self.geometry.source == "volume" and "volume" not in views:
            raise ValueError("geometry source 'volume' needs an image with view 'volume'")
        return self


class BenchmarkMesh(Strict):
    refinement: Annotated[StrictInt, Field(ge=1, le=8)] = 1
    """Land 2015: beam (10N, N, N) hexahedra; ellipsoid cell size 4/N mm."""
    apex_grading: Annotated[float, Field(ge=1.0, le=32.0)] = 8.0
    """Ellipsoids: cell size at the apex = cell size / apex_grading (1: uniform)."""


class BenchmarkSimulation(Strict):
    mpi_ranks: Annotated[StrictInt, Field(ge=1, le=4096)] = 1


class BenchmarkCase(Strict):
    """A published verification benchmark solved by twinflow's own solvers (no images).

    ``land2015``: the cardiac-mechanics benchmark of Land et al. 2015 (Proc R Soc A
    471:20150641), problem 1 (Guccione beam), 2 (passive ellipsoid inflation) or 3
    (inflation + active contraction); geometry, material and loads are those of the paper
    (:mod:`twinflow.verification.land2015`), only the discretisation is set here.
    """

    anatomy: Literal["benchmark"]
    description: str = ""
    benchmark: Literal["land2015"] = "land2015"
    problem: Literal[1, 2, 3]
    mesh: BenchmarkMesh = Field(default_factory=BenchmarkMesh)
    simulation: BenchmarkSimulation = Field(default_factory=BenchmarkSimulation)


class Case(RootModel[Annotated[CarotidCase | LeftVentricleCase | BenchmarkCase,
                               Field(discriminator="anatomy")]]):
    """A twinflow case: ``anatomy`` selects the carotid, left-ventricle or benchmark tree."""

    @property
    def case(self) -> CarotidCase | LeftVentricleCase | BenchmarkCase:
        return self.root
