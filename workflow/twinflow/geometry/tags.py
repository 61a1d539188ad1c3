"""Boundary and cell tag numbers shared by the meshers and the solvers.

One table for every mesh the package writes, so the Navier--Stokes solver, the meshers and the
case files agree on what a facet tag means:

============  =====  ==========================================================
name          value  meaning
============  =====  ==========================================================
INLET         1      inflow opening (CCA for a carotid bifurcation)
OUTLET        2      outflow opening of a tube
OUTLET_ICA    2      internal carotid artery outlet of a bifurcation
OUTLET_ECA    3      external carotid artery outlet of a bifurcation
WALL          4      vessel (lumen) wall
INTERFACE     5      solid wall mesh: lumen surface, shared with the fluid WALL
OUTER         6      solid wall mesh: outer (adventitial) surface
WALL_END_CCA  7      solid wall mesh: end ring on the CCA inlet plane
WALL_END_ICA  8      solid wall mesh: end ring on the ICA outlet plane
WALL_END_ECA  9      solid wall mesh: end ring on the ECA outlet plane
FLUID         1      cell tag of the fluid (lumen) volume
SOLID         2      cell tag of the vessel-wall (solid) volume
============  =====  ==========================================================

``OUTLET`` and ``OUTLET_ICA`` share the value 2 on purpose: a straight tube is the
one-outlet special case of the bifurcation, so settings written for one work on the other.
The solid (vessel-wall) tags have values of their own, so a boundary condition written for
the fluid's openings or wall can never apply to the solid mesh by accident; INTERFACE holds
the same vertices as the fluid's WALL (``geometry/carotid/wall.py``).
"""

from __future__ import annotations

from typing import Final

INLET: Final[int] = 1
OUTLET: Final[int] = 2
OUTLET_ICA: Final[int] = 2
OUTLET_ECA: Final[int] = 3
WALL: Final[int] = 4
INTERFACE: Final[int] = 5
OUTER: Final[int] = 6
WALL_END_CCA: Final[int] = 7
WALL_END_ICA: Final[int] = 8
WALL_END_ECA: Final[int] = 9

FLUID: Final[int] = 1
SOLID: Final[int] = 2

#: Human-readable names of the facet tags, for logs and summaries.
FACET_TAG_NAMES: Final[dict[int, str]] = {
    INLET: "inlet",
    OUTLET: "outlet",
    OUTLET_ECA: "outlet_eca",
    WALL: "wall",
    INTERFACE: "interface",
    OUTER: "outer",
    WALL_END_CCA: "wall_end_cca",
    WALL_END_ICA: "wall_end_ica",
    WALL_END_ECA: "wall_end_eca",
}

#: Names of the mesh and tag grids inside every mesh XDMF file the package writes.
MESH_NAME: Final[str] = "mesh"
FACET_TAGS_NAME: Final[str] = "facet_tags"
CELL_TAGS_NAME: Final[str] = "cell_tags"
