"""A drug-library entry: one YAML file per drug, validated by :class:`DrugEntry`.

An entry names the drug and its components, the approved dose range, each component's
pharmacokinetics (:mod:`twinflow.drugs.pharmacology`: one compartment, average steady-state
concentration) and the drug's effects: each a fractional change of one model parameter
(:data:`TARGETS`) by a sigmoid Emax of a component's concentration, with an onset time
constant, a source, and a plain statement of what in the mapping is assumed. An effect may
carry the trial it was calibrated on (``calibration``: regimen, duration, observed change,
source); validation then checks that the entry's numbers reproduce that observation, so a
file cannot drift from the trial it cites.

Values are quantities with units (pint), as in case files; ``schemas/drug.schema.json`` is
generated from this model (``twinflow schema``).
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twinflow import units as u
from twinflow.drugs import pharmacology as pd

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
#: Largest calibration mismatch (fraction of the observed change) a file may hold: its
#: numbers are rounded to 3-4 significant digits.
CALIBRATION_RTOL = 0.02

#: The model parameters a drug effect can change, and what the model does with the factor
#: (the circulation's by their Regazzoni et al. 2020 flat names; ``V_TOT`` the loop volume).
TARGETS: dict[str, str] = {
    "circulation.R_AR_SYS": "systemic arterial resistance (afterload)",
    "circulation.C_AR_SYS": "systemic arterial compliance",
    "circulation.R_VEN_SYS": "systemic venous resistance",
    "circulation.C_VEN_SYS": "systemic venous compliance (venodilation, preload)",
    "circulation.V_TOT": "circulating blood volume of the closed loop (natriuresis, preload)",
    "activation.reference_tension": "contractility: the HMT 1998 reference tension",
    "geometry.wall_thickness": "LV wall thickness (mass regression), re-meshes the arm",
    "geometry.cavity_volume": "LV cavity volume of the end-diastolic geometry (reverse "
                              "remodelling, wall thickness kept), re-meshes the arm",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True,
                              use_attribute_docstrings=True, populate_by_name=True)


Source = Annotated[str, Field(min_length=8, max_length=400)]
"""A citation: authors, year, journal or label, and what was taken from it."""


class Pharmacokinetics(Strict):
    """One compartment, first-order elimination (:mod:`twinflow.drugs.pharmacology`)."""

    bioavailability: Annotated[u.Fraction, Field(gt=0)]
    """Oral bioavailability F (of this formulation)."""
    half_life: u.Duration
    """Elimination half-life of the moiety that acts."""
    volume_of_distribution: u.Volume
    active_moiety: str = ""
    """The moiety whose concentration drives the effects, when not the component itself
    (prodrugs: sacubitril -> LBQ657, enalapril -> enalaprilat)."""
    source: Source


class Component(Strict):
    """One active ingredient of the product."""

    name: Annotated[str, Field(pattern=SLUG)]
    dose_fraction: Annotated[u.Fraction, Field(gt=0)]
    """Share of the product's dose (mass per administration) that is this component."""
    pharmacokinetics: Pharmacokinetics


class Dosing(Strict):
    """Approved range of one administration and the largest frequency."""

    min_dose: u.Dose
    max_dose: u.Dose
    max_frequency: u.Frequency
    source: Source

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min_dose > self.max_dose:
            raise ValueError(f"dose range inverted: min_dose {self.min_dose * 1e6:g} mg > "
                             f"max_dose {self.max_dose * 1e6:g} mg")
        return self


class Calibration(Strict):
    """The trial observation an effect's numbers reproduce."""

    dose: u.Dose
    """Per administration (of the product)."""
    frequency: u.Frequency
    duration: u.Duration
    observed: Annotated[u.Dimensionless, Field(gt=-1)]
    """Observed fractional change of the target parameter (e.g. -0.107)."""
    source: Source


