"""``<scenario>/drug_effects.json`` (stage ``drug_effects``): a scenario's drug regimen as
multiplicative factors on model parameters, read by the LV mesher (wall thickness) and the
heart simulation (0D circulation). The mapping and its sources: :mod:`twinflow.drugs.effects`.
"""

from __future__ import annotations

from twinflow.artifacts import Artifact

#: Factor name of the LV wall thickness (remodelling at a fixed cavity).
WALL_THICKNESS = "geometry.wall_thickness"
#: Prefix of the factors on 0D circulation parameters (``circulation.R_AR_SYS``).
CIRCULATION = "circulation."


#: Factor name of the LV cavity volume (reverse remodelling, the wall thickness kept).
CAVITY_VOLUME = "geometry.cavity_volume"
#: Factor name of the HMT 1998 reference tension (contractility).
REFERENCE_TENSION = "activation.reference_tension"


class ComponentExposure(Artifact):
    """A component's dose and average steady-state concentration in a drug arm."""

    component: str
    active_moiety: str
    dose: float
    """Per administration (kg)."""
    concentration: float
    """Average steady-state concentration of the active moiety (kg/m³ = g/L)."""


class ParameterChange(Artifact):
    """One effect of a drug arm: a fractional change of one model parameter."""

    parameter: str
    component: str
    change: float
    """Fractional change (-0.12: the parameter times 0.88)."""
    concentration: float
    """The component's concentration driving it (kg/m³)."""
    source: str
    assumption: str


class ExpectedOutcome(Artifact):
    """A trial's direction of change of one compared quantity (from the drug's entry)."""

    quantity: str
    direction: str
    """``down``, ``up`` or ``unchanged``."""
    source: str


class DrugEffects(Artifact):
    """The drug arm of one scenario (empty ``factors`` for a baseline)."""

    scenario: str
    drug: str | None
    factors: dict[str, float]
    """Multiplicative factor per model parameter (``geometry.wall_thickness``,
    ``circulation.R_AR_SYS`` ...); a parameter not listed keeps its value."""
    changes: list[ParameterChange]
    """The parameter diff: every effect with its size, source and assumption."""
    exposure: list[ComponentExposure]
    """Each component's dose and concentration (empty for a baseline)."""
    outcomes: list[ExpectedOutcome] = []
    """What trials of the drug observed (for the arm comparison)."""
    simplifications: list[str]
    """How the regimen was mapped (empty for a baseline)."""

    @property
    def cavity_volume(self) -> float:
        """Factor on the LV cavity volume (1 without reverse remodelling)."""
        return float(self.factors.get(CAVITY_VOLUME, 1.0))

    @property
    def reference_tension(self) -> float:
        """Factor on the reference tension (1 without a contractility effect)."""
        return float(self.factors.get(REFERENCE_TENSION, 1.0))

    @property
    def wall_thickness(self) -> float:
        """Factor on the LV wall thickness at a fixed cavity (1 without remodelling)."""
        return float(self.factors.get(WALL_THICKNESS, 1.0))

    @property
    def circulation(self) -> dict[str, float]:
        """Factors on 0D circulation parameters by their flat name (``R_AR_SYS``)."""
        return {k.removeprefix(CIRCULATION): f for k, f in self.factors.items()
                if k.startswith(CIRCULATION)}
