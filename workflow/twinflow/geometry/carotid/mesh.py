"""``mesh_carotid``: tetrahedral meshes of the reconstructed lumen and vessel wall (gmsh → XDMF).

The lumen is built directly from the parametric model ``model.json``
(:class:`~.model.BifurcationModel`) with gmsh's OpenCASCADE kernel, not from the faceted
marching-cubes STL: a faceted surface had to be re-parametrised by ``classifySurfaces``,
which fails on non-manifold triangulations ("one edge is incident to 4 triangles") and
left slivers (min dihedral 1.45°).

1. Each branch is a ruled loft (``addThruSections``) through its lumen circles (radius
   :math:`r_b(s)`, centre shifted by :math:`o_b(s)` along the in-plane normal) sampled every
   ``SECTION_STEP_M``; the open ends get straight flow extensions of
   ``geometry.flow_extension`` × the end diameter with the end section (constant). The CCA
   is closed at the bifurcation by a ruled dome of circles of radius :math:`R\\cos\\theta`
   at :math:`s = R\\sin\\theta` — the rounded end of the model's clamped level set.
   Sections are two half circles with their seams at 45° between the bifurcation plane and
   its normal, so no face is periodic and no seam lies on an intersection curve. If gmsh
   still fails on a trimmed face ("Impossible to mesh periodic surface"), the build is
   retried with another seam angle and finally with 32-gon sections (``MESH_ATTEMPTS``;
   the failures are listed in ``mesh_quality.json``).
2. Junction (simplification, stated in ``mesh_quality.json``): over the first CCA radius
   :math:`R` of each daughter, its radius is limited to :math:`0.85R` at s = 0 and its
   lumen offset is ramped in linearly, :math:`w = \\min(1, s/R)`,
   :math:`r' = w r + (1 - w)\\min(r, 0.85R)`, :math:`o' = w o`: daughters of the same radius
   as the CCA would otherwise touch it tangentially at the side walls, where boolean
   operations and meshers produce degenerate faces. The changed region lies inside the
   CCA dome and at most one radius downstream.
3. The three solids are fused (OCC boolean union) into one closed, non-self-intersecting
   solid; the caps are the planar faces on the branch end planes → facet tags INLET (CCA),
   OUTLET_ICA, OUTLET_ECA, every other face WALL, cell tag FLUID (:mod:`twinflow.geometry.tags`).
4. Size field (``setSizeCallback``): the local lumen radius of the nearest centreline sample
   divided by ``radius_factor`` (case default radius/6); ``mesh.cell_size`` caps it (a
   constant size where the lumen is wide), never above radius/3 so a stenosis stays
   resolved. Two stages (:func:`_generate`): the OCC surface is meshed at half the size
   (its ~200 wall faces include slivers where loft sections meet the junction curves),
   the wall triangles are Taubin-smoothed, and the triangulation is re-parametrised
   (``classifySurfaces`` + ``createGeometry``) and remeshed with the size field, so the
   final mesh no longer has to resolve the sliver faces (demo: shortest edge 0.029 →
   0.197 mm, min dihedral 8.9° → 12.0°). Surfaces: MeshAdapt; volume: Delaunay, then gmsh's
   and Netgen's optimisers (``Mesh.Optimize``, ``optimize("Netgen")``).
5. Written with :func:`twinflow.geometry.mesh_io.write_tagged_mesh` (``mesh.xdmf`` + ``.h5``
   with ``mesh``, ``facet_tags``, ``cell_tags``, readable on any number of ranks), gmsh run
   in a :func:`~twinflow.geometry.gmsh_session.gmsh_session`.
6. Quality (``mesh_quality.json``, :class:`twinflow.artifacts.mesh.CarotidMeshQuality`;
   measures of :mod:`twinflow.geometry.quality`): minimum/percentile dihedral angles, signed
   volumes (no inverted cells), gmsh SICN and gamma, shortest edge and its smallest ratio to
   the size field, mesh volume vs the watertight OCC solid, meshing time.
7. Vessel wall (solid) mesh ``wall_mesh.xdmf`` (+ ``.h5``, same grid names): prism layers
   extruded from the fluid mesh's WALL triangles to the model's outer wall, so the
   fluid–solid interface shares the fluid's vertices (:mod:`.wall`); cell tag SOLID, facet
   tags INTERFACE, OUTER, WALL_END_CCA/ICA/ECA. Built on rank 0 from the gmsh fluid mesh,
   passed through a discrete gmsh model and ``model_to_mesh`` like the fluid mesh; its
   quality is the ``wall_mesh`` section of ``mesh_quality.json``.

Linear (4-node) tetrahedra.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from twinflow.artifacts.mesh import CarotidMeshQuality, WallMeshQuality
from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.geometry.carotid.model import BifurcationModel
from twinflow.geometry.carotid.wall import SIMPLIFICATIONS as WALL_SIMPLIFICATIONS
from twinflow.geometry.carotid.wall import WALL_LAYERS, WallMesh, extrude_wall, wall_quality
from twinflow.geometry.gmsh_session import gmsh_session
from twinflow.geometry.mesh_io import (
    MeshArrays,
    arrays_to_gmsh,
    gmsh_mesh_arrays,
    gmsh_node_index,
    gmsh_to_dolfinx,
    write_tagged_mesh,
)
from twinflow.geometry.quality import cell_quality, edge_quality, gmsh_element_quality
from twinflow.io import read_json
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

#: Cells per local radius (case default: radius/6, see twinflow.case.models.Mesh).
DEFAULT_RADIUS_FACTOR = 6.0
#: Coarsest size allowed by ``mesh.cell_size``: local radius / 3 (a stenosis stays resolved).
MIN_CELLS_PER_RADIUS = 3.0
#: Spacing of the loft sections along each branch (m); the profiles are sampled at 0.25 mm.
SECTION_STEP_M = 1.0e-3
#: Daughter radius at the bifurcation point, fraction of the CCA end radius (module docstring).
JUNCTION_RADIUS_FRACTION = 0.85
#: Dome angles (deg) of the CCA end sections.
DOME_ANGLES_DEG = (20.0, 40.0, 60.0, 75.0)
SIMPLIFICATIONS = [
    "lumen lofted through circles every 1 mm (ruled between sections)",
    "daughters limited to 0.85 x CCA radius at the bifurcation point, ramped to the model "
    "profile over one CCA radius; CCA closed by a ruled dome",
    "straight flow extensions with the constant end section",
    "wall remeshed on a Taubin-smoothed faceting of the lofted surface at half the cell size "
    "(rounds the loft kinks and junction creases; mesh volume ~1.5 % below the OCC solid)",
]


def branch_sections(model: BifurcationModel, name: str, extend: float,
                    step: float = SECTION_STEP_M) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stations ``s``, lumen radii and offsets of the loft of branch ``name`` (docstring 1-2)."""
    b = model.branches[name]
    cca = model.branches["cca"]
    big_r = float(np.interp(0.0, cca.s, cca.lumen_radius))
    n = max(2, int(np.ceil((b.s_max - b.s_min) / step)) + 1)
    s = np.linspace(b.s_min, b.s_max, n)
    _, r, off = b.at(s)
    if name == "cca":
        s_ext = np.array([b.s_min - extend]) if extend > 0 else np.empty(0)
        s = np.concatenate([s_ext, s])
        r = np.concatenate([np.full(len(s_ext), r[0]), r])
        off = np.concatenate([np.full(len(s_ext), off[0]), off])
        th = np.deg2rad(np.asarray(DOME_ANGLES_DEG))
        s = np.concatenate([s, r[-1] * np.sin(th)])
        off = np.concatenate([off, np.full(len(th), off[-1])])
        r = np.concatenate([r, r[-1] * np.cos(th)])
        return s, r, off
    w = np.clip(s / big_r, 0.0, 1.0)
    r = w * r + (1.0 - w) * np.minimum(r, JUNCTION_RADIUS_FRACTION * big_r)
    off = w * off
    if extend > 0:
        s = np.concatenate([s, [b.s_max + extend]])
        r = np.concatenate([r, [r[-1]]])
        off = np.concatenate([off, [off[-1]]])
    return s, r, off


