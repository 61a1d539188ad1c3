r"""A 0D stand-in for the 3D LV, fitted to 3D results, that proposes calibration parameters.

The LV pressure of the surrogate (0D units: mmHg, mL, s):

.. math::
    p(V, t) = \underbrace{A\,\big(e^{B\,(V - V_0)} - 1\big)}_{\text{passive (EDPVR)}}
            + k\,T_{ref}\,a(t)\,(V - V_a),

* passive: the exponential EDPVR fitted to the re-inflation of the unloaded 3D LV (its own
  :math:`V_0`, the unloaded cavity volume);
* active: an elastance proportional to the reference tension :math:`T_{ref}` of the HMT 1998
  law (:math:`k` in mmHg/mL per Pa), with the exact time course of the 3D activation
  :math:`a(t) = T_0(t)/\max T_0` (:class:`~twinflow.physics.heart.activation.Activation`) and
  a volume intercept :math:`V_a`.

:func:`fit_active` fits :math:`k, V_a` to the samples of a computed 3D beat by linear least
squares on :math:`p_{3D} - p_{pass}(V_{3D}) = k T_{ref}\,a(t)\,V - k T_{ref} V_a\,a(t)`
(samples with :math:`a > 0.05`; a fit that is no elastance, :math:`k \le 0`, keeps the
previous law: on the LV demo's beats it is none, the 3D LV ejecting at a nearly constant
pressure). Before any 3D beat, :func:`initial_active` takes two isovolumic activations of the
3D LV (at the end-diastolic and the unloaded volume).

The surrogate replaces the LV chamber of the Regazzoni et al. 2020 closed loop
(:mod:`twinflow.physics.heart.circulation`); :func:`surrogate_beat` runs that model to its
periodic state and returns the beat's EDV, ESV and aortic systolic/diastolic pressure. It is a
proposal model: the 3D beats decide (:mod:`twinflow.physics.heart.personalisation.calibrate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from twinflow.physics.heart.activation import Activation
from twinflow.physics.heart.circulation import periodic_0d_state, total_volume

#: Samples of a(t) per beat (interpolated periodically).
SHAPE_SAMPLES = 800
#: Activation level above which a sample counts for the active fit.
ACTIVE_SAMPLE = 0.05
#: Time step of the 0D runs of the surrogate (s): forward Euler at 1 ms (see surrogate_beat).
GRID_STEP = 1e-3
#: Beats of the plain iteration when Anderson mixing fails (the state is then a proposal's
#: approximation, not a converged periodic state).
FALLBACK_BEATS = 10


class SurrogateDiverged(ArithmeticError):
    """The 0D loop with the surrogate LV blew up (parameters far outside its range)."""


@dataclass(frozen=True, slots=True)
class ActivationShape:
    """a(t) = T_0(t) / max T_0 of the 3D activation, sampled over one beat."""

    t: np.ndarray
    a: np.ndarray
    period: float

    @classmethod
    def of(cls, activation: Activation) -> ActivationShape:
        period = activation.calcium.period
        t = np.linspace(0.0, period, SHAPE_SAMPLES + 1)
        ta = np.array([activation.tension(x) for x in t])
        return cls(t, ta / max(float(ta.max()), 1e-30), period)

    def __call__(self, t: float | np.ndarray) -> float | np.ndarray:
        return np.interp(np.asarray(t) % self.period, self.t, self.a)


@dataclass(frozen=True, slots=True)
class SurrogateLV:
    """Parameters of the surrogate LV (see the module docstring; mmHg, mL, Pa)."""

    passive_a_mmhg: float
    passive_b_per_ml: float
    v0_ml: float
    active_per_tension: float
    """k: active elastance per Pa of T_ref (mmHg/mL/Pa)."""
    v_active_ml: float

    def passive(self, v: float | np.ndarray) -> float | np.ndarray:
        return self.passive_a_mmhg * np.expm1(self.passive_b_per_ml * (np.asarray(v) - self.v0_ml))

    def law(self, t_ref_pa: float, shape: ActivationShape):
        """p_LV(V, t) in mmHg for the 0D model at reference tension ``t_ref_pa``."""
        ea = self.active_per_tension * t_ref_pa

        def p_lv(v: float, t: float) -> float:
            return float(self.passive(v) + ea * float(shape(t)) * (v - self.v_active_ml))

        return p_lv


def fit_passive(volumes_ml: np.ndarray, pressures_mmhg: np.ndarray, v0_ml: float
                ) -> tuple[float, float]:
    """A, B of the exponential EDPVR p = A (exp(B (V - V0)) - 1) through (V, p) samples of a
    passive inflation from the unloaded volume V0 (scipy ``curve_fit``)."""
    v = np.asarray(volumes_ml, dtype=float)
    p = np.asarray(pressures_mmhg, dtype=float)
    dv = max(float(v.max() - v0_ml), 1e-6)
    p_max = max(float(p.max()), 1e-6)
    guess = (p_max / math.expm1(3.0), 3.0 / dv)  # an exponential with 3 e-folds to the top

    def model(x, a, b):
        return a * np.expm1(b * (x - v0_ml))

    (a, b), _ = curve_fit(model, v, p, p0=guess, bounds=([1e-6, 1e-6], [1e3, 10.0]),
                          maxfev=20000)
    return float(a), float(b)


def initial_active(v1: float, v2: float, p1_act: float, p2_act: float,
                   peak_tension_pa: float) -> tuple[float, float]:
    """k and V_a from the active pressures (mmHg) of two isovolumic activations to the peak
    tension at volumes v1 > v2 (mL): the line p_act = k T (V - V_a) through both."""
    ea = max((p1_act - p2_act) / max(v1 - v2, 1e-6), 1e-3)
    return ea / peak_tension_pa, v1 - p1_act / ea


def fit_active(surrogate: SurrogateLV, t: np.ndarray, v_ml: np.ndarray, p_mmhg: np.ndarray,
               shape: ActivationShape, t_ref_pa: float) -> SurrogateLV:
    """The surrogate with k, V_a refitted to a 3D beat's samples (t, V, p_LV)."""
    a = np.asarray(shape(t), dtype=float)
    use = a > ACTIVE_SAMPLE
    if use.sum() < 4:
        return surrogate
    v, p = np.asarray(v_ml)[use], np.asarray(p_mmhg)[use]
    p_act = p - surrogate.passive(v)
    m = np.column_stack([a[use] * v, -a[use]])
    (c1, c2), *_ = np.linalg.lstsq(m, p_act, rcond=None)
    if not c1 > 0:
        return surrogate
    return SurrogateLV(surrogate.passive_a_mmhg, surrogate.passive_b_per_ml, surrogate.v0_ml,
                       float(c1) / t_ref_pa, float(c2 / c1))


