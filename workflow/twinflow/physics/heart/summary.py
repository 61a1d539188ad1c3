"""From a heart run to its typed ``summary.json`` (:mod:`twinflow.artifacts.cycle`).

The P-V metrics of a beat are computed from its samples in the 0D model's units (mmHg, mL)
and converted to SI here, once; so are the elastance fits of the start-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinflow.artifacts.cycle import (
    ActivationSummary,
    BeatLinearisedLV,
    BeatMetrics,
    CycleSummary,
    ElastanceSurrogate,
    Initialisation,
    NewtonStatistics,
    PressureVolumeMetrics,
    Timings,
)
from twinflow.artifacts.drugs import DrugEffects
from twinflow.artifacts.personalisation import PersonalisationSummary
from twinflow.physics.heart import coupling
from twinflow.physics.heart.activation import Activation
from twinflow.physics.heart.circulation import ML, MMHG, si_parameters
from twinflow.physics.heart.mechanics import active_stress
from twinflow.physics.heart.model import LVModel
from twinflow.physics.heart.outputs import StepRecord
from twinflow.physics.heart.settings import CycleSettings

#: Elastance: mmHg/mL -> Pa/m^3.
ELASTANCE = MMHG / ML

SIMPLIFICATIONS = (
    "quasi-static mechanics (no inertia, no viscosity)",
    "without a measured blood pressure (not personalised): the measured end-diastolic "
    "geometry is taken as the unloaded reference and the case's parameters are used as given",
    "LV only: the RV, atria and vessels are the 0D Regazzoni 2020 compartments; no septal "
    "interaction",
    "LDRB fibres with helix angles only (no sheet angles)",
    "0D start state from a linear time-varying-elastance surrogate of the 3D LV (two 3D "
    "probes), then from the 0D model with the LV linearised about the first 3D beat; the "
    "first beat is a transient",
    "0D state integrated by forward Euler sub-steps with the LV pressure held over a step",
    *active_stress.SIMPLIFICATIONS,
)

COUPLING = ("implicit 3D-0D: cavity pressure as Lagrange multiplier of V_3D(u) = V_LV,0D(p) "
            "each step (twinflow.physics.heart.coupling)")


def simplifications(effects: DrugEffects) -> list[str]:
    """The model's simplifications, and the drug model's when the scenario has a drug."""
    return list(SIMPLIFICATIONS) + effects.simplifications


def pv_metrics(rows: list[StepRecord]) -> PressureVolumeMetrics:
    """EDV, ESV, EF, pressures and stroke work of one beat's samples."""
    v = np.array([r.v_lv for r in rows])
    p = np.array([r.p_lv for r in rows])
    edv, esv = float(v.max()), float(v.min())
    # end-diastole: the first sample at the maximal volume (to 1e-4 relative); the later ones
    # are isovolumic contraction, whose volume stays put while the pressure rises
    i_ed = int(np.nonzero(v >= edv * (1.0 - 1e-4))[0][0])
    sw = -float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(v))) * MMHG * ML  # J
    return PressureVolumeMetrics(
        edv_m3=edv * ML, esv_m3=esv * ML, stroke_volume_m3=(edv - esv) * ML,
        ejection_fraction=(edv - esv) / edv,
        peak_systolic_pressure_pa=float(p.max()) * MMHG,
        end_diastolic_pressure_pa=float(p[i_ed]) * MMHG,
        min_pressure_pa=float(p.min()) * MMHG,
        peak_aortic_pressure_pa=float(max(r.p_ar_sys for r in rows)) * MMHG,
        min_aortic_pressure_pa=float(min(r.p_ar_sys for r in rows)) * MMHG,
        stroke_work_j=sw, peak_lv_aortic_gradient_pa=peak_lv_aortic_gradient(rows))


def peak_lv_aortic_gradient(rows: list[StepRecord]) -> float | None:
    """Largest p_LV - p_AR_SYS (Pa) over the samples with forward aortic-valve flow
    (Q_AV > 0), None when there is none (the valve stays shut)."""
    ejecting = [r.p_lv - r.p_ar_sys for r in rows if r.q_av > 0.0]
    return float(max(ejecting)) * MMHG if ejecting else None


