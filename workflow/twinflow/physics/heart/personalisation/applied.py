"""The calibrated baseline applied to a scenario run, and its targets checked.

Glue between :class:`~twinflow.artifacts.personalisation.Personalisation` (written by
``personalise_lv``) and the cycle of every scenario (``simulate_heart``).
"""

from __future__ import annotations

from twinflow.artifacts.personalisation import Personalisation, PersonalisationSummary, Target
from twinflow.physics.heart.circulation import ML, MMHG
from twinflow.physics.heart.personalisation.calibrate import PARAMETERS, TARGET_NAMES
from twinflow.physics.heart.personalisation.surrogate import BeatOutputs


def achieved(targets: list[Target], outputs: BeatOutputs) -> list[Target]:
    """``targets`` with a beat's values (0D units in ``outputs``) as achieved."""
    got = dict(zip(TARGET_NAMES, (outputs.systolic_mmhg * MMHG, outputs.diastolic_mmhg * MMHG,
                                  outputs.edv_ml * ML, outputs.esv_ml * ML), strict=True))
    return [t.model_copy(update={"achieved": got[t.name], "residual": got[t.name] - t.measured,
                                 "met": abs(got[t.name] - t.measured) <= t.tolerance})
            for t in targets]


def calibrated_overrides(theta: dict[str, float]) -> dict[str, str]:
    """The calibrated 0D parameters as circulation overrides (quantity texts)."""
    return {name: f"{theta[name]!r} {PARAMETERS[name][0]}" for name in theta
            if name != "reference_tension"}


def fitted(personalisation: Personalisation) -> dict[str, float]:
    """The calibrated parameters by name (units of :data:`PARAMETERS`)."""
    return {p.name: p.value for p in personalisation.parameters}


def summary_block(personalisation: Personalisation, outputs: BeatOutputs,
                  unloading_iterations: int, unloading_volume_error: float,
                  unloaded_volume_m3: float) -> PersonalisationSummary:
    """The ``personalisation`` block of a scenario's summary.json: the targets with this
    scenario's analysed beat as achieved."""
    p = personalisation
    return PersonalisationSummary(
        targets=achieved(p.targets, outputs), parameters=p.parameters,
        passive_scale=p.passive.scale, unloading_iterations=unloading_iterations,
        unloading_volume_error=unloading_volume_error, unloaded_volume_m3=unloaded_volume_m3,
        beats_3d=p.beats_3d, surrogate_evaluations=p.surrogate_evaluations,
        simplifications=p.simplifications)