def anchored_law(surrogate: SurrogateLV, shape: ActivationShape, t_ref_pa: float,
                 t: np.ndarray, v_ml: np.ndarray, p_mmhg: np.ndarray, period: float):
    r"""The LV law linearised about a computed beat, for parameters near the beat's:

    .. math::
        p(V, t; T) = p_{3D}(t) + E_s(t)\,(V - V_{3D}(t))
                   + k\,(T - T_{3D})\,a(t)\,(V - V_a),

    :math:`p_{3D}, V_{3D}` the beat's samples (periodic in the beat), :math:`E_s(t)` the
    surrogate's local elastance :math:`p'_{pass}(V_{3D}) + k T_{3D} a(t)`. At the beat's own
    tension the 0D loop with this law reproduces the beat, so its periodic state is a
    Newton-like estimate of the coupled limit cycle (as the restart of
    :func:`twinflow.physics.heart.coupling.beat_linearised_lv`). Returns ``law(T) -> p(V, t)``.
    """
    x = (np.asarray(t, dtype=float) - float(t[0])) % period
    order = np.argsort(x, kind="stable")
    xs, vs, ps = x[order], np.asarray(v_ml)[order], np.asarray(p_mmhg)[order]
    k, va = surrogate.active_per_tension, surrogate.v_active_ml
    a_s = np.asarray(shape(xs + float(t[0])), dtype=float)
    b = surrogate.passive_b_per_ml
    e_s = (surrogate.passive_a_mmhg * b * np.exp(b * (vs - surrogate.v0_ml))
           + k * t_ref_pa * a_s)
    t0 = float(t[0])
    # the beat on the 1 ms grid of the 0D runs (their forward-Euler steps fall on it): one
    # table look-up per call instead of four interpolations
    h = GRID_STEP
    grid = np.arange(int(round(period / h)) + 1) * h
    tables = np.stack([np.interp(grid, xs, ps), np.interp(grid, xs, e_s),
                       np.interp(grid, xs, vs), np.asarray(shape(grid + t0), dtype=float)])

    def law(t_ref: float):
        dk = k * (t_ref - t_ref_pa)

        def p_lv(vol: float, time_s: float) -> float:
            xx = (time_s - t0) % period
            i = xx / h
            j = int(round(i))
            if abs(i - j) < 1e-6:
                p0, e, v0, a = tables[:, j]
            else:
                p0, e, v0, a = (np.interp(xx, grid, row) for row in tables)
            return float(p0 + e * (vol - v0) + dk * a * (vol - va))

        return p_lv

    return law


