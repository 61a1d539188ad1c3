r"""Volumetric behaviour: exactly incompressible (mixed u--p) or nearly incompressible.

* :class:`Incompressible`: a Lagrange multiplier :math:`p` (hydrostatic pressure) enforces
  :math:`J = 1`; :math:`\Pi = \int_{\Omega_0} \Psi(\mathbf F) - p\,(J - 1)\,dX`, discretised with
  Taylor--Hood P2--P1 (inf--sup stable).
* :class:`Compressible`: penalty :math:`\Psi_{vol} = \kappa\,(J\ln J - J + 1)`
  (convex, :math:`\Psi_{vol}(1) = \Psi_{vol}'(1) = 0`; used in fenicsx-pulse), displacement only.
  Large :math:`\kappa` approaches incompressibility (Land et al. 2015 found penalty and mixed
  approaches consistent, Proc R Soc A 471:20150641).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ufl

from twinflow.physics.heart.mechanics.kinematics import Jacobian


@dataclass(slots=True)
class Incompressible:
    """Mixed formulation; the pressure field is supplied by the solver."""

    pressure_degree: int = 1

    @property
    def is_mixed(self) -> bool:
        return True

    def strain_energy(self, F, p):
        return -p * (Jacobian(F) - 1)


@dataclass(slots=True)
class Compressible:
    """Penalty formulation with bulk-like parameter ``kappa`` (stress unit of the problem)."""

    kappa: Any = 1.0e3  # kPa: >> passive stiffness (~1-10 kPa), i.e. nearly incompressible

    @property
    def is_mixed(self) -> bool:
        return False

    def strain_energy(self, F, p=None):
        J = Jacobian(F)
        return self.kappa * (J * ufl.ln(J) - J + 1)
