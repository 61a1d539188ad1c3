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
FLUID         1      cell tag of the fluid (lumen) volume
============  =====  ==========================================================

``OUTLET`` and ``OUTLET_ICA`` share the value 2 on purpose: a straight tube is the
one-outlet special case of the bifurcation, so settings written for one work on the other.
"""

from __future__ import annotations

from typing import Final

INLET: Final[int] = 1
OUTLET: Final[int] = 2
OUTLET_ICA: Final[int] = 2
OUTLET_ECA: Final[int] = 3
WALL: Final[int] = 4

FLUID: Final[int] = 1

#: Human-readable names of the facet tags, for logs and summaries.
FACET_TAG_NAMES: Final[dict[int, str]] = {
    INLET: "inlet",
    OUTLET: "outlet",
    OUTLET_ECA: "outlet_eca",
    WALL: "wall",
}

#: Names of the mesh and tag grids inside every mesh XDMF file the package writes.
MESH_NAME: Final[str] = "mesh"
FACET_TAGS_NAME: Final[str] = "facet_tags"
CELL_TAGS_NAME: Final[str] = "cell_tags"
