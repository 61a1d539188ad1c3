r"""Neo-Hookean material.

.. math:: \Psi = \frac{\mu}{2}\,(I_1 - 3)

(incompressible form; the volumetric part comes from :mod:`..compressibility`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twinflow.physics.heart.mechanics.invariants import I1


@dataclass(slots=True)
class NeoHookean:
    """Shear modulus ``mu`` (stress unit of the problem)."""

    mu: Any = 15.0  # kPa; a generic soft-tissue value for tests, not a fitted parameter

    def strain_energy(self, F, isochoric: bool = False):
        return 0.5 * self.mu * (I1(F, isochoric) - 3)
