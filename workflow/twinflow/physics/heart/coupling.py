r"""Coupling of the 3D LV to the closed-loop 0D circulation, and the 0D stand-ins of the 3D LV.

Coupling scheme (and why)
-------------------------
Implicit (monolithic in the LV pressure) 3D--0D coupling (:func:`coupled_step`): each time
step solves for the displacement/pressure fields **and** the cavity pressure :math:`p_{LV}`
(a Lagrange multiplier) under the constraint
:math:`V_{3D}(\mathbf u^{n+1}) = V^{n+1}_{LV,0D}(p_{LV}^{n+1})`, the LV volume the 0D model
reaches over the step with :math:`p_{LV}^{n+1}` held
(:class:`~twinflow.physics.heart.mechanics.cavity.CavityNewton`;
:math:`\partial V_{0D}/\partial p` by central differences of the cheap 0D step). Valve opening
and closing, isovolumic contraction/relaxation (both valves shut: the 0D volume stays put and
the pressure is whatever the 3D wall needs) and ejection/filling follow from the 0D valve laws
without phase logic. Chosen over the segregated scheme of Regazzoni et al. 2022 (CMAME 2022,
explicit 0D step with the previous pressure, then a volume-constrained 3D solve): with open
valves the explicit step is only conditionally stable, :math:`E_{LV}\,\Delta t/R_{min} < 2`
with :math:`R_{min} = 0.0075` mmHg s/mL (Regazzoni 2020) and a systolic LV elastance of a few
mmHg/mL, i.e. :math:`\Delta t \lesssim 3` ms at best; the implicit form costs one extra back
substitution per Newton iteration and is stable for the 2-5 ms steps used here.

0D stand-ins of the 3D LV
-------------------------
The periodic 0D state that starts a run needs an LV pressure law. :func:`elastance_surrogate`
fits a linear time-varying elastance to two cheap 3D probes (passive inflation to the
end-diastolic pressure gives :math:`E_B`; an isovolumic activation at that volume to peak
tension gives :math:`E_A + E_B`; :math:`V_0` = unloaded 3D cavity volume).
:func:`beat_linearised_lv` linearises a computed 3D beat in volume, for the restart after the
first beat (:mod:`twinflow.physics.heart.cycle`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twinflow.physics.heart.activation import Activation
from twinflow.physics.heart.circulation import ML, MMHG, Circulation0D
from twinflow.physics.heart.loading import inflate_to_pressure, ramp, volume_target
from twinflow.physics.heart.mechanics.solver import ConvergenceError
from twinflow.physics.heart.model import LVModel
from twinflow.physics.heart.outputs import StepRecord

#: Time-step halvings of a coupled step before it fails.
MAX_HALVINGS = 4
#: Pressure increment of the central difference dV_0D/dp (Pa); the 0D valve diodes switch
#: over ~0.4 Pa (steepness 200/mmHg).
DP_0D = 1e-2
#: Active elastance of the Regazzoni et al. 2020 LV (mmHg/mL), the last resort of the probe.
REGAZZONI_EA_LV = 4.482


def coupled_step(model: LVModel, circ: Circulation0D, activation: Activation, t: float,
                 dt: float, predictor: tuple[np.ndarray, float] | None = None,
                 depth: int = 0) -> int:
    """Advance 3D + 0D from t to t + dt (implicit in p_LV); halves dt on failure.

    ``predictor``: initial guess (state, p_LV) for Newton; without it, the last step's.
    Returns the Newton iterations (of all sub-steps).
    """
    model.begin_step(dt)  # the force-velocity factor's reference: the state at t
    before = model.snapshot()
    model.Ta.value = activation.tension(t + dt)
    r_ref = None
    if predictor is not None:
        # rtol stays relative to |R| at the last solution under the new loads (as without
        # a predictor), so a better guess saves iterations instead of tightening the test
        r_ref = model.newton.residual_norm()
        model.restore(predictor)
    y_old = circ.state.copy()

    def target(p: float) -> tuple[float, float]:
        v = circ.advance(t, dt, p / MMHG, y_old)[1] * ML
        vp = circ.advance(t, dt, (p + DP_0D) / MMHG, y_old)[1] * ML
        vm = circ.advance(t, dt, (p - DP_0D) / MMHG, y_old)[1] * ML
        return v, (vp - vm) / (2 * DP_0D)

    try:
        its = model.newton.solve(target, r_ref)    # falls back on exact Newton itself
    except ConvergenceError:
        model.restore(before)
        its = -1
        if predictor is not None:   # the extrapolation may overshoot at a valve event
            try:
                its = model.newton.solve(target)
            except ConvergenceError:
                model.restore(before)
                its = -1
    if its < 0:
        if depth >= MAX_HALVINGS:
            raise ConvergenceError(f"coupled step at t = {t:.4f} s failed after {depth} "
                                   "halvings of the time step")
        its = coupled_step(model, circ, activation, t, dt / 2, None, depth + 1)
        its += coupled_step(model, circ, activation, t + dt / 2, dt / 2, None, depth + 1)
        return its
    circ.state = circ.advance(t, dt, float(model.pressure.value) / MMHG, y_old)
    return its


@dataclass(frozen=True, slots=True)
class ElastanceSurrogate:
    """Linear time-varying elastance of the 3D LV from two probes (0D units: mmHg, mL):
    E_A, E_B (mmHg/mL) and V_0 (mL, the unloaded 3D cavity), with the probes' end-diastolic
    volume (mL, passive inflation to the EDP) and isovolumic pressure at peak tension (mmHg).
    """

    ea: float
    eb: float
    v0: float
    edv: float
    p_iso: float

    def chamber(self) -> dict[str, float]:
        """The LV chamber parameters of the 0D model."""
        return {"EA": self.ea, "EB": self.eb, "V0": self.v0}


def elastance_surrogate(model: LVModel, activation: Activation, edp: float
                        ) -> ElastanceSurrogate:
    """Fit E_B, E_A (mmHg/mL) and V0 (mL) of a time-varying elastance to the 3D LV."""
    model.reset()
    pv = inflate_to_pressure(model, edp, steps=4)
    v_ed = pv[-1][1]
    v_ref = model.reference_volume
    peak = activation.timing().peak_tension
    # isovolumic activation to the peak tension; the first Newton step from the passive state
    # is fragile for some increments (not monotonic in the size), so a few step counts are tried
    p_iso = float("nan")
    for n_steps in (4, 5, 3, 6, 8):
        try:
            ramp(model, model.Ta, peak, volume_target(v_ed), steps=n_steps)
        except ConvergenceError:
            model.reset()
            inflate_to_pressure(model, edp, steps=4)
            continue
        p_iso = float(model.pressure.value)
        break
    if not math.isfinite(p_iso):
        # last resort: small increments, extrapolate linearly from the last converged level
        # (the surrogate only initialises the 0D state); Regazzoni's E_A if none converges
        ta_done, p_done = 0.0, edp
        for k in range(1, 33):
            try:
                model.Ta.value = peak * k / 32
                model.newton.solve(volume_target(v_ed))
            except ConvergenceError:
                break
            ta_done, p_done = peak * k / 32, float(model.pressure.value)
        if ta_done > 0.0:
            p_iso = edp + (p_done - edp) * peak / ta_done
        else:
            p_iso = edp + REGAZZONI_EA_LV * MMHG * (v_ed - v_ref) / ML
    model.reset()
    dv_ml = (v_ed - v_ref) / ML
    eb = edp / MMHG / dv_ml
    emax = p_iso / MMHG / dv_ml
    return ElastanceSurrogate(ea=max(emax - eb, 0.01), eb=eb, v0=v_ref / ML, edv=v_ed / ML,
                              p_iso=p_iso / MMHG)


@dataclass(frozen=True, slots=True)
class BeatLinearisation:
    """Slopes of :func:`beat_linearised_lv` (0D units: mmHg, mL): E_A (least squares over the
    beat) and E_B (EDPVR slope over the upper half of filling) in mmHg/mL; the least-squares
    fit's own E_B, volume intercept (mL) and RMS pressure residual (mmHg)."""

    ea: float
    eb: float
    eb_secant: float
    v0_secant: float
    rms: float


