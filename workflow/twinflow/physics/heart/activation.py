r"""Activation of the LV: a periodic calcium transient driving the Hunter tension law.

Active fibre tension :math:`T_a(t) = T_{ref}\,[Ca]^n/([Ca]^n + C_{50}^n)`, the Hunter,
McCulloch & ter Keurs 1998 steady-state relation
(:class:`~twinflow.physics.heart.mechanics.active_stress.HunterMcCullochTerKeurs1998`,
n = 6.9, C50 = 0.63 µM) at reference stretch, driven by the case's bi-exponential calcium
transient

.. math::
    [Ca](t) = Ca_d + (Ca_p - Ca_d)\,\frac{e^{-s/\tau_d} - e^{-s/\tau_r}}{N},\qquad
    s = (t - t_{on}) \bmod RR,

:math:`N` normalising the peak to :math:`Ca_p` (the limit :math:`\tau_d \to \tau_r` is the
alpha function :math:`(s/\tau_r)\,e^{1 - s/\tau_r}`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twinflow.physics.heart.mechanics.active_stress import HunterMcCullochTerKeurs1998

#: Fraction of the tension's range above which the LV counts as active (onset and end of
#: relaxation in :meth:`Activation.timing`).
ACTIVE_FRACTION = 0.02


@dataclass(frozen=True, slots=True)
class BiexponentialCalcium:
    """Bi-exponential, periodic calcium transient (µM, s); see the module docstring."""

    diastolic_um: float
    peak_um: float
    onset: float
    rise_time: float
    decay_time: float
    period: float

    def __call__(self, t: float) -> float:
        s = (t - self.onset) % self.period
        tr, td = self.rise_time, self.decay_time
        if abs(td - tr) < 1e-12:
            shape, norm = s / tr * math.exp(1 - s / tr), 1.0
        else:
            s_pk = math.log(td / tr) * tr * td / (td - tr)
            norm = math.exp(-s_pk / td) - math.exp(-s_pk / tr)
            shape = (math.exp(-s / td) - math.exp(-s / tr)) / norm
        return self.diastolic_um + (self.peak_um - self.diastolic_um) * shape


@dataclass(frozen=True, slots=True)
class ActivationTiming:
    """When the LV is active within a beat (s) and its peak tension (Pa), in the terms of
    the 0D elastance chambers (Regazzoni 2020: ``tC``, ``TC``, ``TR``)."""

    onset: float
    """``tC``: the tension first exceeds :data:`ACTIVE_FRACTION` of its range."""
    contraction: float
    """``TC``: from the onset to the peak."""
    relaxation: float
    """``TR``: from the peak until the tension falls below :data:`ACTIVE_FRACTION`."""
    peak_tension: float


@dataclass(frozen=True, slots=True)
class Activation:
    calcium: BiexponentialCalcium
    hmt: HunterMcCullochTerKeurs1998
    transverse_fraction: float
    """Share of the fibre tension also acting along the sheet and sheet-normal directions."""
    velocity_coefficient: float = 0.0
    """c0 (s) of the force-velocity factor ``1 + c0 dlambda/dt`` (``hmt.beta0`` is the length
    dependence); both act in the 3D forms, not in :meth:`tension`."""

    def tension(self, t: float) -> float:
        """Active fibre tension (Pa) at time t at reference fibre stretch and at rest
        (lambda = 1, dlambda/dt = 0): the ``T_a`` that the 3D forms scale by the length and
        velocity factors, and the uniform tension of the 0D stand-ins and the timing."""
        return float(self.hmt.tension(self.calcium(t), 1.0))

    def timing(self, n: int = 2000) -> ActivationTiming:
        """Onset, time to peak and relaxation time of T_a, sampled at ``n`` points of a beat
        (for the 0D chambers and the elastance surrogate)."""
        c = self.calcium
        ts = c.onset + np.linspace(0.0, c.period, n, endpoint=False)
        ta = np.array([self.tension(t) for t in ts])
        base, top = ta.min(), ta.max()
        frac = (ta - base) / max(top - base, 1e-30)
        i_pk = int(np.argmax(ta))
        above = np.nonzero(frac > ACTIVE_FRACTION)[0]
        t_on = ts[above[0]] if len(above) else c.onset
        after = [i for i in range(i_pk, n) if frac[i] < ACTIVE_FRACTION]
        t_off = ts[after[0]] if after else ts[-1]
        return ActivationTiming(float(t_on), float(ts[i_pk] - t_on), float(t_off - ts[i_pk]),
                                float(top))