def beat_metrics(beat: int, rows: list[StepRecord], periodicity_error: float,
                 iterations: list[int], wall_time_s: float, factorisations: int
                 ) -> BeatMetrics:
    """Metrics of one beat (``rows`` include the sample that starts it)."""
    return BeatMetrics(
        **pv_metrics(rows).model_dump(), beat=beat, periodicity_error=periodicity_error,
        steps=len(iterations), wall_time_s=wall_time_s,
        newton_iterations_mean=float(np.mean(iterations)) if iterations else 0.0,
        newton_iterations_max=int(max(iterations)) if iterations else 0,
        jacobian_factorisations=factorisations)


def surrogate_summary(s: coupling.ElastanceSurrogate) -> ElastanceSurrogate:
    return ElastanceSurrogate(
        active_elastance_pa_per_m3=s.ea * ELASTANCE, passive_elastance_pa_per_m3=s.eb * ELASTANCE,
        unloaded_volume_m3=s.v0 * ML, end_diastolic_volume_m3=s.edv * ML,
        isovolumic_peak_pressure_pa=s.p_iso * MMHG)


def linearisation_summary(fit: coupling.BeatLinearisation, after_beat: int, beats_0d: int,
                          periodicity_0d: float, restart_volume_ml: float,
                          wall_time_s: float) -> BeatLinearisedLV:
    return BeatLinearisedLV(
        active_elastance_pa_per_m3=fit.ea * ELASTANCE,
        passive_elastance_pa_per_m3=fit.eb * ELASTANCE,
        passive_secant_elastance_pa_per_m3=fit.eb_secant * ELASTANCE,
        secant_unloaded_volume_m3=fit.v0_secant * ML, rms_residual_pa=fit.rms * MMHG,
        after_beat=after_beat, beats_0d=beats_0d, periodicity_0d=periodicity_0d,
        restart_volume_m3=restart_volume_ml * ML, wall_time_s=wall_time_s)


def activation_summary(activation: Activation) -> ActivationSummary:
    tim = activation.timing()
    return ActivationSummary(reference_tension_pa=activation.hmt.t_ref,
                             peak_tension_pa=tim.peak_tension,
                             length_dependence=activation.hmt.beta0,
                             velocity_dependence_s=activation.velocity_coefficient,
                             onset_s=tim.onset,
                             contraction_time_s=tim.contraction,
                             relaxation_time_s=tim.relaxation)


def cycle_summary(*, case: dict[str, Any], scenario: str, effects: DrugEffects,
                  ranks: int, model: LVModel, settings: CycleSettings, heart_rate_hz: float,
                  rows: list[StepRecord], beats: list[BeatMetrics], periodic: bool,
                  initialisation: Initialisation, activation: Activation,
                  circulation_parameters: dict[str, Any], timings: Timings,
                  personalisation: PersonalisationSummary | None = None) -> CycleSummary:
    """The summary of a cycle run; the top-level P-V metrics are the last beat's."""
    st = settings
    last = beats[-1]
    its_all = [r.newton_iterations for r in rows[1:]]
    factorisations = sum(b.jacobian_factorisations for b in beats)
    return CycleSummary(
        **last.model_dump(include=set(PressureVolumeMetrics.model_fields)),
        scenario=scenario, ranks=ranks, cells=model.cells, dofs=model.dofs,
        element=f"P{st.solver.degree}-P1" if model.problem.mixed else f"P{st.solver.degree}",
        time_step_s=st.time_step, heart_rate_hz=heart_rate_hz, beats_run=len(beats),
        periodic=periodic, periodicity_error=last.periodicity_error,
        periodicity_tolerance=st.periodicity_tol,
        unloaded_cavity_volume_m3=model.reference_volume,
        jacobian_reuse=model.newton.reuse_jacobian, border_lagged=model.newton.lag_border,
        extrapolated_guess=st.solver.extrapolate,
        newton_iterations=NewtonStatistics(
            total=int(sum(its_all)), mean_per_step=float(np.mean(its_all)) if its_all else 0.0,
            max_per_step=int(max(its_all)) if its_all else 0,
            jacobian_factorisations_per_step=float(factorisations / max(len(its_all), 1))),
        beats=beats, timings=timings, initialisation=initialisation,
        activation=activation_summary(activation),
        circulation_parameters=si_parameters(circulation_parameters),
        drug_factors=effects.factors, personalisation=personalisation, coupling=COUPLING,
        simplifications=simplifications(effects))