@dataclass(frozen=True, slots=True)
class BeatOutputs:
    """What the calibration compares with the measurements (mL, mmHg)."""

    edv_ml: float
    esv_ml: float
    systolic_mmhg: float
    diastolic_mmhg: float

    def vector(self) -> np.ndarray:
        return np.array([self.systolic_mmhg, self.diastolic_mmhg, self.edv_ml, self.esv_ml])


def set_total_volume(parameters: dict, y: np.ndarray) -> np.ndarray:
    """``y`` with the loop's total volume set to ``parameters['initial']['V_TOT']`` by the
    systemic venous pressure (as :func:`~twinflow.physics.heart.circulation.initial_state`)."""
    y = np.array(y, dtype=float)
    target = float(parameters["initial"]["V_TOT"])
    y[5] += (target - total_volume(parameters, y)) / parameters["circulation"]["SYS"]["C_VEN"]
    return y


def periodic_state(model, y0: np.ndarray, dt: float, n: int, tol: float,
                   max_beats: int = 30) -> np.ndarray | None:
    r"""Periodic state of the closed loop: the root of :math:`\Phi(y) - y`, :math:`\Phi` one
    beat of ``n`` forward-Euler steps, by Anderson mixing (``scipy.optimize.anderson``).

    The loop conserves its total volume, so its periodic states form a one-parameter family;
    Anderson updates are linear combinations of beat differences, which keep the total volume
    of ``y0``, and select the member of that volume, as the beat-after-beat iteration does.
    Measured on the surrogate of the LV demo: 16 beats to 3.5e-6 instead of 43 beats to 1e-6.
    Returns None when it does not converge within ``max_beats`` beats."""
    from scipy.optimize import NoConvergence, anderson

    count = [0]

    def residual(y: np.ndarray) -> np.ndarray:
        count[0] += 1
        yk = np.array(y, dtype=float)
        for i in range(n):
            yk = yk + dt * np.array(model.rhs(i * dt, yk), dtype=float)
        return yk - y

    # alpha = 1: the first update is one plain beat (the Jacobian of Phi - I taken as -I);
    # the tolerance is the periodicity test of periodic_0d_state on values of order 100
    try:
        y = anderson(residual, np.array(y0, dtype=float), alpha=1.0, M=5, f_tol=100 * tol,
                     maxiter=max_beats)
    except (NoConvergence, ValueError, FloatingPointError, OverflowError):
        return None
    return np.asarray(y, dtype=float) if np.all(np.isfinite(y)) else None


def surrogate_beat(parameters: dict, p_lv, y_start: np.ndarray | None = None,
                   dt: float = GRID_STEP, tol: float = 1e-5) -> tuple[BeatOutputs, np.ndarray]:
    """Run the closed loop with LV law ``p_lv`` to its periodic state (total volume of
    ``parameters``; state change over a beat below ``tol``, see
    :func:`~twinflow.physics.heart.circulation.periodic_0d_state`); returns the outputs of one
    more beat and the state at its start. Forward Euler with ``dt`` 1 ms: the outputs agree
    with 0.5 ms to 0.1 % and their parameter derivatives to 0.2 % (Regazzoni defaults), at
    half the cost; a warm ``y_start`` (a periodic state of nearby parameters) saves most
    beats."""
    from circulation.regazzoni2020 import Regazzoni2020

    from twinflow.physics.heart.circulation import _quiet_model, initial_state

    model = _quiet_model(Regazzoni2020, parameters, p_LV=p_lv)
    rr = 1.0 / float(parameters["HR"])
    n = int(round(rr / dt))
    y0 = (initial_state(parameters) if y_start is None
          else set_total_volume(parameters, y_start))
    y = periodic_state(model, y0, dt, n, tol)
    if y is None:  # Anderson mixing failed: plain beat-after-beat iteration, bounded
        y, _, _ = periodic_0d_state(parameters, dt=dt, y_start=y0, p_lv=p_lv, tol=tol,
                                    max_beats=FALLBACK_BEATS)
    if not np.all(np.isfinite(y)):
        raise SurrogateDiverged("the 0D loop diverged with these parameters")
    yk = y.copy()
    v = np.empty(n + 1)
    p_ar = np.empty(n + 1)
    v[0], p_ar[0] = yk[1], yk[4]
    for i in range(n):
        yk = yk + dt * np.array(model.rhs(i * dt, yk), dtype=float)
        v[i + 1], p_ar[i + 1] = yk[1], yk[4]
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(p_ar))):
        raise SurrogateDiverged("the 0D loop diverged with these parameters")
    return BeatOutputs(float(v.max()), float(v.min()), float(p_ar.max()), float(p_ar.min())), y