def build_occ_lumen(gmsh: Any, model: BifurcationModel, extend: dict[str, float],
                    seam_deg: float = 45.0, step: float = SECTION_STEP_M, sides: int = 0
                    ) -> tuple[int, dict[int, list[int]]]:
    """Fused OCC lumen solid (docstring 1-3); returns its tag and faces per facet tag.

    ``seam_deg``: angle of the circle seams from the bifurcation plane; ``step``: section
    spacing; ``sides`` > 0: regular polygons instead of circles (the retries of
    :func:`_mesh_gmsh` vary these).
    """
    occ = gmsh.model.occ
    solids = []
    for name, b in model.branches.items():
        s, r, off = branch_sections(model, name, extend.get(name, 0.0), step)
        loops = []
        # circle seams between the bifurcation plane (flow-divider crest) and its normal
        # (where equal tubes touch): away from the intersection curves
        a = np.deg2rad(seam_deg)
        seam = np.cos(a) * b.normal + np.sin(a) * np.cross(b.direction, b.normal)
        seam /= np.linalg.norm(seam)
        for si, ri, oi in zip(s, r, off, strict=True):
            c = si * b.direction + oi * b.normal
            if sides:
                # regular polygon (inscribed; no curved face at all)
                e2 = np.cross(b.direction, seam)
                ang = 2.0 * np.pi * np.arange(sides) / sides
                pts = [occ.addPoint(*(c + ri * (np.cos(a) * seam + np.sin(a) * e2)))
                       for a in ang]
                lines = [occ.addLine(pts[i], pts[(i + 1) % sides]) for i in range(sides)]
                loops.append(occ.addCurveLoop(lines))
                continue
            # two half circles: no face of the loft is periodic (gmsh cannot always
            # mesh trimmed periodic faces: "Impossible to mesh periodic surface")
            arcs = [occ.addCircle(*c, float(ri), angle1=a0, angle2=a0 + np.pi,
                                  zAxis=b.direction.tolist(), xAxis=seam.tolist())
                    for a0 in (0.0, np.pi)]
            loops.append(occ.addCurveLoop(arcs))
        out = occ.addThruSections(loops, makeSolid=True, makeRuled=True)
        solids += [(3, t) for d, t in out if d == 3]
    # keep the half-circle faces apart (unifying them would give periodic faces again)
    gmsh.option.setNumber("Geometry.OCCUnionUnify", 0)
    fused, _ = occ.fuse(solids[:1], solids[1:])
    occ.synchronize()
    vols = [t for d, t in gmsh.model.getEntities(3)]
    if len(vols) != 1 or len(fused) != 1:
        raise InputError(f"model.json: the OCC union of the branches gave {len(vols)} solids")
    size = max(float(b.s_max - b.s_min) for b in model.branches.values())
    groups: dict[int, list[int]] = {t: [] for t in (*tags.BRANCH_END_TAGS.values(), tags.WALL)}
    for _, face in gmsh.model.getBoundary([(3, vols[0])], oriented=False):
        found = tags.WALL
        if gmsh.model.getType(2, face) == "Plane":
            com = np.array(gmsh.model.occ.getCenterOfMass(2, face))
            for name, b in model.branches.items():
                c, n = b.end()
                c = c + extend.get(name, 0.0) * n
                if abs((com - c) @ n) < 1e-6 * size and np.linalg.norm(com - c) < \
                        2.0 * float(b.lumen_radius.max()):
                    found = tags.BRANCH_END_TAGS[name]
        groups[found].append(face)
    for t, faces in groups.items():
        if not faces:
            raise InputError(f"model.json: the OCC lumen has no face for facet tag {t}")
    return vols[0], groups


