r"""The cardiac cycle: the 3D LV coupled to the 0D circulation, beat after beat.

Initialisation and periodicity
------------------------------
The elastance surrogate of the 3D LV (:func:`~twinflow.physics.heart.coupling.elastance_surrogate`;
activation timing from :math:`T_a(t)`) stands for the LV in the full 0D model, which runs to
periodicity (:func:`~twinflow.physics.heart.circulation.periodic_0d_state`); its state at the
start of a beat initialises the coupled run, the 3D LV being inflated to that volume
(:func:`start_up`). The probes miss the 3D LV's operating point (its EDPVR is exponential, its
ESPVR depends on the ejection), so after the first beat the 0D model is run again to its
periodic state, from the current state (same blood volume), with its LV replaced by that beat
linearised in volume (:func:`~twinflow.physics.heart.coupling.beat_linearised_lv`), and the 3D
LV is restarted at that state's LV volume (:func:`restart`; ``CycleSettings.refit_surrogate``;
summary.json ``initialisation.refit_after_first_beat``). Beats run until the LV volume is
periodic (:func:`periodicity_error` below ``CycleSettings.periodicity_tol``, 1 %, for a beat
after the first, compared with the previous beat only when no restart lies between them: two
beats must agree), at most ``simulation.cycles`` beats; the last is analysed.
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import json
import logging
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
from mpi4py import MPI

from twinflow.artifacts.cycle import BeatLinearisedLV, BeatMetrics, Initialisation, Timings
from twinflow.artifacts.drugs import DrugEffects
from twinflow.errors import InputError
from twinflow.logs import Progress
from twinflow.physics.heart import summary
from twinflow.physics.heart.activation import Activation
from twinflow.physics.heart.circulation import ML, MMHG, Circulation0D, periodic_0d_state
from twinflow.physics.heart.coupling import (ElastanceSurrogate, beat_linearised_lv,
                                             coupled_step, elastance_surrogate)
from twinflow.physics.heart.inflation import run_inflation
from twinflow.physics.heart.loading import ramp, ramp_volume, volume_target
from twinflow.physics.heart.model import LVModel, build_lv
from twinflow.physics.heart.outputs import (SERIES_COLUMNS, FieldWriter, StepRecord, table_text,
                                            write_results)
from twinflow.artifacts.personalisation import Personalisation
from twinflow.physics.heart.personalisation.applied import (calibrated_overrides, fitted,
                                                            summary_block)
from twinflow.physics.heart.personalisation.surrogate import (ActivationShape, BeatOutputs,
                                                              SurrogateLV, anchored_law,
                                                              fit_active, set_total_volume,
                                                              surrogate_beat)
from twinflow.physics.heart.unloading import UnloadingResult, unload
from twinflow.physics.heart.settings import (CycleSettings, SolverSettings, activation_from_case,
                                             beat_time_step, circulation_parameters,
                                             end_diastolic_pressure, read_case)

log = logging.getLogger(__name__)


def simulate_heart(settings: Path, mesh: Path, drug_effects: Path, summary: Path,
                   personalisation: Path | None = None, time_step: float | None = None,
                   beats: int | None = None, max_steps: int | None = None,
                   output_every: int = 10, exact_newton: bool = False,
                   extrapolate: bool = False, lag_border: bool = True) -> Path:
    """Stage ``simulate_heart``: the study of one scenario (its settings file) on ``mesh``;
    ``drug_effects`` is the scenario's :class:`~twinflow.artifacts.drugs.DrugEffects`;
    ``summary`` (``<scenario>/summary.json``) with ``series.csv``, ``pv_loop.png`` and
    ``fields.xdmf`` beside it; ``personalisation`` (the case's ``personalise_lv`` output) gives
    the calibrated baseline the scenario starts from. The keyword arguments override the case
    (tests, benchmarks)."""
    summary = Path(summary)
    if summary.name != "summary.json":
        raise InputError(f"{summary}: the summary must be named summary.json (series.csv, "
                         "pv_loop.png and fields.xdmf are written beside it)")
    solver = SolverSettings(reuse_jacobian=not exact_newton, extrapolate=extrapolate,
                            lag_border=lag_border)
    st = CycleSettings.from_case(read_case(settings), time_step, beats, max_steps=max_steps,
                                 output_every=output_every, solver=solver)
    path = run_cycle(mesh, settings, drug_effects, summary.parent, st,
                     personalisation=personalisation)
    log.info("summary: %s", path)
    return path


def run_cycle(mesh_xdmf: Path, case_json: Path, drug_effects: Path, out_dir: Path,
              settings: CycleSettings | None = None, comm: Any | None = None,
              personalisation: Path | None = None) -> Path:
    """Run the study of one scenario (its ``simulate_heart`` settings file ``case_json`` and
    its ``drug_effects``): ``cycle``, or ``inflation``
    (:func:`~twinflow.physics.heart.inflation.run_inflation`); returns out_dir/summary.json."""
    comm = MPI.COMM_WORLD if comm is None else comm
    case = read_case(case_json)
    where = str(case_json)
    effects = DrugEffects.read(drug_effects)
    scenario_id = effects.scenario
    settings = settings or CycleSettings.from_case(case)
    out_dir = Path(out_dir)
    if comm.rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    if case["physics"].get("study", "cycle") == "inflation":
        return run_inflation(mesh_xdmf, case, scenario_id, effects, out_dir, settings, comm)
    pers = None if personalisation is None else Personalisation.read(personalisation)
    return _run_cycle(mesh_xdmf, case, scenario_id, effects, out_dir, settings, comm, where,
                      pers)


@dataclass
class Start:
    """The coupled model at t = 0 and how it got there."""

    circ: Circulation0D
    parameters_0d: dict[str, Any]
    """The 0D parameters with the surrogate LV (the refit replaces its pressure law)."""
    surrogate: ElastanceSurrogate | None
    """The two-probe surrogate (None: started from the personalisation)."""
    beats_0d: int
    periodicity_0d: float
    surrogate_seconds: float


def start_up(model: LVModel, activation: Activation, params: dict[str, Any], edp: float,
             st: CycleSettings) -> Start:
    """Periodic 0D state with the elastance surrogate of the 3D LV; the 3D LV inflated to its
    LV volume (passive pressure ramp, then the volume, then the tension at t = 0)."""
    tic = time.perf_counter()
    surrogate = elastance_surrogate(model, activation, edp)
    seconds = time.perf_counter() - tic
    log.info("elastance surrogate: EA %.3f EB %.3f mmHg/mL, V0 %.1f mL (%.0f s)", surrogate.ea,
             surrogate.eb, surrogate.v0, seconds)
    params_0d = json.loads(json.dumps(params))
    params_0d["chambers"]["LV"].update(surrogate.chamber())
    y0, beats_0d, err_0d = periodic_0d_state(params_0d)
    circ = Circulation0D(params, substeps=st.solver.substeps_0d)
    circ.state = y0.copy()
    log.info("0D periodic in %d beats: start at V_LV %.1f mL", beats_0d, y0[1])
    p_guess = surrogate.eb * max(y0[1] - surrogate.v0, 0.0) * MMHG
    inflate_to_start(model, activation, p_guess, y0[1] * ML)
    return Start(circ, params_0d, surrogate, beats_0d, err_0d, seconds)


def inflate_to_start(model: LVModel, activation: Activation, p_guess: float,
                     volume: float) -> None:
    """From the unloaded state to the start of a beat: a passive pressure ramp to ``p_guess``
    (Pa), the volume ``volume`` (m^3), then the tension at t = 0 with that volume held."""
    ramp(model, model.pressure, p_guess, None, steps=4)
    # in one step where it converges, else in halved steps (a remodelled drug arm's cavity
    # can be far from the surrogate's start volume)
    ramp_volume(model, volume, steps=1, min_fraction=1.0 / 64)
    ramp(model, model.Ta, activation.tension(0.0), volume_target(volume), steps=2)


def start_personalised(model: LVModel, activation: Activation, params: dict[str, Any],
                       pers: Personalisation, effects: DrugEffects, edp: float,
                       st: CycleSettings) -> tuple[Start, UnloadingResult]:
    """Start from the calibrated baseline: the passive scale, this scenario's mesh unloaded
    at the EDP, and the 0D state of the accepted calibration beat (the baseline) or the
    periodic state of the calibrated surrogate with the scenario's parameters (a drug arm)."""
    tic = time.perf_counter()
    model.passive_scale.value = pers.passive.scale
    unloading = unload(model, edp)
    log.info("unloaded reference: %.1f mL (%d iterations, re-inflation error %.2g)",
             unloading.unloaded_volume_m3 / ML, unloading.iterations, unloading.volume_error)
    params_0d = json.loads(json.dumps(params))
    if effects.drug is None and pers.start_state:
        y0, beats_0d, err_0d = np.array(pers.start_state), 0, 0.0
    else:
        surrogate = SurrogateLV(**pers.surrogate.model_dump())
        law = surrogate.law(activation.hmt.t_ref, ActivationShape.of(activation))
        _, y0 = surrogate_beat(params, law,
                               np.array(pers.start_state) if pers.start_state else None)
        beats_0d, err_0d = -1, 0.0
    circ = Circulation0D(params, substeps=st.solver.substeps_0d)
    circ.state = set_total_volume(params, y0)
    log.info("start at V_LV %.1f mL", circ.state[1])
    inflate_to_start(model, activation, edp, circ.state[1] * ML)
    return Start(circ, params_0d, None, beats_0d, err_0d, time.perf_counter() - tic), unloading


@dataclass
class CoupledRun:
    """Time stepping of the coupled 3D-0D model, one :class:`StepRecord` per step."""

    model: LVModel
    circ: Circulation0D
    activation: Activation
    writer: FieldWriter
    extrapolate: bool
    rows: list[StepRecord] = field(default_factory=list)
    t: float = 0.0
    step: int = 0
    history: list[tuple[np.ndarray, float]] = field(default_factory=list)
    """(state, p_LV) after the last two steps, kept for the extrapolated guess."""

    def record(self, beat: int, iterations: int) -> None:
        p = float(self.model.pressure.value)
        var = self.circ.variables(self.t, self.circ.state, p / MMHG)
        self.rows.append(StepRecord(
            self.t, beat, var["p_LV"], self.model.newton.volume() / ML, var["V_LV"],
            var["p_AR_SYS"], var["p_LA"], var["Q_MV"], var["Q_AV"],
            self.activation.calcium(self.t), self.activation.tension(self.t) / 1e3, iterations))
        self.writer.write(self.step, self.t)

    def advance(self, dt: float, beat: int) -> int:
        """One coupled step of ``dt``; returns its Newton iterations."""
        guess = None
        if self.extrapolate and len(self.history) == 2:
            (x0, p0), (x1, p1) = self.history
            guess = (2.0 * x1 - x0, 2.0 * p1 - p0)
        its = coupled_step(self.model, self.circ, self.activation, self.t, dt, guess)
        if self.extrapolate:  # keep the last two states only when they are used
            self.history = [*self.history[-1:], self.model.snapshot()]
        self.t = round(self.t + dt, 12)
        self.step += 1
        self.record(beat, its)
        return its

    def beat(self, beat: int, steps: int, dt: float, max_steps: int | None,
             bar: Progress) -> tuple[list[StepRecord], list[int]]:
        """Up to ``steps`` steps (fewer at ``max_steps`` in all); returns the beat's rows,
        from the sample that starts it, and the Newton iterations of its steps."""
        first = len(self.rows) - 1
        iterations = []
        for _ in range(steps):
            iterations.append(self.advance(dt, beat))
            bar.update(1, f"beat {beat + 1}, t {self.t:.3f} s, "
                          f"p_LV {self.rows[-1].p_lv:.1f} mmHg")
            if max_steps is not None and self.step >= max_steps:
                break
        return self.rows[first:], iterations


def periodicity_error(rows: list[StepRecord], previous: list[StepRecord] | None) -> float:
    """Largest of |V(end) - V(start)| / EDV and |p_AR(end) - p_AR(start)| / max p_AR over a
    beat's samples and, against the ``previous`` beat when it is comparable, the relative
    changes of EDV, ESV and the largest and smallest aortic pressure (the slow volume shifts
    of the closed loop show in the aortic pressures before the LV volumes)."""
    v = [r.v_lv for r in rows]
    p = [r.p_ar_sys for r in rows]
    edv, esv, p_max, p_min = max(v), min(v), max(p), min(p)
    errs = [abs(v[-1] - v[0]) / edv, abs(p[-1] - p[0]) / p_max]
    if previous is not None:
        v_prev = [r.v_lv for r in previous]
        p_prev = [r.p_ar_sys for r in previous]
        errs += [abs(edv - max(v_prev)) / edv, abs(esv - min(v_prev)) / edv,
                 abs(p_max - max(p_prev)) / p_max, abs(p_min - min(p_prev)) / p_max]
    return max(errs)


def restart(run: CoupledRun, rows: list[StepRecord], start: Start, beat: int
            ) -> BeatLinearisedLV:
    """Restart at the 0D limit cycle with the LV linearised about the beat ``rows``."""
    tic = time.perf_counter()
    model, circ = run.model, run.circ
    p_lin, fit = beat_linearised_lv(rows, start.parameters_0d["chambers"]["LV"], circ.rr)
    y_start = circ.state.copy()
    y_start[1] = model.newton.volume() / ML
    y_p, beats_p, err_p = periodic_0d_state(start.parameters_0d, y_start=y_start, p_lv=p_lin)
    circ.state = y_p.copy()
    model.Ta.value = run.activation.tension(run.t)
    model.quasi_static()
    ramp_volume(model, y_p[1] * ML, steps=2, min_fraction=0.5)
    run.history = []
    log.info("beat-linearised LV: EB %.3f EA %.3f mmHg/mL, restart at V_LV %.1f mL "
             "(0D periodic in %d beats)", fit.eb, fit.ea, y_p[1], beats_p)
    return summary.linearisation_summary(fit, beat + 1, beats_p, err_p, float(y_p[1]),
                                         time.perf_counter() - tic)


def restart_anchored(run: CoupledRun, rows: list[StepRecord], start: Start,
                     surrogate: SurrogateLV) -> None:
    """Restart a personalised drug arm at the 0D limit cycle of the LV law anchored on the
    beat ``rows`` (the calibration's Newton-like estimate, :func:`~twinflow.physics.heart.
    personalisation.surrogate.anchored_law`, with the calibrated surrogate refitted to the
    beat): the arm's geometry and parameters differ from those the surrogate was fitted to,
    so its first beat is a transient."""
    tic = time.perf_counter()
    model, circ = run.model, run.circ
    shape = ActivationShape.of(run.activation)
    t_ref = run.activation.hmt.t_ref
    t = np.array([r.t for r in rows])
    v = np.array([r.v_lv for r in rows])
    p = np.array([r.p_lv for r in rows])
    law = anchored_law(fit_active(surrogate, t, v, p, shape, t_ref), shape, t_ref, t, v, p,
                       shape.period)
    y_start = circ.state.copy()
    y_start[1] = model.newton.volume() / ML
    _, y_p = surrogate_beat(start.parameters_0d, law(t_ref), y_start)
    circ.state = y_p.copy()
    model.Ta.value = run.activation.tension(run.t)
    model.quasi_static()
    ramp_volume(model, y_p[1] * ML, steps=2, min_fraction=0.5)
    run.history = []
    log.info("restart at the anchored limit cycle: V_LV %.1f mL (%.1f s)", y_p[1],
             time.perf_counter() - tic)


def _log_beat(b: BeatMetrics) -> None:
    log.info("beat %d: EDV %.1f mL ESV %.1f mL EF %.1f %% p_max %.1f EDP %.1f mmHg "
             "periodicity %.3g (%.0f s)", b.beat + 1, b.edv_m3 / ML, b.esv_m3 / ML,
             100 * b.ejection_fraction, b.peak_systolic_pressure_pa / MMHG,
             b.end_diastolic_pressure_pa / MMHG, b.periodicity_error, b.wall_time_s)


def _run_cycle(mesh_xdmf: Path, case: dict[str, Any], scenario_id: str,
               effects: DrugEffects, out_dir: Path, st: CycleSettings, comm: Any,
               where: str, pers: Personalisation | None = None) -> Path:
    t_start = time.perf_counter()
    theta = fitted(pers) if pers is not None else None
    t_ref = theta["reference_tension"] if theta else case["physics"]["activation"][
        "reference_tension"]
    # a drug's contractility effect scales the (calibrated) reference tension
    activation = activation_from_case(case, t_ref * effects.reference_tension)
    params = circulation_parameters(case, effects.circulation, activation, where,
                                    calibrated_overrides(theta) if theta else None)
    rr = 1.0 / float(params["HR"])  # (a drug may change the heart rate)
    st = dataclasses.replace(st, time_step=beat_time_step(rr, st.time_step))
    n_per_beat = int(round(rr / st.time_step))
    model = build_lv(mesh_xdmf, case, comm, st.solver.degree)
    model.newton.reuse_jacobian = st.solver.reuse_jacobian
    model.newton.lag_border = st.solver.lag_border
    unloading = None
    if pers is None:
        start = start_up(model, activation, params, end_diastolic_pressure(case), st)
    else:
        start, unloading = start_personalised(model, activation, params, pers, effects,
                                              end_diastolic_pressure(case), st)
    run = CoupledRun(model, start.circ, activation,
                     FieldWriter(model, out_dir / "fields.xdmf", st.output_every),
                     st.solver.extrapolate)
    t_cycle0 = time.perf_counter()
    run.record(0, 0)
    model.newton.timings.clear()          # profile of the beats only (not the start-up)
    beats: list[BeatMetrics] = []
    previous: list[StepRecord] | None = None  # the last beat comparable with the next one
    refit: BeatLinearisedLV | None = None
    periodic = False
    total = n_per_beat * st.max_beats
    with Progress(min(total, st.max_steps or total), "cardiac cycle", "step", log) as bar:
        for beat in range(st.max_beats):
            tic, factorisations = time.perf_counter(), model.newton.factorisations
            rows, iterations = run.beat(beat, n_per_beat, st.time_step, st.max_steps, bar)
            error = periodicity_error(rows, previous)
            beats.append(summary.beat_metrics(beat, rows, error, iterations,
                                              time.perf_counter() - tic,
                                              model.newton.factorisations - factorisations))
            _log_beat(beats[-1])
            # periodic: two consecutive comparable beats agree (a single beat cannot show it)
            periodic = previous is not None and error < st.periodicity_tol
            stopped = st.max_steps is not None and run.step >= st.max_steps
            if stopped or periodic:
                break
            previous = rows
            settled = rows and abs(rows[-1].v_lv - rows[0].v_lv) < st.periodicity_tol * max(
                r.v_lv for r in rows)
            if (st.refit_surrogate and beat == 0 and beat + 1 < st.max_beats
                    and not (pers is not None and settled)):
                if pers is None:
                    refit = restart(run, rows, start, beat)
                else:  # a personalised arm: the calibration's surrogate, anchored on the beat
                    restart_anchored(run, rows, start, SurrogateLV(**pers.surrogate.model_dump()))
                previous = None  # the restart transient is not compared with the beat before
    run.writer.close()
    result = summary.cycle_summary(
        case=case, scenario=scenario_id, effects=effects, ranks=comm.size, model=model,
        settings=st, heart_rate_hz=1.0 / rr, rows=run.rows, beats=beats, periodic=periodic,
        initialisation=Initialisation(
            elastance_surrogate=(None if start.surrogate is None
                                 else summary.surrogate_summary(start.surrogate)),
            start="personalisation" if pers is not None else "probes",
            beats_0d=start.beats_0d, periodicity_0d=start.periodicity_0d,
            refit_after_first_beat=refit),
        activation=activation, circulation_parameters=params,
        personalisation=None if pers is None or unloading is None else summary_block(
            pers, BeatOutputs(beats[-1].edv_m3 / ML, beats[-1].esv_m3 / ML,
                              beats[-1].peak_aortic_pressure_pa / MMHG,
                              beats[-1].min_aortic_pressure_pa / MMHG),
            unloading.iterations, unloading.volume_error, unloading.unloaded_volume_m3),
        timings=Timings(total_s=time.perf_counter() - t_start,
                        surrogate_fit_s=start.surrogate_seconds,
                        start_up_s=t_cycle0 - t_start,
                        per_beat_s=[b.wall_time_s for b in beats],
                        beats_by_part_s=dict(model.newton.timings)))
    return write_results(out_dir, table_text(SERIES_COLUMNS, [r.cells() for r in run.rows]),
                         result, comm, run.rows, scenario_id)
