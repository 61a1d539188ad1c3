r"""Boundary conditions of cardiac mechanics.

* :class:`Fixed`: :math:`\mathbf u = \mathbf 0` on a facet tag (Dirichlet).
* :class:`Sliding`: one displacement component fixed (e.g. :math:`u_z = 0` on the basal
  plane, free in-plane motion).
* :class:`RobinSpring`: distributed springs :math:`\mathbf t = -k\,\mathbf u` (or only along
  the reference normal, :math:`-k(\mathbf u\cdot\mathbf N)\mathbf N`): virtual work
  :math:`\int k\,\mathbf u\cdot\delta\mathbf u\,dA` (pericardium / base support).
* :class:`Pressure`: follower pressure :math:`p` on a surface, Cauchy traction
  :math:`-p\,\mathbf n`; pulled back with Nanson's formula
  :math:`\mathbf n\,da = J\mathbf F^{-T}\mathbf N\,dA`, virtual work
  :math:`\int p\,J\mathbf F^{-T}\mathbf N\cdot\delta\mathbf u\,dA`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ufl


@dataclass(frozen=True, slots=True)
class Fixed:
    tag: int


@dataclass(frozen=True, slots=True)
class Sliding:
    tag: int
    component: int = 2


@dataclass(slots=True)
class RobinSpring:
    tag: int
    stiffness: Any
    normal_only: bool = False

    def virtual_work(self, u, v, N, ds):
        if self.normal_only:
            return self.stiffness * ufl.inner(u, N) * ufl.inner(v, N) * ds(self.tag)
        return self.stiffness * ufl.inner(u, v) * ds(self.tag)


@dataclass(slots=True)
class Pressure:
    tag: int
    value: Any  # dolfinx.fem.Constant

    def virtual_work(self, F, v, N, ds):
        J = ufl.det(F)
        return self.value * ufl.inner(J * ufl.inv(F).T * N, v) * ds(self.tag)
