r"""Active stress along the fibres, driven by a calcium transient.

Active stress (second Piola--Kirchhoff), as in Land et al. 2015 problem 3 and fenicsx-pulse
(``beta0 = 0``, the tension independent of the fibre length):

.. math::
    \Psi_a = \frac{T_a}{2}\,(I_{4f} - 1) \;\Rightarrow\;
    \mathbf S_a = T_a\,\mathbf f_0\otimes\mathbf f_0,\quad
    \boldsymbol\sigma_a = \frac{T_a}{J}\,\mathbf f\otimes\mathbf f,\
    \mathbf f = \mathbf F\mathbf f_0.

Length-dependent tension (``beta0 > 0``; the :math:`\beta_0` term of Hunter, McCulloch &
ter Keurs 1998 below). With :math:`\lambda = \sqrt{I_{4f}} = |\mathbf F\mathbf f_0|` the fibre
stretch against the reference configuration of the model (its mesh) and
:math:`T_a = T_{ref} f([Ca])` the tension at reference stretch (a Constant the cycle sets each
step), the tension is :math:`T(\lambda) = T_a\,(1 + \beta_0(\lambda - 1))`. It enters through
a potential, so that the Newton Jacobian (UFL's derivative of the residual) stays consistent:

.. math::
    \Psi_a = T_a\Big[(1 - \beta_0)\,\frac{\lambda^2 - 1}{2}
             + \beta_0\,\frac{\lambda^3 - 1}{3}\Big],\qquad
    \frac{\partial\Psi_a}{\partial\lambda} = T_a\big((1-\beta_0)\lambda + \beta_0\lambda^2\big)
      = T_a\,\lambda\,\big(1 + \beta_0(\lambda - 1)\big) = \lambda\,T(\lambda).

Since :math:`\partial\lambda/\partial I_{4f} = 1/(2\lambda)` and
:math:`\partial I_{4f}/\partial\mathbf E = 2\,\mathbf f_0\otimes\mathbf f_0`,

.. math::
    \mathbf S_a = \frac{\partial\Psi_a}{\partial\mathbf E}
      = \frac{\lambda T(\lambda)}{2\lambda}\,2\,\mathbf f_0\otimes\mathbf f_0
      = T(\lambda)\,\mathbf f_0\otimes\mathbf f_0,\qquad
    \boldsymbol\sigma_a = \frac{T(\lambda)}{J}\,\mathbf f\otimes\mathbf f,\quad
    \sigma_{a,ff} = \frac{\mathbf f\cdot\boldsymbol\sigma_a\mathbf f}{|\mathbf f|^2}
      = \frac{T(\lambda)\,\lambda^2}{J},

the form above at :math:`\lambda = 1`; :math:`\beta_0 = 0` gives
:math:`\Psi_a = T_a(\lambda^2 - 1)/2 = T_a(I_{4f} - 1)/2` exactly. The factor
:math:`1 + \beta_0(\lambda - 1)` is negative below :math:`\lambda_{min} = 1 - 1/\beta_0`
(0.31 for :math:`\beta_0 = 1.45`, 69 % fibre shortening, never reached by a beating LV); it is
clamped at 0 there by evaluating :math:`\Psi_a` at :math:`\max(\lambda, \lambda_{min})`:
since :math:`\partial\Psi_a/\partial\lambda = 0` at :math:`\lambda_{min}` the clamped potential
is :math:`C^1` (its stress continuous, zero below :math:`\lambda_{min}`; only the tangent
jumps there).

Velocity dependence (``velocity``; a simplification of the HMT 1998 fading-memory law). HMT
1998 scale the tension by :math:`(1 + aQ)/(1 - Q)` (shortening), :math:`Q = \sum_i A_i
\int e^{-\alpha_i(t-\tau)}\dot\lambda(\tau)\,d\tau`; at steady shortening
:math:`Q = \dot\lambda\sum_i A_i/\alpha_i` and, linearised about :math:`Q = 0`, the factor
is :math:`1 + c_0\dot\lambda` with :math:`c_0 = (1 + a)\sum_i A_i/\alpha_i = 0.407` s
(:data:`HMT_VELOCITY_COEFFICIENT`; :math:`a = 0.35`, :math:`A = (-29, 138, 129)`,
:math:`\alpha = (0.03, 0.13, 0.625)` 1/ms). The memory is dropped (quasi-steady: the
:math:`\alpha_1^{-1}` = 33 ms time constant is short against a 0.2-0.3 s ejection), the
hyperbola linearised (the tension vanishes at :math:`\dot\lambda = -1/c_0 = -2.5` /s, HMT's
hyperbola at -9.5 /s), lengthening uses the same line. :math:`\dot\lambda` is the backward
difference :math:`(\lambda - \lambda_p)/\Delta t` against the stretch :math:`\lambda_p` of
the last converged step, held fixed during the step's Newton solve (a Function at the
quadrature points; :class:`Velocity`), so the step has a potential again, with
:math:`k = c_0/\Delta t` (``Velocity.rate``, 0 for quasi-static loading) and
:math:`T(\mu)/T_a = (g_0 + g_1\mu)(h_0 + h_1\mu)`, :math:`g_0 = 1 - \beta_0`,
:math:`g_1 = \beta_0`, :math:`h_0 = 1 - k\lambda_p`, :math:`h_1 = k`:

.. math::
    \Psi_a = T_a\int_1^{\lambda}\mu\,\frac{T(\mu)}{T_a}\,d\mu
      = T_a\Big[g_0h_0\frac{\lambda^2 - 1}{2} + (g_0h_1 + g_1h_0)\frac{\lambda^3 - 1}{3}
        + g_1h_1\frac{\lambda^4 - 1}{4}\Big],

the same :math:`\partial\Psi_a/\partial\lambda = \lambda T` and
:math:`\mathbf S_a = T\,\mathbf f_0\otimes\mathbf f_0` as above (k = 0: the length law).
Both factors are clamped at 0 by evaluating :math:`\Psi_a` at
:math:`\max(\lambda, \lambda_{min}, \lambda_p - 1/k)` (:math:`C^1` as above).

Tension from Hunter, McCulloch & ter Keurs 1998 (Prog Biophys Mol Biol 69:289), steady-state
tension--calcium--stretch relation (the "HMT" model):

.. math::
    T_a = T_{ref}\,\big(1 + \beta_0(\lambda - 1)\big)\,
          \frac{[Ca]^{n}}{[Ca]^{n} + C_{50}^{n}},\quad
    n = n_{ref}\big(1 + \beta_1(\lambda-1)\big),\quad
    pC_{50} = pC_{50,ref}\big(1 + \beta_2(\lambda-1)\big),\ C_{50} = 10^{6 - pC_{50}}\,\mu M,

and the parametrised calcium transient of the same paper

.. math:: [Ca](t) = Ca_0 + (Ca_{max} - Ca_0)\,\frac{t}{\tau_{Ca}}\,e^{1 - t/\tau_{Ca}} .

Simplifications (stated in outputs via :data:`SIMPLIFICATIONS`): the steady-state relation
is used instantaneously, i.e. the tropomyosin and cross-bridge kinetics of HMT 1998 are
neglected and their fading memory enters only through the quasi-steady linear force-velocity
factor above; in the 3D LV only the :math:`\beta_0` (length) term acts on the stretch:
the calcium sensitivity (:math:`n`, :math:`C_{50}` through :math:`\beta_1, \beta_2`) is
evaluated at reference stretch (:meth:`HunterMcCullochTerKeurs1998.tension` with ``stretch=1``
gives :math:`T_a`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import ufl

from twinflow.physics.heart.mechanics.invariants import I4

SIMPLIFICATIONS = (
    "active tension: HMT 1998 steady-state tension-calcium relation applied "
    "instantaneously (no tropomyosin / cross-bridge kinetics)",
    "active tension length dependence: the HMT 1998 beta0 factor 1 + beta0 (lambda - 1) on "
    "the fibre stretch against the model's reference configuration (the mesh); calcium "
    "sensitivity (n, C50: beta1, beta2) at reference stretch; the transverse share (if any) "
    "without length or velocity dependence",
    "active tension velocity dependence: linear factor 1 + c0 dlambda/dt (c0 = 0.407 s, the "
    "HMT 1998 fading memory linearised at steady shortening, no memory), dlambda/dt the "
    "backward difference against the last converged step",
)


#: Linear force-velocity coefficient (s) of the HMT 1998 fading-memory law at steady
#: shortening: ``Q = sum(A_i / alpha_i) * dlambda/dt``, ``T/T0 = (1 + a Q)/(1 - Q)``, whose
#: slope at Q = 0 is 1 + a; A = (-29, 138, 129), alpha = (0.03, 0.13, 0.625) 1/ms, a = 0.35
#: (Hunter et al. 1998, as in Niederer, Hunter & Smith 2006): (1 + a) * 301.2 ms = 0.4067 s,
#: rounded (the case default, ``physics.activation.velocity_dependence``).
HMT_VELOCITY_COEFFICIENT = 0.407


def length_dependence(activation: dict[str, Any]) -> float:
    """``beta0`` of a canonical case's ``physics.activation`` (``length_dependence``; HMT
    1998's 1.45 when absent; 0: tension independent of the fibre length)."""
    return float(activation.get("length_dependence", HunterMcCullochTerKeurs1998().beta0))


