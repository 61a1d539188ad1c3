r"""Active stress along the fibres, driven by a calcium transient.

Active stress (second Piola--Kirchhoff), as in Land et al. 2015 problem 3 and fenicsx-pulse:

.. math::
    \Psi_a = \frac{T_a}{2}\,(I_{4f} - 1) \;\Rightarrow\;
    \mathbf S_a = T_a\,\mathbf f_0\otimes\mathbf f_0,\quad
    \boldsymbol\sigma_a = \frac{T_a}{J}\,\mathbf f\otimes\mathbf f,\
    \mathbf f = \mathbf F\mathbf f_0.

Tension from Hunter, McCulloch & ter Keurs 1998 (Prog Biophys Mol Biol 69:289), steady-state
tension--calcium--stretch relation (the "HMT" model):

.. math::
    T_a = T_{ref}\,\big(1 + \beta_0(\lambda - 1)\big)\,
          \frac{[Ca]^{n}}{[Ca]^{n} + C_{50}^{n}},\quad
    n = n_{ref}\big(1 + \beta_1(\lambda-1)\big),\quad
    pC_{50} = pC_{50,ref}\big(1 + \beta_2(\lambda-1)\big),\ C_{50} = 10^{6 - pC_{50}}\,\mu M,

and the parametrised calcium transient of the same paper

.. math:: [Ca](t) = Ca_0 + (Ca_{max} - Ca_0)\,\frac{t}{\tau_{Ca}}\,e^{1 - t/\tau_{Ca}} .

Simplification (stated in outputs via :data:`SIMPLIFICATIONS`): the steady-state relation is
used instantaneously, i.e. the tropomyosin and cross-bridge kinetics (fading memory) of HMT
1998 are neglected, and ``lambda`` is taken from the previous converged state when
``stretch_dependence`` is evaluated explicitly by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import ufl

from twinflow.physics.heart.mechanics.invariants import I4

SIMPLIFICATIONS = (
    "active tension: HMT 1998 steady-state tension-calcium-stretch relation applied "
    "instantaneously (no tropomyosin / cross-bridge kinetics)",
)


@dataclass(slots=True)
class ActiveStress:
    """Active stress of magnitude ``Ta`` (a ``dolfinx.fem.Constant`` or Function) along ``f0``."""

    f0: Any
    Ta: Any

    def strain_energy(self, F):
        return 0.5 * self.Ta * (I4(F, self.f0) - 1)


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
