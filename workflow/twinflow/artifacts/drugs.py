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


class DrugEffects(Artifact):
    """The drug arm of one scenario (empty ``factors`` for a baseline)."""

    scenario: str
    drug: str | None
    factors: dict[str, float]
    """Multiplicative factor per model parameter (``geometry.wall_thickness``,
    ``circulation.R_AR_SYS`` ...); a parameter not listed keeps its value."""
    simplifications: list[str]
    """How the regimen was mapped (empty for a baseline)."""

    @property
    def wall_thickness(self) -> float:
        """Factor on the LV wall thickness at a fixed cavity (1 without remodelling)."""
        return float(self.factors.get(WALL_THICKNESS, 1.0))

    @property
    def circulation(self) -> dict[str, float]:
        """Factors on 0D circulation parameters by their flat name (``R_AR_SYS``)."""
        return {k.removeprefix(CIRCULATION): f for k, f in self.factors.items()
                if k.startswith(CIRCULATION)}
