"""The cohort spec: who is in a virtual cohort and which arms every member runs.

A spec names a **template** case (the physics, mesh, personalisation and simulation every
member shares, e.g. ``cases/lv-demo.yaml``), optional **settings** merged over it (a coarse
preset for a large cohort), the **population** — one distribution per patient variable, each
with its unit and source — **correlations** between variables, and the **arms** (scenarios,
as in a case file) every member runs::

    cohort: hypertensive-lvh
    anatomy: left-ventricle
    template: ../cases/lv-demo.yaml
    population:
      end_diastolic_volume: {distribution: normal, mean: 125 mL, sd: 22 mL, min: 80 mL,
                             max: 190 mL, source: ...}
      ...
    correlations:
      - {between: [systolic_pressure, diastolic_pressure], r: 0.6, source: ...}
    arms:
      - id: baseline
      - {id: enalapril, drug: enalapril, dose: 10 mg, frequency: 2 /day, duration: 8 month}

Normal distributions are truncated to ``[min, max]`` (required: a sample outside what the
synthetic images and the model can represent would be a failure, not a patient); uniform ones
span ``[min, max]``. ``r`` is the correlation of the variables' normal scores (a Gaussian
copula, :mod:`twinflow.cohort.sample`); the matrix must be positive definite.

This module is the one source of truth of the format: ``schemas/cohort.schema.json`` is
generated from it; :func:`read_spec` gives the usual ``FILE:LINE:COL: key: message`` lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from twinflow import units as u
from twinflow.case.messages import format_path, problems_from_validation, read_document
from twinflow.case.models import SLUG, Scenario
from twinflow.errors import CaseError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


Source = Annotated[str, Field(min_length=3)]

#: Patient variables a population may sample: name -> (quantity type, display unit, what it
#: sets in a member case). The first six are required for a left-ventricle cohort.
VARIABLES: dict[str, tuple[Any, str, str]] = {
    "end_diastolic_volume": (u.Volume, "mL", "the synthetic LV's end-diastolic cavity volume "
                             "(the member's images; the calibration target is what the "
                             "reconstruction measures on them)"),
    "ejection_fraction": (u.Fraction, "", "end-systolic volume of the synthetic LV, "
                          "EDV (1 - EF)"),
    "wall_thickness": (u.Length, "mm", "the synthetic LV's end-diastolic wall thickness"),
    "systolic_pressure": (u.Pressure, "mmHg", "measurements.blood_pressure.systolic"),
    "diastolic_pressure": (u.Pressure, "mmHg", "measurements.blood_pressure.diastolic"),
    "heart_rate": (u.Frequency, "bpm", "measurements.heart_rate"),
    "age": (u.Age, "year", "patient.age"),
    "height": (u.Length, "cm", "patient.height"),
    "weight": (u.Mass, "kg", "patient.weight"),
}
REQUIRED = ("end_diastolic_volume", "ejection_fraction", "wall_thickness", "systolic_pressure",
            "diastolic_pressure", "heart_rate")
#: What the synthetic LV generator (twinflow.imaging.synth.lv) and the model represent: a
#: distribution's support must lie inside (SI).
SUPPORT: dict[str, tuple[float, float]] = {
    "end_diastolic_volume": (50e-6, 300e-6),
    "ejection_fraction": (0.15, 0.80),
    "wall_thickness": (5e-3, 20e-3),
}

Variable = Literal[tuple(VARIABLES)]  # type: ignore[valid-type]


class _Normal(Strict):
    distribution: Literal["normal"]
    mean: float
    sd: float
    min: float
    max: float
    source: Source

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.sd > 0:
            raise ValueError("sd must be positive")
        if not self.min < self.mean < self.max:
            raise ValueError("needs min < mean < max")
        return self


class _Uniform(Strict):
    distribution: Literal["uniform"]
    min: float
    max: float
    source: Source

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min < self.max:
            raise ValueError("needs min < max")
        return self


def _distribution(variable: str) -> Any:
    """The distribution type of ``variable``: its numbers are quantities of its dimension."""
    qtype, unit, sets = VARIABLES[variable]
    title = "".join(p.title() for p in variable.split("_"))
    fields = {"min": (qtype, ...), "max": (qtype, ...)}
    normal = create_model(f"Normal{title}", __base__=_Normal, __doc__=f"Sets {sets}.",
                          mean=(qtype, ...), sd=(qtype, ...), **fields)
    uniform = create_model(f"Uniform{title}", __base__=_Uniform, __doc__=f"Sets {sets}.",
                           **fields)
    return Annotated[normal | uniform, Field(discriminator="distribution")]


class Sex(Strict):
    """Fractions of female and male members (sum 1)."""

    female: u.Fraction  # type: ignore[valid-type]
    male: u.Fraction  # type: ignore[valid-type]
    source: Source

    @model_validator(mode="after")
    def _sum(self) -> Self:
        if abs(self.female + self.male - 1) > 1e-9:  # type: ignore[operator]
            raise ValueError("female + male must be 1")
        return self


Population = create_model(
    "Population", __base__=Strict,
    __doc__="One distribution per patient variable (:data:`VARIABLES`); "
            f"{', '.join(REQUIRED)} are required.",
    sex=(Sex | None, None),
    **{v: (_distribution(v) if v in REQUIRED else _distribution(v) | None,
           ... if v in REQUIRED else None) for v in VARIABLES})


class Correlation(Strict):
    """Correlation of two variables' normal scores (Gaussian copula)."""

    between: tuple[Variable, Variable]
    r: Annotated[float, Field(gt=-1, lt=1)]
    source: Source

    @field_validator("between")
    @classmethod
    def _two(cls, pair: tuple[str, str]) -> tuple[str, str]:
        if pair[0] == pair[1]:
            raise ValueError("a variable with itself")
        return pair


