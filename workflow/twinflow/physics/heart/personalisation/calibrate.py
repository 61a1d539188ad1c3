r"""Active and circulation calibration: the periodic baseline beat meets the patient's data.

Unknowns :math:`\theta` (:data:`PARAMETERS`): the reference tension :math:`T_{ref}` of the HMT
1998 law (contractility), the systemic arterial resistance ``R_AR_SYS`` and compliance
``C_AR_SYS`` and the blood volume of the closed loop ``V_TOT`` of the Regazzoni et al. 2020
circulation. Targets: cuff systolic and diastolic pressure (compared with the systemic arterial
compartment: a stated simplification, no brachial amplification), end-diastolic and
end-systolic volume. Four unknowns, four targets; residuals are scaled by their tolerances
(:class:`Targets`).

Algorithm (space mapping, Bandler et al. 2004, IEEE Trans Microw Theory Tech 52:337: a cheap
model proposes, the expensive one decides; here the cheap model is re-anchored on every 3D beat
and its Jacobian corrected by Broyden updates):

1. :func:`propose`: :math:`\theta_0 = \arg\min \|r(s(\theta))\|` with the surrogate LV
   (:mod:`~twinflow.physics.heart.personalisation.surrogate`) in the 0D loop, bounded, by
   ``scipy.optimize.least_squares`` (trust-region reflective) in :math:`\log\theta`. If the
   best surrogate fit misses a target by more than its tolerance, the targets are unreachable
   within the bounds: :class:`CalibrationError` before any 3D beat.
2. The 3D model restarts at the surrogate's periodic 0D state and runs a beat (a
   :class:`BeatRunner`). The surrogate's active part is refitted to the beat and the LV law
   is anchored on it (:func:`~twinflow.physics.heart.personalisation.surrogate.anchored_law`:
   the 0D loop with it reproduces the beat at :math:`\theta_k`), so
   :math:`\theta_{k+1} = \arg\min \|r(s_k(\theta) + B_k(x - x_k))\|`, :math:`x = \log
   \theta`, where :math:`B_k` is a Broyden rank-one correction of the anchored law's Jacobian
   (:math:`B \leftarrow B + (m_{3D} - \hat m)\,\Delta x^T/\Delta x^T\Delta x`, :math:`\hat m`
   the previous proposal's prediction), learnt from what each proposal mispredicted; the 3D
   model restarts at the anchored law's periodic state for :math:`\theta_{k+1}`.
3. A beat that meets every target within :data:`ACCEPT` of its tolerance is followed by
   another at the same parameters (no new proposal); done when such a beat is periodic
   (its EDV, ESV and aortic pressures agree with the previous beat at the same parameters to
   the periodicity tolerance, or, restarted from the anchored limit cycle, its LV volume and
   aortic pressure close on themselves to :data:`CLOSED` of that tolerance). The 3D beats
   are bounded (``personalisation.max_beats``); when the budget is spent, :class:`CalibrationError`
   names each missed target and by how much.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.optimize import least_squares

from twinflow.errors import TwinflowError
from twinflow.physics.heart.personalisation.surrogate import (
    ActivationShape,
    BeatOutputs,
    SurrogateDiverged,
    SurrogateLV,
    anchored_law,
    fit_active,
    surrogate_beat,
)

log = logging.getLogger(__name__)

#: The calibrated parameters, their 0D-model units and bounds (lower, upper). T_ref: 20-600 kPa
#: spans the peak active stresses of organ-level LV models (~60-300 kPa, reference-data.md)
#: with margin; the circulation bounds are 1/8-6x Regazzoni et al. 2020 (R_AR_SYS 0.8
#: mmHg s/mL, C_AR_SYS 1.2 mL/mmHg) and 0.3-3x its loop volume.
PARAMETERS: dict[str, tuple[str, float, float]] = {
    "reference_tension": ("Pa", 20e3, 600e3),
    "R_AR_SYS": ("mmHg*s/mL", 0.1, 5.0),
    "C_AR_SYS": ("mL/mmHg", 0.15, 7.0),
    "V_TOT": ("mL", 500.0, 5000.0),
}
NAMES = tuple(PARAMETERS)
TARGET_NAMES = ("systolic_pressure", "diastolic_pressure", "end_diastolic_volume",
                "end_systolic_volume")
#: A beat is accepted when every scaled residual is within this fraction of its tolerance
#: (margin for the downstream baseline run from the same parameters).
ACCEPT = 0.5
#: A beat restarted from the anchored estimate of the limit cycle counts as periodic when
#: |V_end - V_start| / EDV is below this fraction of the periodicity tolerance.
CLOSED = 0.25


class CalibrationError(TwinflowError):
    """The targets cannot be met within the bounds or the 3D-beat budget (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Targets:
    """Measured values (mmHg, mL) and tolerances (mmHg; fraction of the volume)."""

    systolic_mmhg: float
    diastolic_mmhg: float
    edv_ml: float
    esv_ml: float
    pressure_tol_mmhg: float
    volume_tol: float

    def vector(self) -> np.ndarray:
        return np.array([self.systolic_mmhg, self.diastolic_mmhg, self.edv_ml, self.esv_ml])

    def scale(self) -> np.ndarray:
        return np.array([self.pressure_tol_mmhg, self.pressure_tol_mmhg,
                         self.volume_tol * self.edv_ml, self.volume_tol * self.esv_ml])

    def scaled(self, outputs: np.ndarray) -> np.ndarray:
        """Residuals (achieved - measured) in units of their tolerance."""
        return (np.asarray(outputs) - self.vector()) / self.scale()

    def misses(self, outputs: np.ndarray, factor: float = 1.0) -> list[str]:
        """'name: achieved X vs measured Y (+D)' for each target missed by > factor x tol."""
        out = []
        r = self.scaled(outputs)
        units = ("mmHg", "mmHg", "mL", "mL")
        for name, res, got, want, unit in zip(TARGET_NAMES, r, outputs, self.vector(), units,
                                              strict=True):
            if abs(res) > factor:
                out.append(f"{name.replace('_', ' ')} {got:.1f} vs measured {want:.1f} {unit} "
                           f"({got - want:+.1f})")
        return out


@dataclass
class Circulation:
    """The 0D parameters of the case (package units) and how θ enters them."""

    base: dict

    def parameters(self, theta: dict[str, float]) -> dict:
        p = copy.deepcopy(self.base)
        p["circulation"]["SYS"]["R_AR"] = theta["R_AR_SYS"]
        p["circulation"]["SYS"]["C_AR"] = theta["C_AR_SYS"]
        p["initial"]["V_TOT"] = theta["V_TOT"]
        return p

    def theta0(self, t_ref_pa: float) -> dict[str, float]:
        c = self.base["circulation"]["SYS"]
        return {"reference_tension": t_ref_pa, "R_AR_SYS": float(c["R_AR"]),
                "C_AR_SYS": float(c["C_AR"]), "V_TOT": float(self.base["initial"]["V_TOT"])}


@dataclass(frozen=True, slots=True)
class Beat3D:
    """One computed 3D beat: samples (s, mL, mmHg) and outputs."""

    t: np.ndarray
    v_ml: np.ndarray
    p_mmhg: np.ndarray
    outputs: BeatOutputs
    y_start: np.ndarray
    """0D state at the start of the beat."""
    y_end: np.ndarray
    """0D state at the end of the beat."""

    @property
    def drift(self) -> float:
        """How far the beat is from closing on itself: the larger of the LV volume change
        over the beat relative to the EDV and the aortic pressure change relative to the
        systolic pressure (the start-to-end terms of the cycle's periodicity error)."""
        a, b = np.asarray(self.y_start), np.asarray(self.y_end)
        return float(max(abs(b[1] - a[1]) / self.outputs.edv_ml,
                         abs(b[4] - a[4]) / self.outputs.systolic_mmhg))


class BeatRunner(Protocol):
    """The 3D model as the calibration drives it."""

    def restart(self, theta: dict[str, float], parameters: dict, y0: np.ndarray) -> None:
        """Set T_ref and the 0D parameters, start a beat at 0D state ``y0``."""

    def beat(self) -> Beat3D:
        """Run one beat from the current state."""


@dataclass
class Iteration:
    """One 3D beat of the calibration."""

    beat: int
    theta: dict[str, float]
    outputs: BeatOutputs
    scaled_residual: list[float]
    drift: float
    """The beat's :attr:`Beat3D.drift`."""
    periodicity_error: float | None
    """Largest relative change of EDV, ESV, systolic and diastolic pressure against the
    previous beat at the same parameters (None after a restart)."""
    restarted: bool


@dataclass
class Result:
    theta: dict[str, float]
    surrogate: SurrogateLV
    iterations: list[Iteration] = field(default_factory=list)
    surrogate_evaluations: int = 0
    start_state: np.ndarray | None = None
    """0D state at the start of the accepted beat."""

    @property
    def beats(self) -> int:
        return len(self.iterations)


def _to_x(theta: dict[str, float]) -> np.ndarray:
    return np.log([theta[n] for n in NAMES])


def _to_theta(x: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(NAMES, np.exp(x), strict=True)}


Law = Callable[[float], Callable[[float, float], float]]
"""``law(T_ref) -> p_LV(V, t)``: an LV pressure law of the 0D loop for a reference tension."""


def propose(targets: Targets, law: Law, circulation: Circulation, theta0: dict[str, float],
            y_start: np.ndarray | None = None,
            secant: tuple[np.ndarray, np.ndarray] | None = None,
            ) -> tuple[dict[str, float], np.ndarray, int, np.ndarray]:
    """θ minimising the scaled residuals of the 0D loop with the LV ``law`` plus the linear
    correction ``secant`` = (B, x_ref): B (x - x_ref), x = log θ, within the bounds; returns
    θ, the corrected model's outputs there, the 0D evaluations and the periodic state."""
    lo = np.log([PARAMETERS[n][1] for n in NAMES])
    hi = np.log([PARAMETERS[n][2] for n in NAMES])
    cache: dict[bytes, tuple[BeatOutputs, np.ndarray]] = {}
    warm = [y_start]  # the last periodic state: each evaluation starts there

    def run(x: np.ndarray) -> tuple[BeatOutputs, np.ndarray]:
        key = np.asarray(x).tobytes()
        if key not in cache:
            th = _to_theta(x)
            try:
                cache[key] = surrogate_beat(circulation.parameters(th),
                                            law(th["reference_tension"]), warm[0])
                warm[0] = cache[key][1]
            except (SurrogateDiverged, FloatingPointError, OverflowError):
                # far outside the surrogate's range: a large residual steers the fit back
                far = targets.vector() + 1e3 * targets.scale()
                cache[key] = (BeatOutputs(*far[[2, 3, 0, 1]]), warm[0])
        return cache[key]

    def model(x: np.ndarray) -> np.ndarray:
        out = run(x)[0].vector()
        if secant is not None:
            out = out + secant[0] @ (np.asarray(x) - secant[1])
        return out

    def fun(x: np.ndarray) -> np.ndarray:
        return targets.scaled(model(x))

    x0 = np.clip(_to_x(theta0), lo + 1e-9, hi - 1e-9)
    # max_nfev counts the trust-region steps, not the 4 finite-difference evaluations of
    # each Jacobian: at most ~100 periodic 0D runs (a reachable demo fit takes ~40)
    sol = least_squares(fun, x0, bounds=(lo, hi), diff_step=1e-2, x_scale=1.0,
                        xtol=1e-5, ftol=1e-6, max_nfev=20)
    return _to_theta(sol.x), model(sol.x), len(cache), run(sol.x)[1]


def calibrate(targets: Targets, surrogate: SurrogateLV, shape: ActivationShape,
              circulation: Circulation, theta0: dict[str, float], runner: BeatRunner,
              max_beats: int, periodicity_tol: float = 0.01,
              where: str = "personalisation",
              on_beat: Callable[[Iteration], None] | None = None) -> Result:
    """Calibrate θ so that the periodic 3D beat meets ``targets`` (module docstring)."""
    theta, best, evals, y0 = propose(
        targets, lambda t_ref: surrogate.law(t_ref, shape), circulation, theta0)
    if np.max(np.abs(targets.scaled(best))) > 1.0:
        raise CalibrationError(
            f"{where}: the measurements cannot be reproduced within the parameter bounds "
            f"(best 0D fit: {'; '.join(targets.misses(best))})")
    result = Result(theta=theta, surrogate=surrogate, surrogate_evaluations=evals)
    runner.restart(theta, circulation.parameters(theta), y0)
    restarted, previous, y_start = True, None, y0
    # Broyden (rank-one) correction of the anchored law's Jacobian in x = log θ: what the
    # last proposal mispredicted, per unit step
    jac, x_last, predicted = np.zeros((4, 4)), None, best
    while result.beats < max_beats:
        beat = runner.beat()
        res = targets.scaled(beat.outputs.vector())
        period = None
        if previous is not None:
            period = float(np.max(np.abs(beat.outputs.vector() - previous.outputs.vector())
                                  / np.abs(beat.outputs.vector())))
        it = Iteration(result.beats, dict(theta), beat.outputs, [float(r) for r in res],
                       beat.drift, period, restarted)
        result.iterations.append(it)
        log.info("calibration beat %d: EDV %.1f ESV %.1f mL, aortic %.1f/%.1f mmHg "
                 "(scaled residuals %s), drift %.3g", it.beat + 1, beat.outputs.edv_ml,
                 beat.outputs.esv_ml, beat.outputs.systolic_mmhg, beat.outputs.diastolic_mmhg,
                 np.array2string(res, precision=2), beat.drift)
        if on_beat is not None:
            on_beat(it)
        met = bool(np.max(np.abs(res)) <= ACCEPT)
        # periodic: two beats at the same parameters agree, or the beat closes on itself
        # (restarted from the anchored estimate of the limit cycle)
        closed = beat.drift < CLOSED * periodicity_tol
        if met and ((period is not None and period < periodicity_tol) or closed):
            result.theta, result.start_state = theta, y_start
            return result
        if result.beats >= max_beats:
            break
        # the LV law anchored on this beat: its limit cycle at these parameters, or the
        # proposal of new ones and their restart state
        fitted = fit_active(surrogate, beat.t, beat.v_ml, beat.p_mmhg, shape,
                            theta["reference_tension"])
        law = anchored_law(fitted, shape, theta["reference_tension"], beat.t, beat.v_ml,
                           beat.p_mmhg, shape.period)
        if met:
            # the beat meets the targets but is a transient (a closed one returned above):
            # where does its limit cycle lie? The anchored law run to its periodic state at
            # the same parameters estimates it (a Newton-like step); confirm there when it
            # meets the targets too, else propose new parameters at once
            limit, y_limit = surrogate_beat(circulation.parameters(theta),
                                            law(theta["reference_tension"]), beat.y_end)
            result.surrogate_evaluations += 1
            if np.max(np.abs(targets.scaled(limit.vector()))) <= ACCEPT:
                previous, y_start, restarted = beat, y_limit, False
                runner.restart(theta, circulation.parameters(theta), y_start)
                continue
            log.info("its limit cycle would miss the targets (%s): new parameters",
                     "; ".join(targets.misses(limit.vector(), ACCEPT)))
        x_now = _to_x(theta)
        if restarted and x_last is not None and np.any(x_now != x_last):
            step = x_now - x_last
            jac = jac + np.outer(beat.outputs.vector() - predicted, step) / (step @ step)
        surrogate = fitted
        theta_new, predicted, evals, y_new = propose(targets, law, circulation, theta,
                                                     beat.y_end, (jac, x_now))
        x_last = x_now
        result.surrogate_evaluations += evals
        result.surrogate = surrogate
        log.info("proposed %s", ", ".join(f"{k} {v:.4g}" for k, v in theta_new.items()))
        theta, y_start = theta_new, y_new
        runner.restart(theta, circulation.parameters(theta), y_start)
        restarted, previous = True, None
    last = result.iterations[-1].outputs.vector()
    misses = targets.misses(last, ACCEPT) or ["not periodic"]
    raise CalibrationError(
        f"{where}: not calibrated within {max_beats} 3D beats "
        f"(personalisation.max_beats); last beat: {'; '.join(misses)}")