def _size_tree(model: BifurcationModel, extend: dict[str, float]
               ) -> tuple[cKDTree, np.ndarray]:
    pts, rad = [], []
    for name, b in model.branches.items():
        s, r, off = branch_sections(model, name, extend.get(name, 0.0), step=0.25e-3)
        pts.append(s[:, None] * b.direction + off[:, None] * b.normal)
        rad.append(r)
    return cKDTree(np.concatenate(pts)), np.concatenate(rad)


#: Size of the first, geometry-only surface mesh relative to the target size (stage 1 of
#: :func:`_generate`): finer than the final mesh so that its facets follow the curved OCC
#: surface closely (the remeshed wall lies on these facets).
STAGE1_SIZE_FRACTION = 0.5
#: Dihedral angle between neighbouring triangles above which ``classifySurfaces`` keeps an
#: edge as a feature curve: the 90 degree cap rims, not the shallow junction creases.
FEATURE_ANGLE_DEG = 40.0


def _gmsh_options(gmsh: Any) -> None:
    """Size and algorithm options of the lumen mesh (threads and seed: the gmsh session)."""
    for key, val in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                     ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.Algorithm", 1),
                     ("Mesh.Algorithm3D", 1), ("Mesh.Optimize", 1)):
        gmsh.option.setNumber(key, val)


