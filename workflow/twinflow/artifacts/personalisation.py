"""``personalisation/personalisation.json``: the LV baseline calibrated to the patient.

Written by :func:`twinflow.physics.heart.personalise.personalise_lv`, read by every scenario's
``simulate_heart`` (the arms start from the calibrated baseline) and summarised in its
``summary.json`` (:class:`PersonalisationSummary`). SI units (docs/conventions.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from twinflow.artifacts import Artifact


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


TargetName = Literal["systolic_pressure", "diastolic_pressure", "end_diastolic_volume",
                     "end_systolic_volume"]


class Target(Part):
    """One measured value the baseline must reproduce."""

    name: TargetName
    unit: Literal["Pa", "m3"]
    measured: float
    """The measured value (SI, ``unit``)."""
    source: str
    """Where it comes from: ``case`` (measurements section), ``case (ejection fraction)``,
    ``images`` (reconstructed from the case's images) or ``geometry`` (the ellipsoid)."""
    tolerance: float
    """Allowed |achieved - measured| (SI, ``unit``)."""
    achieved: float | None = None
    """The periodic baseline beat's value (SI); None before a beat."""
    residual: float | None = None
    """achieved - measured (SI)."""
    met: bool | None = None


class FittedParameter(Part):
    """A calibrated model parameter."""

    name: str
    """``reference_tension`` (physics.activation) or a 0D circulation parameter name."""
    value: float
    unit: str
    """The 0D model's unit for circulation parameters (mmHg, mL, s), Pa for the tension."""
    initial: float
    """The case's value (the start of the fit)."""
    lower: float
    upper: float


class KlotzCurvePoint(Part):
    pressure_pa: float
    model_volume_m3: float | None
    """The unloaded, scaled 3D LV inflated to this pressure (None: not reached)."""
    klotz_volume_m3: float


class PassiveCalibration(Part):
    """Passive stiffness scale fitted to the Klotz et al. 2006 EDPVR."""

    scale: float
    """Factor on the passive strain energy (all stiffnesses together)."""
    target: Literal["v30", "v0"]
    target_volume_m3: float
    achieved_volume_m3: float
    klotz_v0_m3: float
    klotz_v30_m3: float
    klotz_alpha: float
    """P = alpha V^beta (P in mmHg, V in mL)."""
    klotz_beta: float
    curve: list[KlotzCurvePoint]
    evaluations: int
    wall_time_s: float


class Unloading(Part):
    """Stress-free reference from the end-diastolic geometry (backward displacement)."""

    iterations: int
    end_diastolic_pressure_pa: float
    end_diastolic_pressure_source: Literal["case", "default"]
    loaded_volume_m3: float
    """Cavity volume of the imaged end-diastolic mesh (the target of the re-inflation)."""
    unloaded_volume_m3: float
    reinflated_volume_m3: float
    volume_error: float
    """reinflated / loaded - 1."""
    mismatch_m: float
    """max nodal |X + u(X) - x_ED| of the last iterate."""
    wall_time_s: float


class SurrogateParameters(Part):
    """The 0D surrogate LV (twinflow.physics.heart.personalisation.surrogate), 0D units."""

    passive_a_mmhg: float
    passive_b_per_ml: float
    v0_ml: float
    active_per_tension: float
    """k: active elastance per Pa of T_ref (mmHg/mL/Pa)."""
    v_active_ml: float


class CalibrationBeat(Part):
    """One 3D beat of the calibration."""

    beat: int
    parameters: dict[str, float]
    """Its parameters (units of :class:`FittedParameter`)."""
    edv_m3: float
    esv_m3: float
    systolic_pressure_pa: float
    diastolic_pressure_pa: float
    scaled_residual: list[float]
    """(achieved - measured)/tolerance per target, in :data:`TargetName` order."""
    drift: float
    """LV volume change over the beat / EDV, or aortic pressure change / systolic pressure,
    whichever is larger."""
    periodicity_error: float | None
    """Largest relative change of EDV, ESV, systolic and diastolic pressure against the
    previous beat at the same parameters (None after a restart)."""
    restarted: bool
    """The beat started from a new 0D state (new parameters)."""


class Personalisation(Artifact):
    """The calibrated LV baseline of a case."""

    targets: list[Target]
    parameters: list[FittedParameter]
    passive: PassiveCalibration
    unloading: Unloading
    surrogate: SurrogateParameters
    beats: list[CalibrationBeat]
    beats_3d: int
    """3D beats the active/circulation calibration used."""
    max_beats_3d: int
    surrogate_evaluations: int
    """0D periodic runs of the surrogate (each to a periodic state)."""
    start_state: list[float]
    """0D state (Regazzoni 2020 order, mmHg/mL/(mL/s)) at the start of the accepted beat."""
    cells: int
    ranks: int
    wall_time_s: float
    simplifications: list[str]


class PersonalisationSummary(Part):
    """``personalisation`` block of a scenario's summary.json."""

    targets: list[Target]
    """Measured values and sources; ``achieved`` is this scenario's analysed beat."""
    parameters: list[FittedParameter]
    passive_scale: float
    unloading_iterations: int
    unloading_volume_error: float
    """Re-inflation of this scenario's unloaded mesh to the EDP vs its imaged volume."""
    unloaded_volume_m3: float
    beats_3d: int
    """3D beats of the calibration (personalise_lv)."""
    surrogate_evaluations: int
    simplifications: list[str]
    """Those of the personalisation (the model's are in the summary's ``simplifications``)."""
