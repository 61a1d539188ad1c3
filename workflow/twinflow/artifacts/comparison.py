"""``comparison/comparison.json`` (stage ``compare_arms``): each drug arm of an LV case
against its baseline, with the trials' directions of change next to the model's."""

from __future__ import annotations

from twinflow.artifacts import Artifact


class ArmValue(Artifact):
    """One compared quantity of one arm (display units: mmHg, mL, %, J, g)."""

    quantity: str
    label: str
    unit: str
    value: float
    baseline: float
    change: float
    """value - baseline."""
    relative_change: float
    """change / |baseline| (0 when the baseline is 0)."""
    trial_direction: str | None
    """``down``, ``up``, ``unchanged`` from the drug's entry, or None (no trial result)."""
    trial_source: str | None
    agrees: bool | None
    """Whether the model moved the way the trial did (None without a trial direction);
    ``unchanged`` means within :data:`twinflow.report.compare.UNCHANGED` relative."""


class Arm(Artifact):
    scenario: str
    drug: str | None
    periodic: bool
    """Whether the arm's run reached a periodic beat (its numbers are its last beat's)."""
    values: list[ArmValue]


class ArmComparison(Artifact):
    """Baseline and every drug arm of one case."""

    case: str
    baseline: str
    """The baseline scenario's id."""
    arms: list[Arm]
    """The drug arms (the baseline itself is the ``baseline`` column of each value)."""
    lv_mass_density_kg_m3: float
    """Myocardial density that turns the mesh's wall volume into LV mass."""
    notes: list[str]