def velocity_dependence(activation: dict[str, Any]) -> float:
    """``c0`` (s) of a canonical case's ``physics.activation`` (``velocity_dependence``;
    :data:`HMT_VELOCITY_COEFFICIENT` when absent; 0: no velocity dependence)."""
    return float(activation.get("velocity_dependence", HMT_VELOCITY_COEFFICIENT))


@dataclass(slots=True)
class Velocity:
    """What the force-velocity factor ``1 + c0 (lambda - lambda_prev)/dt`` needs: ``rate``
    a Constant holding ``c0/dt`` (1/1; 0 for quasi-static loading) and ``previous`` the fibre
    stretch at the last converged time (a Function at the points where the form is
    evaluated)."""

    rate: Any
    previous: Any


@dataclass(slots=True)
class ActiveStress:
    """Active stress along ``f0``: the tension ``Ta`` (a ``dolfinx.fem.Constant``, Function or
    UFL expression; its value at reference stretch) times ``1 + beta0 (lambda - 1)``
    and, with ``velocity``, ``1 + c0 dlambda/dt`` (see the module docstring; ``beta0 = 0``
    and no velocity: independent of the fibre length, as in Land et al. 2015)."""

    f0: Any
    Ta: Any
    beta0: float = 0.0
    velocity: Velocity | None = None

    def strain_energy(self, F):
        i4 = I4(F, self.f0)
        if self.beta0 == 0.0 and self.velocity is None:
            return 0.5 * self.Ta * (i4 - 1)
        b = float(self.beta0)
        lam = ufl.sqrt(i4)
        # T(mu)/Ta = (g0 + g1 mu)(h0 + h1 mu); Psi = Ta * int_1^lam mu T(mu)/Ta dmu
        g0, g1 = 1.0 - b, b
        h0, h1 = 1.0, 0.0
        floor = 1.0 - 1.0 / b if b > 1.0 else None  # the length factor's zero
        if self.velocity is not None:
            k, lam_p = self.velocity.rate, self.velocity.previous
            h0, h1 = 1.0 - k * lam_p, k
            # the velocity factor's zero (shortening faster than 1/c0): lam_p - dt/c0
            zero_h = lam_p - 1.0 / ufl.max_value(k, 1e-12)
            floor = zero_h if floor is None else ufl.max_value(zero_h, floor)
        if floor is not None:  # clamp both factors at 0 (C^1, see the module docstring)
            lam = ufl.max_value(lam, floor)
        return self.Ta * (g0 * h0 * (lam**2 - 1) / 2 + (g0 * h1 + g1 * h0) * (lam**3 - 1) / 3
                          + g1 * h1 * (lam**4 - 1) / 4)

    def tension(self, stretch: float | np.ndarray, ta: float = 1.0,
                stretch_rate: float | np.ndarray = 0.0, c0: float = 0.0
                ) -> float | np.ndarray:
        """The fibre tension of this law (unit of ``ta``) at fibre ``stretch`` and
        ``stretch_rate`` (1/s, with the coefficient ``c0`` in s): ``ta * max(1 + beta0
        (stretch - 1), 0) * max(1 + c0 stretch_rate, 0)``, the ``S_a`` coefficient of
        ``f0 x f0``."""
        lam = np.asarray(stretch, dtype=float)
        out = (ta * np.maximum(1.0 + self.beta0 * (lam - 1.0), 0.0)
               * np.maximum(1.0 + c0 * np.asarray(stretch_rate, dtype=float), 0.0))
        return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True, slots=True)
