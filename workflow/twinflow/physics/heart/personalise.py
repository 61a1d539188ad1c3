r"""Stage ``personalise_lv``: the LV baseline calibrated to the patient's own data.

From the end-diastolic mesh of the baseline (the images' geometry), the case's
``measurements`` and the reconstruction's volumes:

1. **targets** (:func:`targets_of`): cuff systolic/diastolic pressure; EDV and ESV from the
   case when given (or ESV from the ejection fraction), else from the images (Simpson biplane
   of the reconstruction); the end-diastolic pressure from the case or 8 mmHg (stated);
2. **passive** (:func:`~twinflow.physics.heart.passive_fit.fit_passive_scale`): the passive
   stiffness scale that puts the unloaded LV on the Klotz et al. 2006 EDPVR, with the
   stress-free reference computed by backward displacement
   (:func:`~twinflow.physics.heart.unloading.unload`);
3. **active and circulation**
   (:func:`~twinflow.physics.heart.personalisation.calibrate.calibrate`): reference tension,
   systemic arterial resistance and compliance and loop volume, proposed by a 0D surrogate of
   the 3D LV and confirmed by 3D beats, within ``personalisation.max_beats``.

Writes ``personalisation.json`` (:class:`~twinflow.artifacts.personalisation.Personalisation`)
only when every target is met; otherwise one line and exit status 2 (nothing written).
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
from mpi4py import MPI

from twinflow.artifacts.geometry import LVMeasurements
from twinflow.artifacts.personalisation import (CalibrationBeat, FittedParameter,
                                                KlotzCurvePoint, PassiveCalibration,
                                                Personalisation, SurrogateParameters, Target,
                                                Unloading)
from twinflow.errors import InputError
from twinflow.logs import Progress
from twinflow.physics.heart.activation import Activation
from twinflow.physics.heart.circulation import ML, MMHG, Circulation0D
from twinflow.physics.heart.cycle import CoupledRun, inflate_to_start
from twinflow.physics.heart.loading import ramp, ramp_volume, volume_target
from twinflow.physics.heart.model import LVModel, build_lv
from twinflow.physics.heart.outputs import FieldWriter
from twinflow.physics.heart.passive_fit import PassiveFit, fit_passive_scale
from twinflow.physics.heart.personalisation.applied import achieved
from twinflow.physics.heart.mechanics.solver import ConvergenceError
from twinflow.physics.heart.personalisation.calibrate import (PARAMETERS, Beat3D,
                                                              CalibrationError, Circulation,
                                                              Result, Targets, calibrate)
from twinflow.physics.heart.personalisation.surrogate import (ActivationShape, BeatOutputs,
                                                              SurrogateLV, fit_passive,
                                                              initial_active)
from twinflow.physics.heart.settings import (CycleSettings, activation_from_case,
                                             circulation_parameters, end_diastolic_pressure,
                                             end_diastolic_pressure_source)
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

SIMPLIFICATIONS = (
    "cuff (brachial) systolic/diastolic pressure compared with the 0D systemic arterial "
    "compartment (no pulse-pressure amplification between aorta and arm)",
    "one factor scales every passive stiffness; fitted to the Klotz 2006 EDPVR at 30 mmHg "
    "(V30), the model's unloaded volume does not reach Klotz's V0",
    "unloading keeps the LDRB fibres of the end-diastolic geometry",
    "the 3D calibration beats and the scenario runs use the same time step; the calibrated "
    "parameters are those of this model, not measured tissue or vessel properties",
)


def targets_of(case: dict[str, Any], geometry: LVMeasurements, where: str) -> list[Target]:
    """The measured targets with their sources and tolerances (SI)."""
    m = case["measurements"]
    tol = case["personalisation"]
    bp = m.get("blood_pressure")
    if bp is None:
        raise InputError(f"{where}: personalisation needs measurements.blood_pressure")
    route = "images" if geometry.source == "images" else "geometry"
    edv, edv_src = (m["end_diastolic_volume"], "case") if m.get("end_diastolic_volume") \
        else (geometry.end_diastolic_volume_m3, route)
    if m.get("end_systolic_volume"):
        esv, esv_src = m["end_systolic_volume"], "case"
    elif m.get("ejection_fraction"):
        esv, esv_src = edv * (1.0 - m["ejection_fraction"]), "case (ejection fraction)"
    elif geometry.end_systolic_volume_m3 is not None:
        esv, esv_src = geometry.end_systolic_volume_m3, route
    else:
        raise InputError(f"{where}: no end-systolic volume: give measurements."
                         "end_systolic_volume or ejection_fraction, or end-systolic images")
    p_tol, v_tol = float(tol["pressure_tolerance"]), float(tol["volume_tolerance"])
    return [Target(name="systolic_pressure", unit="Pa", measured=bp["systolic"], source="case",
                   tolerance=p_tol),
            Target(name="diastolic_pressure", unit="Pa", measured=bp["diastolic"],
                   source="case", tolerance=p_tol),
            Target(name="end_diastolic_volume", unit="m3", measured=edv, source=edv_src,
                   tolerance=v_tol * edv),
            Target(name="end_systolic_volume", unit="m3", measured=esv, source=esv_src,
                   tolerance=v_tol * esv)]


def calibration_targets(targets: list[Target], case: dict[str, Any]) -> Targets:
    """The targets in the 0D units of the calibration."""
    t = {x.name: x.measured for x in targets}
    return Targets(t["systolic_pressure"] / MMHG, t["diastolic_pressure"] / MMHG,
                   t["end_diastolic_volume"] / ML, t["end_systolic_volume"] / ML,
                   float(case["personalisation"]["pressure_tolerance"]) / MMHG,
                   float(case["personalisation"]["volume_tolerance"]))


@dataclasses.dataclass
class Beats3D:
    """The coupled 3D-0D model driven beat by beat (the calibration's BeatRunner)."""

    model: LVModel
    case: dict[str, Any]
    time_step: float
    substeps: int
    bar: Progress
    run: CoupledRun | None = None
    beats: int = 0

    def restart(self, theta: dict[str, float], parameters: dict, y0: np.ndarray) -> None:
        activation = activation_from_case(self.case, theta["reference_tension"])
        circ = Circulation0D(parameters, substeps=self.substeps)
        circ.state = np.array(y0, dtype=float)
        model = self.model
        model.quasi_static()
        if self.run is None:  # from the unloaded state: pressure ramp, then the volume
            writer = FieldWriter(model, Path("unused.xdmf"), 0)
            self.run = CoupledRun(model, circ, activation, writer, False)
            inflate_to_start(model, activation, end_diastolic_pressure(self.case), y0[1] * ML)
        else:
            self.run.circ, self.run.activation = circ, activation
            model.Ta.value = activation.tension(self.run.t)
            ramp_volume(model, y0[1] * ML, steps=2, min_fraction=0.5)
        self.run.history = []
        self.run.rows = self.run.rows[-1:] if self.run.rows else []
        self.run.record(self.beats, 0)

    def beat(self) -> Beat3D:
        run = self.run
        assert run is not None
        n = int(round(run.circ.rr / self.time_step))
        y_start = run.circ.state.copy()
        rows, _ = run.beat(self.beats, n, self.time_step, None, self.bar)
        self.beats += 1
        t = np.array([r.t for r in rows])
        v = np.array([r.v_lv for r in rows])
        p = np.array([r.p_lv for r in rows])
        p_ar = np.array([r.p_ar_sys for r in rows])
        outputs = BeatOutputs(float(v.max()), float(v.min()), float(p_ar.max()),
                              float(p_ar.min()))
        return Beat3D(t, v, p, outputs, y_start, run.circ.state.copy())


def personalise_lv(settings: Path, mesh: Path, measurements: Path, out: Path,
                   comm: Any | None = None) -> Path:
    """Stage ``personalise_lv``: write ``out`` (personalisation.json) for the case's baseline
    mesh ``mesh`` (end-diastolic geometry) and its reconstruction ``measurements``."""
    tic = time.perf_counter()
    comm = MPI.COMM_WORLD if comm is None else comm
    case = read_stage_settings(settings, "personalise_lv")
    where = str(settings)
    geometry = LVMeasurements.read(measurements)
    targets = targets_of(case, geometry, where)
    goal = calibration_targets(targets, case)
    edp, edp_source = end_diastolic_pressure_source(case)
    st = CycleSettings.from_case(case)
    model = build_lv(mesh, case, comm, st.solver.degree)
    model.newton.reuse_jacobian = st.solver.reuse_jacobian
    model.newton.lag_border = st.solver.lag_border
    log.info("targets: %s", ", ".join(f"{t.name} {t.measured:.6g} ({t.source})"
                                     for t in targets))
    passive = fit_passive_scale(model, goal.edv_ml * ML, edp)
    log.info("passive scale %.4g (Klotz %s), unloaded volume %.1f mL after %d iterations",
             passive.scale, passive.target, passive.unloaded_volume_m3 / ML,
             passive.unloading.iterations)
    activation = activation_from_case(case)
    surrogate = initial_surrogate(model, activation, edp, passive)
    check_end_systole(model, activation, goal, where)
    shape = ActivationShape.of(activation)
    circulation = Circulation(circulation_parameters(case, {}, activation, where))
    theta0 = circulation.theta0(activation.hmt.t_ref)
    max_beats = int(case["personalisation"]["max_beats"])
    n_per_beat = int(round(1.0 / float(case["physics"]["circulation"]["heart_rate"])
                           / st.time_step))
    with Progress(max_beats * n_per_beat, "calibration beats", "step", log) as bar:
        runner = Beats3D(model, case, st.time_step, st.solver.substeps_0d, bar)
        result = calibrate(goal, surrogate, shape, circulation, theta0, runner, max_beats,
                           st.periodicity_tol, where)
    artifact = personalisation_artifact(targets, result, theta0, passive, edp_source, model,
                                        comm.size, max_beats, time.perf_counter() - tic)
    if comm.rank == 0:
        artifact.write(out)
    comm.barrier()
    log.info("personalised in %d 3D beats (%.0f s): %s", result.beats,
             time.perf_counter() - tic,
             ", ".join(f"{k} {v:.4g}" for k, v in result.theta.items()))
    return Path(out)


def initial_surrogate(model: LVModel, activation: Activation, edp: float,
                      passive: PassiveFit) -> SurrogateLV:
    """The surrogate LV before any beat: the exponential EDPVR through the re-inflation curve
    of the passive fit; the active elastance and its volume intercept from two isovolumic
    activations of the 3D LV to the peak tension, at the end-diastolic and at the unloaded
    volume (the 3D LV ejects below its unloaded volume, so the intercept is not V0)."""
    v0 = passive.unloaded_volume_m3 / ML
    pts = [(p.model_volume_m3 / ML, p.pressure_pa / MMHG) for p in passive.curve
           if p.model_volume_m3 is not None]
    a, b = fit_passive(np.array([v for v, _ in pts]), np.array([p for _, p in pts]), v0)
    peak = activation.timing().peak_tension
    model.reset()
    ramp(model, model.pressure, edp, None, steps=4)
    v_ed = model.newton.volume() / ML
    probes = []
    for v in (v_ed, v0):
        model.reset()
        if v > v0:
            ramp(model, model.pressure, edp, None, steps=4)
        ramp(model, model.Ta, peak, volume_target(v * ML), steps=4)
        probes.append((v, float(model.pressure.value) / MMHG))
    model.reset()
    (v1, p1), (v2, p2) = probes
    p1_act = p1 - a * np.expm1(b * (v1 - v0))
    p2_act = p2
    k, va = initial_active(v1, v2, p1_act, p2_act, peak)
    log.info("surrogate LV: EDPVR %.3g (exp(%.3g (V - %.1f)) - 1) mmHg; isovolumic at peak "
             "tension %.1f mmHg at %.1f mL, %.1f mmHg at %.1f mL: E_A %.3g mmHg/mL, V_a %.1f mL",
             a, b, v0, p1, v1, p2, v2, k * peak, va)
    return SurrogateLV(a, b, v0, k, va)


def check_end_systole(model: LVModel, activation: Activation, goal: Targets,
                      where: str) -> None:
    """Necessary condition for the measured ESV: activated to the peak tension of the largest
    reference tension allowed at its unloaded volume, then emptied to the ESV under that
    tension (as in ejection), the 3D LV must still develop at least the diastolic pressure
    (the aortic valve closes at end-systole above it). The probe is quasi-static (no
    force-velocity loss), so it is optimistic; a linear surrogate cannot show this limit (its
    elastance extrapolates to any volume). The emptying halves its volume steps where Newton
    diverges (to 1/64 of the way): a fixed 8-step ramp rejected a patient (EF 59 %) whose 3D
    beats had come within 0.1 mL of its ESV tolerance. One line, exit 2."""
    t_max = PARAMETERS["reference_tension"][2]
    peak = activation.timing().peak_tension * t_max / activation.hmt.t_ref
    esv = goal.esv_ml * ML
    v0 = model.reference_volume
    model.reset()
    capacity: float | None = None
    try:  # activated at the unloaded volume, then emptied under that tension (as in ejection)
        ramp(model, model.Ta, peak, volume_target(v0), steps=4)
        ramp_volume(model, esv, steps=8)  # smaller steps where it diverges
        capacity = float(model.pressure.value) / MMHG
    except ConvergenceError:
        capacity = None
    finally:
        model.reset()
    if capacity is None or capacity < goal.diastolic_mmhg:
        got = ("the mechanics do not converge there" if capacity is None
               else f"it develops at most {capacity:.1f} mmHg")
        raise CalibrationError(
            f"{where}: the measurements cannot be reproduced: end systolic volume "
            f"{goal.esv_ml:.1f} mL is out of reach of the 3D LV (at that volume and the "
            f"largest reference tension, {t_max / 1e3:.0f} kPa, {got}; the diastolic "
            f"pressure is {goal.diastolic_mmhg:.1f} mmHg)")
    log.info("end-systolic check: at ESV %.1f mL and T_ref %.0f kPa the LV develops %.1f mmHg",
             goal.esv_ml, t_max / 1e3, capacity)


def personalisation_artifact(targets: list[Target], result: Result, theta0: dict[str, float],
                             passive: PassiveFit, edp_source: str, model: LVModel, ranks: int,
                             max_beats: int, wall_time: float) -> Personalisation:
    last = result.iterations[-1]
    un = passive.unloading
    k = passive.klotz
    return Personalisation(
        targets=achieved(targets, last.outputs),
        parameters=[FittedParameter(name=n, value=result.theta[n], unit=PARAMETERS[n][0],
                                    initial=theta0[n], lower=PARAMETERS[n][1],
                                    upper=PARAMETERS[n][2]) for n in PARAMETERS],
        passive=PassiveCalibration(
            scale=passive.scale, target=passive.target,  # type: ignore[arg-type]
            target_volume_m3=passive.target_volume_m3,
            achieved_volume_m3=passive.achieved_volume_m3, klotz_v0_m3=k.v0_m3,
            klotz_v30_m3=k.v30_m3, klotz_alpha=k.alpha, klotz_beta=k.beta,
            curve=[KlotzCurvePoint(pressure_pa=p.pressure_pa,
                                   model_volume_m3=p.model_volume_m3,
                                   klotz_volume_m3=p.klotz_volume_m3) for p in passive.curve],
            evaluations=len(passive.evaluations), wall_time_s=passive.wall_time_s),
        unloading=Unloading(
            iterations=un.iterations, end_diastolic_pressure_pa=un.end_diastolic_pressure_pa,
            end_diastolic_pressure_source=edp_source,  # type: ignore[arg-type]
            loaded_volume_m3=un.loaded_volume_m3, unloaded_volume_m3=un.unloaded_volume_m3,
            reinflated_volume_m3=un.reinflated_volume_m3, volume_error=un.volume_error,
            mismatch_m=un.mismatch_m, wall_time_s=un.wall_time_s),
        surrogate=SurrogateParameters(**dataclasses.asdict(result.surrogate)),
        beats=[CalibrationBeat(
            beat=it.beat, parameters=it.theta, edv_m3=it.outputs.edv_ml * ML,
            esv_m3=it.outputs.esv_ml * ML, systolic_pressure_pa=it.outputs.systolic_mmhg * MMHG,
            diastolic_pressure_pa=it.outputs.diastolic_mmhg * MMHG,
            scaled_residual=it.scaled_residual, drift=it.drift,
            periodicity_error=it.periodicity_error, restarted=it.restarted)
            for it in result.iterations],
        beats_3d=result.beats, max_beats_3d=max_beats,
        surrogate_evaluations=result.surrogate_evaluations,
        start_state=[float(x) for x in result.start_state]
        if result.start_state is not None else [],
        cells=model.cells, ranks=ranks, wall_time_s=wall_time,
        simplifications=list(SIMPLIFICATIONS))
