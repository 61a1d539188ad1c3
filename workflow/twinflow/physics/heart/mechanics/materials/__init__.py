"""Passive hyperelastic materials: each a dataclass with ``strain_energy(F)``."""

from twinflow.physics.heart.mechanics.materials.guccione import Guccione
from twinflow.physics.heart.mechanics.materials.holzapfel_ogden import HolzapfelOgden
from twinflow.physics.heart.mechanics.materials.neo_hookean import NeoHookean

__all__ = ["Guccione", "HolzapfelOgden", "NeoHookean"]