class Effect(Strict):
    """A fractional change of one model parameter driven by one component."""

    target: str
    """A model parameter (:data:`TARGETS`)."""
    component: Annotated[str, Field(pattern=SLUG)]
    e_max: Annotated[u.Dimensionless, Field(gt=-1, le=5)]
    """Largest fractional change (Emax model)."""
    ec50: u.MassConcentration
    """Concentration of the component's active moiety at half the largest change."""
    hill: Annotated[u.PositiveNumber, Field(le=10)] = 1.0
    onset: u.Duration
    """Time constant of the first-order onset (weeks for haemodynamics, months for
    remodelling)."""
    source: Source
    """Where the size of the effect comes from."""
    assumption: Annotated[str, Field(min_length=8)]
    """What the mapping onto the model parameter assumes (stated plainly)."""
    calibration: Calibration | None = None

    @field_validator("target")
    @classmethod
    def _known(cls, target: str) -> str:
        if target not in TARGETS:
            raise ValueError(f"unknown target parameter '{target}' (known: "
                             f"{', '.join(sorted(TARGETS))})")
        return target

    def change(self, concentration: float, duration_s: float) -> float:
        """Fractional change after ``duration_s`` at steady-state ``concentration``."""
        return (pd.emax_response(concentration, self.e_max, self.ec50, self.hill)
                * pd.onset(duration_s, self.onset))


#: The arm-comparison quantities a trial outcome can name (:mod:`twinflow.report.compare`).
OUTCOMES = ("systolic_pressure", "diastolic_pressure", "lv_systolic_pressure",
            "end_diastolic_volume", "end_systolic_volume", "stroke_volume",
            "ejection_fraction", "stroke_work", "lv_mass")


class TrialOutcome(Strict):
    """The direction in which a trial saw a quantity change under the drug."""

    quantity: Literal[OUTCOMES]  # type: ignore[valid-type]
    direction: Literal["down", "up", "unchanged"]
    source: Source


class DrugEntry(Strict):
    """One drug of the library (a YAML file ``<id>.yaml``)."""

    id: Annotated[str, Field(pattern=SLUG)]
    name: str
    drug_class: Annotated[str, Field(alias="class")]
    components: Annotated[list[Component], Field(min_length=1)]
    dosing: Dosing
    effects: Annotated[list[Effect], Field(min_length=1)]
    outcomes: list[TrialOutcome] = Field(default_factory=list)
    """What trials observed, set next to the model's change in the arm comparison."""
    notes: str = ""

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Cross-field problems, each with its key path: unique component names, dose
        fractions adding up to 1, effects naming a component, and each calibrated effect
        reproducing its trial observation (within :data:`CALIBRATION_RTOL`)."""
        out: list[tuple[tuple[str | int, ...], str]] = []
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            out.append((("components",), "component names must be unique"))
        total = sum(c.dose_fraction for c in self.components)
        if abs(total - 1.0) > 1e-3:
            out.append((("components",), f"component dose fractions add up to {total:g}, "
                                         "not 1"))
        for i, e in enumerate(self.effects):
            if e.component not in names:
                out.append((("effects", i, "component"), f"'{e.component}' is not a "
                            f"component ({', '.join(names)})"))
            elif e.calibration is not None:
                c = e.calibration
                got = e.change(self.concentration(e.component, c.dose, c.frequency),
                               c.duration)
                if abs(got - c.observed) > CALIBRATION_RTOL * abs(c.observed) + 1e-6:
                    out.append((("effects", i, "calibration", "observed"),
                                f"the effect's numbers give {got:+.4f} at this regimen, "
                                f"the trial observed {c.observed:+.4f}"))
        return out

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def concentration(self, component: str, dose_kg: float, frequency_per_s: float) -> float:
        """Average steady-state concentration (kg/m³) of ``component``'s active moiety for
        a product dose ``dose_kg`` given ``frequency_per_s`` times per second."""
        c = self.component(component)
        pk = c.pharmacokinetics
        return pd.average_steady_state_concentration(
            pk.bioavailability, c.dose_fraction * dose_kg, 1.0 / frequency_per_s,
            pk.volume_of_distribution, pk.half_life)