def _cap_tag(model: BifurcationModel, extend: dict[str, float], points: np.ndarray) -> int:
    """Facet tag of a remeshed surface: the cap whose end plane holds all its nodes, else WALL."""
    size = max(float(b.s_max - b.s_min) for b in model.branches.values())
    for name, b in model.branches.items():
        c, n = b.end()
        c = c + extend.get(name, 0.0) * n
        if (np.abs((points - c) @ n).max() < 1e-6 * size
                and np.linalg.norm(points - c, axis=1).max() < 2.0 * float(b.lumen_radius.max())):
            return tags.BRANCH_END_TAGS[name]
    return tags.WALL


#: Taubin smoothing of the stage-1 wall (iterations, pass band; Taubin 1995, SIGGRAPH 95:351,
#: as in VMTK's ``vmtksurfacesmoothing``): rounds the creases where the lofts meet.
SMOOTHING_ITERATIONS = 60
SMOOTHING_PASS_BAND = 0.05


def _smooth_wall(node_tags: np.ndarray, points: np.ndarray, wall_triangles: np.ndarray
                 ) -> np.ndarray:
    """Node coordinates (flat) with the wall nodes Taubin-smoothed; the rims of the wall
    (shared with the caps) and the caps stay fixed. ``wall_triangles``: gmsh node tags."""
    import pyvista

    used, inverse = np.unique(gmsh_node_index(node_tags)[wall_triangles], return_inverse=True)
    faces = np.hstack([np.full((len(wall_triangles) // 3, 1), 3),
                       inverse.reshape(-1, 3)]).ravel()
    surface = pyvista.PolyData(points[used], faces)
    smooth = surface.smooth_taubin(n_iter=SMOOTHING_ITERATIONS, pass_band=SMOOTHING_PASS_BAND,
                                   boundary_smoothing=False, feature_smoothing=False,
                                   non_manifold_smoothing=False, normalize_coordinates=True)
    out = points.copy()
    out[used] = np.asarray(smooth.points)
    return out.ravel()


def _generate(gmsh: Any, model: BifurcationModel, extend: dict[str, float], size_of: Any,
              seam_deg: float, step: float, sides: int) -> float:
    """OCC lumen, surface remeshing, physical groups, 3D mesh; returns the solid's volume.

    Two stages. (1) The fused OCC solid is meshed on its surface only, at
    ``STAGE1_SIZE_FRACTION`` of the target size: this mesh must follow every OCC face, and
    the union of 1 mm ruled lofts has ~200 wall faces whose section circles cut the junction
    curves into slivers of faces (edges down to 0.03 mm, cells of 0.1 mm in a 1.2 mm mesh at
    the daughter/CCA crease, where the cell Courant numbers of the flow solve peaked). The
    wall triangles are Taubin-smoothed (:func:`_smooth_wall`). (2) Its triangles
    become one discrete model; gmsh's ``classifySurfaces`` keeps only the sharp feature
    curves (the cap rims, ``FEATURE_ANGLE_DEG``) and splits the wall into parametrisable
    patches, ``createGeometry`` fits them, and the wall, caps and volume are remeshed with the
    size field (the STL remeshing recipe of gmsh's tutorial t13). Caps are recognised by
    their nodes lying on a branch end plane. The wall now lies on the stage-1 facets (chord
    error of half the cell size: the mesh volume is ~1-2 % below the OCC solid, reported in
    ``mesh_quality.json``).
    """
    vol, groups = build_occ_lumen(gmsh, model, extend, seam_deg, step, sides)
    solid_volume = float(gmsh.model.occ.getMass(3, vol))
    _gmsh_options(gmsh)
    gmsh.model.mesh.setSizeCallback(
        lambda dim, tag, x, y, z, lc: STAGE1_SIZE_FRACTION * size_of(x, y, z))
    gmsh.model.mesh.generate(2)
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    triangles = {t: np.concatenate([np.asarray(gmsh.model.mesh.getElements(2, face)[2][0],
                                               np.int64) for face in faces])
                 for t, faces in groups.items()}
    coords = _smooth_wall(node_tags, coords.reshape(-1, 3), triangles[tags.WALL])
    name = gmsh.model.getCurrent()
    gmsh.model.remove()
    gmsh.model.add(name)
    surface = gmsh.model.addDiscreteEntity(2)
    gmsh.model.mesh.addNodes(2, surface, node_tags, coords)
    gmsh.model.mesh.addElementsByType(surface, 2, [], np.concatenate(list(triangles.values())))
    gmsh.model.mesh.removeDuplicateNodes()
    gmsh.model.mesh.classifySurfaces(math.radians(FEATURE_ANGLE_DEG), True, True, math.pi)
    gmsh.model.mesh.createGeometry()
    faces = [t for _, t in gmsh.model.getEntities(2)]
    by_tag: dict[int, list[int]] = {t: [] for t in (*tags.BRANCH_END_TAGS.values(), tags.WALL)}
    for face in faces:
        _, xyz, _ = gmsh.model.mesh.getNodes(2, face, includeBoundary=True)
        by_tag[_cap_tag(model, extend, xyz.reshape(-1, 3))].append(face)
    for t, found in by_tag.items():
        if not found:
            raise InputError(f"model.json: the remeshed lumen has no face for facet tag {t}")
    loop = gmsh.model.geo.addSurfaceLoop(faces)
    volume = gmsh.model.geo.addVolume([loop])
    gmsh.model.geo.synchronize()
    gmsh.model.addPhysicalGroup(3, [volume], tags.FLUID, name="fluid")
    names = {t: name for name, t in tags.LUMEN_FACET_TAGS.items()}
    for t, found in by_tag.items():
        gmsh.model.addPhysicalGroup(2, found, t, name=names[t])
    gmsh.model.mesh.setSizeCallback(lambda dim, tag, x, y, z, lc: size_of(x, y, z))
    gmsh.model.mesh.generate(3)
    gmsh.model.mesh.optimize("Netgen")
    return solid_volume


#: (seam angle deg, section step m) tried in turn: OCC/gmsh occasionally fail to mesh a small
#: trimmed face of the union ("Impossible to mesh periodic surface"); a different seam or
#: section placement changes the face layout.
#: Last resort: 32-gon sections (no curved faces; area of the section 0.6 % low).
MESH_ATTEMPTS: tuple[tuple[float, float, int], ...] = ((45.0, 1.0e-3, 0), (20.0, 1.0e-3, 0),
                                                       (45.0, 1.0e-3, 32))


def _mesh_gmsh(gmsh: Any, model: BifurcationModel, extend: dict[str, float],
               size_of: Any) -> tuple[dict[str, Any], MeshArrays]:
    """Mesh the lumen (retrying ``MESH_ATTEMPTS``); its quality (``mesh_quality.json``) and
    arrays (for the wall extrusion)."""
    t0 = time.perf_counter()
    errors = []
    for seam_deg, step, sides in MESH_ATTEMPTS:
        try:
            solid_volume = _generate(gmsh, model, extend, size_of, seam_deg, step, sides)
            break
        except Exception as err:  # gmsh raises bare Exception
            errors.append(f"seam {seam_deg:g} deg, step {step * 1e3:g} mm, "
                          f"{sides or 'circular'} sections: {err}")
            log.warning("lumen meshing attempt failed: %s", errors[-1])
            gmsh.model.remove()
            gmsh.model.add("carotid")
    else:
        raise InputError("model.json: gmsh could not mesh the lumen: " + "; ".join(errors))
    fluid = gmsh_mesh_arrays(gmsh)
    quality = {**cell_quality(fluid.points, fluid.tets),
               **edge_quality(fluid.points, fluid.tets, size_of),
               **gmsh_element_quality(gmsh)}
    mesh_volume = quality["mesh_volume_m3"]
    quality.update({"solid_volume_m3": solid_volume,
                    "volume_relative_difference": abs(mesh_volume - solid_volume) / solid_volume,
                    "meshing_time_s": time.perf_counter() - t0, "meshing_retries": errors})
    return quality, fluid


def _wall_arrays(wm: WallMesh) -> MeshArrays:
    """The wall mesh with its facets grouped by tag (increasing)."""
    return MeshArrays(wm.points, wm.tets, {int(t): wm.facets[wm.facet_values == t]
                                           for t in np.unique(wm.facet_values)})


def mesh_carotid(settings: Path, model: Path, mesh: Path, wall_mesh: Path, quality: Path,
                 radius_factor: float | None = None) -> Path:
    """Stage ``mesh_carotid``: mesh the lumen and wall of ``model`` (``model.json``) with the
    case's ``mesh.cell_size`` and ``geometry.flow_extension``; returns ``mesh``."""
    case = read_stage_settings(settings, "mesh_carotid")
    return mesh_bifurcation(Path(model), Path(mesh), Path(wall_mesh), Path(quality),
                            cell_size=case["mesh"]["cell_size"],
                            flow_extension=case["geometry"]["flow_extension"],
                            radius_factor=radius_factor)


def mesh_bifurcation(model_json: Path, mesh: Path, wall_mesh: Path, quality_json: Path,
                     cell_size: float | None = None, flow_extension: float = 3.0,
                     radius_factor: float | None = None, comm: Any = None) -> Path:
    """Mesh the lumen of the parametric model ``model_json`` (``mesh``, XDMF + HDF5) and its
    vessel wall (``wall_mesh``); quality and settings to ``quality_json``; returns ``mesh``.

    ``cell_size`` caps the size field (None: the local radius / ``radius_factor``, default
    :data:`DEFAULT_RADIUS_FACTOR`); ``flow_extension`` in local diameters.
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    model = BifurcationModel.from_json(read_json(model_json, "bifurcation model"))
    n_ext = float(flow_extension)
    factor = DEFAULT_RADIUS_FACTOR if radius_factor is None else float(radius_factor)
    extend = {}
    for name, b in model.branches.items():
        k = 0 if name == "cca" else -1
        extend[name] = n_ext * 2.0 * float(b.lumen_radius[k])
    tree, radius = _size_tree(model, extend)
    r_min = float(radius[radius > 0].min()) if (radius > 0).any() else 1e-3

    def size_of(x: float, y: float, z: float) -> float:
        _, i = tree.query((x, y, z))
        r = max(float(radius[i]), 0.5 * r_min)
        if cell_size:
            return min(float(cell_size), r / MIN_CELLS_PER_RADIUS)
        return r / factor

    quality: dict[str, Any] = {}
    wall_q: dict[str, Any] = {}
    with gmsh_session("carotid") as gmsh:
        if comm.rank == 0:
            quality, fluid = _mesh_gmsh(gmsh, model, extend, size_of)
            log.info("lumen mesh: %d cells, smallest dihedral angle %.1f deg",
                     quality["cells"], quality["min_dihedral_angle_deg"])
        data = gmsh_to_dolfinx(gmsh, comm)
        gmsh.model.remove()
        # vessel wall: prism layers extruded from the fluid WALL (wall.py), rank 0
        gmsh.model.add("carotid_wall")
        if comm.rank == 0:
            t0 = time.perf_counter()
            wm = extrude_wall(fluid.points, fluid.tets, fluid.facets[tags.WALL],
                              {t: fluid.facets[t] for t in tags.BRANCH_END_TAGS.values()},
                              model, extend)
            wall_q = wall_quality(wm, fluid.points, fluid.tets, fluid.facets[tags.WALL], model,
                                  extend)
            arrays_to_gmsh(gmsh, _wall_arrays(wm), (tags.SOLID, "solid"),
                           tags.FACET_TAG_NAMES)
            wall_q["meshing_time_s"] = time.perf_counter() - t0
            log.info("wall mesh: %d cells, smallest dihedral angle %.1f deg",
                     wall_q["cells"], wall_q["min_dihedral_angle_deg"])
        wall_data = gmsh_to_dolfinx(gmsh, comm)
    out_path = write_tagged_mesh(data, mesh, comm)
    write_tagged_mesh(wall_data, wall_mesh, comm)
    if comm.rank == 0:
        wall = WallMeshQuality(
            **wall_q, file=Path(wall_mesh).name,
            geometry=f"{WALL_LAYERS} prism layers extruded from the fluid WALL "
                     "triangles to the model's outer wall, 3 tetrahedra per prism",
            simplifications=WALL_SIMPLIFICATIONS, facet_tags=tags.WALL_MESH_FACET_TAGS,
            cell_tag_solid=tags.SOLID, element="linear tetrahedron (4 nodes)")
        CarotidMeshQuality(
            **quality, wall_mesh=wall, flow_extension_diameters=n_ext,
            size_field=(f"min({cell_size} m, local lumen radius / "
                        f"{MIN_CELLS_PER_RADIUS:g})" if cell_size else
                        f"local lumen radius / {factor:g}"),
            geometry="OpenCASCADE lofts of the parametric model (model.json), fused",
            simplifications=SIMPLIFICATIONS, facet_tags=tags.LUMEN_FACET_TAGS,
            cell_tag_fluid=tags.FLUID, element="linear tetrahedron (4 nodes)",
        ).write(quality_json)
    comm.barrier()
    return out_path
