"""``<scenario>/summary.json`` of the LV simulation (:mod:`twinflow.physics.heart`).

The cycle study writes :class:`CycleSummary`, the inflation study :class:`InflationSummary`
(``study`` tells them apart). Values are SI (units convention of :mod:`twinflow.artifacts`):
the heart code computes the P-V loop in the 0D model's mmHg and mL and converts once, here at
the boundary. The metrics of the analysed (last) beat sit at the top level of
:class:`CycleSummary` (``edv_m3`` ... ``stroke_work_j``, read by the case report); every beat's
are in ``beats``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from twinflow.artifacts import Artifact
from twinflow.artifacts.personalisation import PersonalisationSummary


class Part(BaseModel):
    """A nested part of an artifact: unknown fields are errors, as in the artifact itself."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PressureVolumeMetrics(Part):
    """Haemodynamic metrics of one beat, from its samples (time steps)."""

    edv_m3: float
    """End-diastolic volume: the largest 3D cavity volume of the beat."""
    esv_m3: float
    """End-systolic volume: the smallest 3D cavity volume of the beat."""
    stroke_volume_m3: float
    ejection_fraction: float
    """Stroke volume over end-diastolic volume."""
    peak_systolic_pressure_pa: float
    end_diastolic_pressure_pa: float
    """LV pressure at the first sample at the end-diastolic volume (to 1e-4 relative)."""
    min_pressure_pa: float
    peak_aortic_pressure_pa: float
    """Largest systemic arterial pressure of the 0D model."""
    min_aortic_pressure_pa: float
    stroke_work_j: float
    """Area of the P-V loop, -sum of p dV (trapezoidal)."""
    peak_lv_aortic_gradient_pa: float | None = None
    """Largest p_LV - p_AR_SYS over the samples with forward aortic-valve flow (Q_AV > 0):
    the LV-aortic pressure difference during ejection at its peak; None when the aortic
    valve does not open in the beat."""


class BeatMetrics(PressureVolumeMetrics):
    """One computed beat: its metrics, periodicity and solver cost."""

    beat: int
    """0-based index of the beat in the run."""
    periodicity_error: float
    """Largest relative change over the beat (LV volume, aortic pressure) and against the
    previous beat (EDV, ESV, largest and smallest aortic pressure); the previous beat counts
    only when no restart of the 0D state lies between them."""
    steps: int
    wall_time_s: float
    newton_iterations_mean: float
    newton_iterations_max: int
    jacobian_factorisations: int


class NewtonTotals(Part):
    """Newton iterations of the coupled (or load) steps."""

    total: int
    mean_per_step: float


class NewtonStatistics(NewtonTotals):
    max_per_step: int
    jacobian_factorisations_per_step: float


class Timings(Part):
    """Wall-clock times of a cycle run (rank 0)."""

    total_s: float
    surrogate_fit_s: float
    """The two 3D probes of the elastance surrogate."""
    start_up_s: float
    """From the start to the first coupled step (surrogate, periodic 0D run, inflation)."""
    per_beat_s: list[float]
    beats_by_part_s: dict[str, float]
    """Time of the beats by part of the Newton solver (jacobian, factorisation ...)."""


class ElastanceSurrogate(Part):
    """Linear time-varying elastance fitted to two 3D probes (start of the 0D state)."""

    active_elastance_pa_per_m3: float
    passive_elastance_pa_per_m3: float
    unloaded_volume_m3: float
    end_diastolic_volume_m3: float
    """Volume of the passive probe at the end-diastolic pressure."""
    isovolumic_peak_pressure_pa: float
    """Pressure of the isovolumic probe at the peak tension."""


class BeatLinearisedLV(Part):
    """The LV of the 0D model linearised about the first 3D beat (restart after it)."""

    active_elastance_pa_per_m3: float
    passive_elastance_pa_per_m3: float
    """EDPVR slope over the upper half of filling."""
    passive_secant_elastance_pa_per_m3: float
    secant_unloaded_volume_m3: float
    rms_residual_pa: float
    after_beat: int
    """1-based number of the beat it was fitted to."""
    beats_0d: int
    """0D beats to the periodic state with this LV."""
    periodicity_0d: float
    restart_volume_m3: float
    """LV volume of that periodic state: the 3D LV restarts there."""
    wall_time_s: float


class Initialisation(Part):
    start: Literal["probes", "personalisation"]
    """``probes``: the 0D start state from the two-probe elastance surrogate; ``personalisation``:
    from the calibrated baseline (personalise_lv)."""
    elastance_surrogate: ElastanceSurrogate | None
    """None when the run started from the personalisation."""
    beats_0d: int
    """0D beats to the periodic state with the surrogate LV."""
    periodicity_0d: float
    refit_after_first_beat: BeatLinearisedLV | None
    """None when the run stopped within the first beat or the restart is off."""


class ActivationSummary(Part):
    """Active tension of the case and its timing within a beat (the 0D chambers' tC/TC/TR)."""

    reference_tension_pa: float
    """T_ref: tension at saturating calcium, reference fibre stretch and at rest."""
    peak_tension_pa: float
    """Peak of T_a(t), the tension at reference fibre stretch (lambda = 1) and at rest; the
    3D forms scale it by the length and velocity factors below."""
    length_dependence: float = 0.0
    """beta0 of the length factor 1 + beta0 (lambda - 1) (Hunter et al. 1998)."""
    velocity_dependence_s: float = 0.0
    """c0 of the force-velocity factor 1 + c0 dlambda/dt (HMT 1998 linearised)."""
    onset_s: float
    contraction_time_s: float
    relaxation_time_s: float


class CycleSummary(Artifact, PressureVolumeMetrics):
    """The cardiac cycle of one scenario; top-level P-V metrics are the last beat's."""

    study: Literal["cycle"] = "cycle"
    scenario: str
    ranks: int
    cells: int
    dofs: int
    element: str
    time_step_s: float
    heart_rate_hz: float
    beats_run: int
    periodic: bool
    """Two consecutive comparable beats agree to ``periodicity_tolerance``."""
    periodicity_error: float
    periodicity_tolerance: float
    unloaded_cavity_volume_m3: float
    jacobian_reuse: bool
    border_lagged: bool
    extrapolated_guess: bool
    newton_iterations: NewtonStatistics
    beats: list[BeatMetrics]
    timings: Timings
    initialisation: Initialisation
    activation: ActivationSummary
    circulation_parameters: dict[str, float]
    """The 0D model's parameters, flat names with their SI unit (``R_AR_SYS_pa_s_per_m3``)."""
    drug_factors: dict[str, float]
    """Multiplicative factor per model parameter of the scenario's drug arm."""
    personalisation: PersonalisationSummary | None
    """Targets (measured, source, achieved by this beat), calibrated parameters and the
    unloading; None when the case has no measured blood pressure (not personalised)."""
    coupling: str
    simplifications: list[str]


class InflationSummary(Artifact):
    """Quasi-static inflation to the end-diastolic pressure, then isovolumic activation."""

    study: Literal["inflation"] = "inflation"
    scenario: str
    ranks: int
    cells: int
    unloaded_cavity_volume_m3: float
    end_diastolic_pressure_pa: float
    edv_m3: float
    """Cavity volume at the end-diastolic pressure."""
    peak_tension_pa: float
    isovolumic_peak_pressure_pa: float
    """Cavity pressure at the peak tension, volume held at ``edv_m3``."""
    newton_iterations: NewtonTotals
    wall_time_s: float
    drug_factors: dict[str, float]
    simplifications: list[str]