class CohortSpec(Strict):
    """A virtual cohort: a template case, a population and the arms of every member."""

    cohort: Annotated[str, Field(pattern=SLUG, max_length=40)]
    """The cohort's id: its members are ``<cohort>-001`` ...; results in results/<cohort>/."""
    description: str = ""
    anatomy: Literal["left-ventricle"]
    """Only LV cohorts for now (the drug arms act on the LV model)."""
    template: str
    """Case file every member starts from (relative to the spec); its patient, images,
    measurements and scenarios are replaced by each member's."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """Case sections merged over the template's (mesh, physics, personalisation,
    simulation, ...), e.g. a coarse preset; validated in every member case."""
    population: Population  # type: ignore[valid-type]
    correlations: list[Correlation] = Field(default_factory=list)
    arms: Annotated[list[dict[str, Any]], Field(min_length=1)]
    """Scenarios every member runs, written as in a case file; one is the baseline."""

    @field_validator("settings")
    @classmethod
    def _settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        own = sorted(set(settings) & {"anatomy", "patient", "images", "measurements",
                                      "scenarios", "description"})
        if own:
            raise ValueError(f"{', '.join(own)} are set per member, not in settings")
        return settings

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for arm in arms:
            Scenario.model_validate(arm)  # a drug, dose range and regimen as in a case
        ids = [a.get("id") for a in arms]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate arm id")
        if not any(a.get("drug") is None and a.get("duration") is None for a in arms):
            raise ValueError("the arms need a baseline (an arm without a drug and duration)")
        return arms

    def distributions(self) -> dict[str, Any]:
        """Variable -> its distribution, for the variables the population samples."""
        return {v: d for v in VARIABLES if (d := getattr(self.population, v)) is not None}

    def correlation_matrix(self) -> tuple[list[str], np.ndarray]:
        names = list(self.distributions())
        corr = np.eye(len(names))
        for c in self.correlations:
            i, j = names.index(c.between[0]), names.index(c.between[1])
            corr[i, j] = corr[j, i] = c.r
        return names, corr

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Checks across fields: (key path, message)."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        names = list(self.distributions())
        for k, c in enumerate(self.correlations):
            for v in c.between:
                if v not in names:
                    out.append((("correlations", k, "between"), f"{v} is not in the population"))
        pairs = [tuple(sorted(c.between)) for c in self.correlations]
        for k, p in enumerate(pairs):
            if pairs.index(p) != k:
                out.append((("correlations", k, "between"), "pair given twice"))
        if not out and self.correlations:
            _, corr = self.correlation_matrix()
            if np.linalg.eigvalsh(corr).min() <= 1e-9:
                out.append((("correlations",), "the correlation matrix is not positive "
                            "definite (these r cannot hold together)"))
        for v, (lo, hi) in SUPPORT.items():
            d = getattr(self.population, v)
            if d is not None and not (lo <= d.min and d.max <= hi):
                unit = VARIABLES[v][1]
                scale = 1.0 if not unit else u.to_si(1.0, unit)
                out.append((("population", v), f"[min, max] must lie within "
                            f"{lo / scale:g}-{hi / scale:g} {unit}".rstrip()
                            + " (what the synthetic LV images represent)"))
        sbp, dbp = self.population.systolic_pressure, self.population.diastolic_pressure
        if dbp.min >= sbp.max:
            out.append((("population", "diastolic_pressure"), "always above the systolic"))
        return out


def read_spec(path: str | os.PathLike[str]) -> CohortSpec:
    """Read and validate a cohort spec; :class:`CaseError` with one line per problem."""
    path = Path(path)
    name = os.fspath(path)
    doc, lines = read_document(path, "cohort spec")
    spec = None
    try:
        spec = CohortSpec.model_validate(doc.data)
    except ValidationError as exc:
        lines += [line for _, line in problems_from_validation(exc, doc, name, [CohortSpec])]
    if spec is not None:
        for loc, message in spec.problems():
            pos = doc.position(loc)
            lines.append(f"{name}:{pos.line}:{pos.column}: {format_path(loc)}: {message}")
        template = (path.parent / spec.template)
        if not template.is_file():
            pos = doc.position(("template",))
            lines.append(f"{name}:{pos.line}:{pos.column}: template: no such case file: "
                         f"{spec.template}")
    if lines or spec is None:
        raise CaseError(*lines)
    return spec


def display(variable: str, value_si: float) -> float:
    """A sampled value in its display unit (mL, mmHg, bpm ...)."""
    unit = VARIABLES[variable][1]
    return value_si / u.to_si(1.0, unit) if unit else value_si

