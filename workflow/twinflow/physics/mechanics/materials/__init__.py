"""Passive hyperelastic materials: each a dataclass with ``strain_energy(F)``."""

from twinflow.physics.mechanics.materials.guccione import Guccione
from twinflow.physics.mechanics.materials.holzapfel_ogden import HolzapfelOgden
from twinflow.physics.mechanics.materials.neo_hookean import NeoHookean

__all__ = ["Guccione", "HolzapfelOgden", "NeoHookean"]
