r"""Guccione, McCulloch, Waldman 1991 (J Biomech Eng 113:42) transversely isotropic law.

.. math::
    \Psi = \frac{C}{2}\left(e^{Q} - 1\right),\qquad
    Q = b_f E_{ff}^2 + b_t\left(E_{ss}^2 + E_{nn}^2 + 2E_{sn}^2\right)
        + 2 b_{fs}\left(E_{fs}^2 + E_{fn}^2\right),

with :math:`E_{ab} = \mathbf a_0\cdot\mathbf E\,\mathbf b_0` the Green--Lagrange strain in the
local fibre (f), sheet (s) and sheet-normal (n) basis. Defaults are the Land et al. 2015
(Proc R Soc A 471:20150641) problem 1/3 values C = 2 kPa, b_f = 8, b_t = 2, b_fs = 4.
With ``b_f = b_t = b_fs`` the law is isotropic and the fibre basis is not needed
(:math:`Q = b\,\mathbf E:\mathbf E`), as in Land problem 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ufl

from twinflow.physics.heart.mechanics.kinematics import (
    GreenLagrangeStrain,
    IsochoricDeformationGradient,
)


@dataclass(slots=True)
class Guccione:
    r"""Guccione law; transversely isotropic about ``f0`` (so ``s0``/``n0`` are not needed).

    Because the two transverse directions share ``b_t`` and ``b_fs``,
    :math:`E_{ss}^2+E_{nn}^2+2E_{sn}^2 = \mathbf E:\mathbf E - 2|\mathbf E\mathbf f_0|^2 + E_{ff}^2`
    and :math:`E_{fs}^2+E_{fn}^2 = |\mathbf E\mathbf f_0|^2 - E_{ff}^2`: only the fibre
    direction enters.
    """

    C: Any = 2.0  # kPa, Land et al. 2015 problems 1 and 3
    bf: Any = 8.0  # Land et al. 2015
    bt: Any = 2.0  # Land et al. 2015
    bfs: Any = 4.0  # Land et al. 2015
    f0: Any = None

    def is_isotropic(self) -> bool:
        vals = [self.bf, self.bt, self.bfs]
        return all(isinstance(v, (int, float)) for v in vals) and len(set(vals)) == 1

    def strain_energy(self, F, isochoric: bool = False):
        E = GreenLagrangeStrain(IsochoricDeformationGradient(F) if isochoric else F)
        EE = ufl.inner(E, E)
        if self.is_isotropic():
            Q = self.bf * EE
        else:
            if self.f0 is None:
                raise ValueError("anisotropic Guccione law needs the fibre field f0")
            Ef = E * self.f0
            E_ff = ufl.inner(self.f0, Ef)
            Ef2 = ufl.inner(Ef, Ef)
            Q = (self.bf * E_ff**2 + self.bt * (EE - 2 * Ef2 + E_ff**2)
                 + 2 * self.bfs * (Ef2 - E_ff**2))
        return 0.5 * self.C * (ufl.exp(Q) - 1)