def beat_linearised_lv(rows: list[StepRecord], lv: dict[str, float], rr: float
                       ) -> tuple[Callable[[float, float], float], BeatLinearisation]:
    r"""LV pressure law for the 0D model, linearised about a computed 3D beat (mmHg, mL, s).

    .. math::
        p(V, t) = p_{3D}(t) + E(t)\,(V - V_{3D}(t)),\qquad E(t) = E_A\,a(t) + E_B,

    :math:`p_{3D}, V_{3D}` interpolated in the beat's samples (periodic in RR), :math:`a(t)`
    the activation of the 0D LV chamber ``lv`` (Blanco's cosine shape, ``circulation``
    package, with its ``tC, TC, TR``). The 0D model with this LV reproduces the 3D beat when
    its state is consistent with it, so its periodic state is a Newton-like estimate of the
    coupled limit cycle. The slopes: :math:`E_B` the 3D EDPVR slope over the upper half of
    filling (least squares on the beat's relaxed samples); :math:`E_A` by least squares of
    :math:`p = (E_A a + E_B^{sec})(V - V_0)` on the whole beat with :math:`V_0` scanned below
    the smallest volume (the 3D LV ejects below its unloaded volume, the measured geometry
    being the reference). Simplification: a linear correction; the remaining mismatch is left
    to the following beats.
    """
    from circulation.time_varying_elastance import blanco_ventricle

    act = blanco_ventricle(EA=1.0, EB=0.0, tC=lv["tC"], TC=lv["TC"], TR=lv["TR"], RR=rr)
    t = np.array([r.t for r in rows])
    ts = t - t[0]
    v = np.array([r.v_lv for r in rows])
    p = np.array([r.p_lv for r in rows])
    ta = np.array([r.ta_kpa for r in rows])
    a = np.array([float(act(x % rr)) for x in t])
    best: tuple[float, float, float, float] | None = None
    for v0 in v.min() - np.geomspace(1.0, 400.0, 200):
        dv = v - v0
        m = np.column_stack([a * dv, dv])
        (ea, eb), *_ = np.linalg.lstsq(m, p, rcond=None)
        if ea <= 0 or eb <= 0:
            continue
        res = float(np.sum((m @ np.array([ea, eb]) - p) ** 2))
        if best is None or res < best[0]:
            best = (res, float(ea), float(eb), float(v0))
    if best is None:
        raise ConvergenceError("no positive elastance fits the first beat")
    res, ea, eb_sec, v0 = best
    relaxed = ta <= 0.01 * max(ta.max(), 1e-30)
    i_min = int(np.argmin(np.where(relaxed, v, np.inf)))
    upper = relaxed & (v >= 0.5 * (v[i_min] + v.max())) & (np.arange(len(v)) >= i_min)
    eb = eb_sec
    if upper.sum() >= 3 and np.ptp(v[upper]) > 1e-6:
        eb = max(float(np.polyfit(v[upper], p[upper], 1)[0]), eb_sec)
    fit = BeatLinearisation(ea=ea, eb=eb, eb_secant=eb_sec, v0_secant=v0,
                            rms=math.sqrt(res / len(p)))
    order = np.argsort(ts)
    tt, pp, vv = ts[order], p[order], v[order]

    def p_lv(vol: float, time_s: float) -> float:
        x = time_s % rr
        return float(np.interp(x, tt, pp) + (ea * float(act(x)) + eb)
                     * (vol - np.interp(x, tt, vv)))

    return p_lv, fit