class CalciumTransient:
    """HMT 1998 calcium transient; concentrations in µM, times in s."""

    ca0: float = 0.01  # µM, diastolic [Ca], Hunter et al. 1998
    ca_max: float = 1.0  # µM, peak [Ca], Hunter et al. 1998
    tau_ca: float = 0.06  # s, time to peak, Hunter et al. 1998
    t_onset: float = 0.0  # s, start of the transient within the beat (model choice)

    def __call__(self, t: float | np.ndarray) -> float | np.ndarray:
        s = np.maximum(np.asarray(t, dtype=float) - self.t_onset, 0.0) / self.tau_ca
        ca = self.ca0 + (self.ca_max - self.ca0) * s * np.exp(1.0 - s)
        return float(ca) if np.ndim(ca) == 0 else ca


@dataclass(frozen=True, slots=True)
class HunterMcCullochTerKeurs1998:
    """Steady-state tension (same stress unit as ``t_ref``).

    Parameters from the HMT 1998 model as encoded in the Physiome Model Repository
    (``hunter_mcculloch_terkeurs_1998``): T_ref = 100 kPa, beta0 = 1.45, n_ref = 6.9,
    beta1 = 1.95, pC50_ref = 6.2, beta2 = 0.31. ``t_ref`` is often rescaled to reach the
    60-150 kPa peak tensions of organ-level models (reference-data.md).
    """

    t_ref: float = 100.0  # kPa, Hunter et al. 1998
    beta0: float = 1.45  # Hunter et al. 1998
    n_ref: float = 6.9  # Hunter et al. 1998
    beta1: float = 1.95  # Hunter et al. 1998
    pc50_ref: float = 6.2  # Hunter et al. 1998 (C50 = 0.63 µM)
    beta2: float = 0.31  # Hunter et al. 1998

    def tension(self, ca_um: float | np.ndarray, stretch: float | np.ndarray = 1.0):
        lam = np.asarray(stretch, dtype=float)
        ca = np.maximum(np.asarray(ca_um, dtype=float), 0.0)
        n = self.n_ref * (1.0 + self.beta1 * (lam - 1.0))
        pc50 = self.pc50_ref * (1.0 + self.beta2 * (lam - 1.0))
        c50 = 10.0 ** (6.0 - pc50)  # µM
        t0 = self.t_ref * np.maximum(1.0 + self.beta0 * (lam - 1.0), 0.0)
        out = t0 * ca**n / (ca**n + c50**n)
        return float(out) if np.ndim(out) == 0 else out

    def tension_ufl(self, ca_um, stretch):
        """The same relation as a UFL expression (``ca_um`` a Constant, ``stretch`` UFL)."""
        n = self.n_ref * (1.0 + self.beta1 * (stretch - 1.0))
        pc50 = self.pc50_ref * (1.0 + self.beta2 * (stretch - 1.0))
        c50 = ufl.exp((6.0 - pc50) * math.log(10.0))
        t0 = self.t_ref * (1.0 + self.beta0 * (stretch - 1.0))
        return t0 * ca_um**n / (ca_um**n + c50**n)
