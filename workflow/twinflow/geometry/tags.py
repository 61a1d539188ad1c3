"""Boundary and cell tag numbers of every mesh the package writes (carotid and LV).

One table, so the meshers, the solvers and the case files agree on what a tag means.

Carotid lumen (fluid) meshes, tubes and Y-branches:

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

Carotid vessel-wall (solid) meshes (``geometry/carotid/wall.py``):

============  =====  ==========================================================
INTERFACE     5      lumen surface, shared with the fluid WALL
OUTER         6      outer (adventitial) surface
WALL_END_CCA  7      end ring on the CCA inlet plane
WALL_END_ICA  8      end ring on the ICA outlet plane
WALL_END_ECA  9      end ring on the ECA outlet plane
SOLID         2      cell tag of the vessel-wall (solid) volume
============  =====  ==========================================================

Left-ventricle meshes (truncated ellipsoid and personalised LV, ``geometry/lv/``):

============  =====  ====  ====================================================
name          value  dim   meaning
============  =====  ====  ====================================================
BASE          1      2     basal cut plane (``z = z_base``)
ENDO          2      2     endocardium (cavity side)
EPI           3      2     epicardium
MYOCARDIUM    1      3     cell tag of the myocardial wall
ENDOPT        4      0     endocardial apex point ``(0, 0, -r_long_endo)``
EPIPT         5      0     epicardial apex point ``(0, 0, -r_long_epi)``
============  =====  ====  ====================================================

``OUTLET`` and ``OUTLET_ICA`` share the value 2 on purpose: a straight tube is the
one-outlet special case of the bifurcation, so settings written for one work on the other.
The solid (vessel-wall) tags have values of their own, so a boundary condition written for
the fluid's openings or wall can never apply to the solid mesh by accident; INTERFACE holds
the same vertices as the fluid's WALL. The LV values overlap the carotid ones (an LV mesh
never carries carotid tags); the LV names follow fenicsx-pulse / cardiac-geometries
(Finsberg et al.) so meshes and settings can be compared with theirs, with the long axis
``z`` and the apex towards ``-z`` as in Land et al. 2015 (Proc R Soc A 471:20150641).
"""

from __future__ import annotations

from typing import Final

# ------------------------------------------------------------------ carotid: fluid
INLET: Final[int] = 1
OUTLET: Final[int] = 2
OUTLET_ICA: Final[int] = 2
OUTLET_ECA: Final[int] = 3
WALL: Final[int] = 4
FLUID: Final[int] = 1

# ------------------------------------------------------------------ carotid: vessel wall
INTERFACE: Final[int] = 5
OUTER: Final[int] = 6
WALL_END_CCA: Final[int] = 7
WALL_END_ICA: Final[int] = 8
WALL_END_ECA: Final[int] = 9
SOLID: Final[int] = 2

# ------------------------------------------------------------------ left ventricle
BASE: Final[int] = 1
ENDO: Final[int] = 2
EPI: Final[int] = 3
MYOCARDIUM: Final[int] = 1
ENDOPT: Final[int] = 4
EPIPT: Final[int] = 5

#: Human-readable names of the carotid and tube facet tags, for logs and summaries.
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

#: Facet tags of a carotid lumen mesh by name (``mesh_quality.json`` ``facet_tags``).
LUMEN_FACET_TAGS: Final[dict[str, int]] = {
    "inlet": INLET, "outlet_ica": OUTLET_ICA, "outlet_eca": OUTLET_ECA, "wall": WALL}
#: Facet tags of a carotid vessel-wall mesh by name (``mesh_quality.json`` ``wall_mesh``).
WALL_MESH_FACET_TAGS: Final[dict[str, int]] = {
    "interface": INTERFACE, "outer": OUTER, "wall_end_cca": WALL_END_CCA,
    "wall_end_ica": WALL_END_ICA, "wall_end_eca": WALL_END_ECA}
#: Opening of each carotid branch: the facet tag of its end cap.
BRANCH_END_TAGS: Final[dict[str, int]] = {"cca": INLET, "ica": OUTLET_ICA, "eca": OUTLET_ECA}
#: Vessel-wall end ring on the plane of each fluid opening.
WALL_END_RING_TAGS: Final[dict[int, int]] = {
    INLET: WALL_END_CCA, OUTLET_ICA: WALL_END_ICA, OUTLET_ECA: WALL_END_ECA}

#: LV physical-group name -> (tag, dimension), as written into the ``.msh`` file.
LV_PHYSICAL_GROUPS: Final[dict[str, tuple[int, int]]] = {
    "BASE": (BASE, 2),
    "ENDO": (ENDO, 2),
    "EPI": (EPI, 2),
    "MYOCARDIUM": (MYOCARDIUM, 3),
    "ENDOPT": (ENDOPT, 0),
    "EPIPT": (EPIPT, 0),
}

#: Names of the mesh and tag grids inside every mesh XDMF file the package writes.
MESH_NAME: Final[str] = "mesh"
FACET_TAGS_NAME: Final[str] = "facet_tags"
CELL_TAGS_NAME: Final[str] = "cell_tags"
