"""``mesh_carotid``: tetrahedral fluid mesh of the reconstructed lumen (gmsh → DOLFINx XDMF).

1. The lumen surface: ``surface_dir/lumen.vtp``; with flow extensions
   (``geometry.flow_extension`` × the local end diameter, straight, constant end section) the
   surface is rebuilt from ``surface_dir/model.json`` with the branch ends moved out.
2. gmsh: the STL is split into wall and caps by ``classifySurfaces`` (40° feature angle, the
   caps meet the wall at 90°), reparametrised with ``createGeometry`` and remeshed; the caps
   are recognised by lying on the end planes. Size field (``setSizeCallback``): the local
   lumen radius of the nearest centreline sample divided by ``radius_factor`` (case default
   radius/6, ``mesh.cell_size`` gives a constant size instead).
3. Facet tags INLET (CCA), OUTLET_ICA, OUTLET_ECA, WALL, cell tag FLUID
   (:mod:`twinflow.geometry.tags`); written like :mod:`twinflow.geometry.tube`: ``mesh.xdmf``
   + ``.h5`` with ``mesh``, ``facet_tags``, ``cell_tags``, readable on any number of ranks.
4. Quality (``mesh_quality.json``): minimum/percentile dihedral angles, signed volumes (no
   inverted cells), gmsh SICN, volume of the mesh vs the surface it meshes.

Linear (4-node) tetrahedra: the surface is a faceted STL, so curved (order-2) cells would
not add geometric accuracy.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.geometry.carotid.model import BifurcationModel
from twinflow.geometry.carotid.surface import END_TAGS, build_surface
from twinflow.io import atomic_path, write_json_atomic

#: Cells per local radius (case default: radius/6, see twinflow.case.models.Mesh).
DEFAULT_RADIUS_FACTOR = 6.0


def dihedral_angles(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """The six interior dihedral angles (rad) of each tetrahedron, shape (n, 6)."""
    p = points[tets]  # (n, 4, 3)
    faces = ((1, 2, 3), (0, 3, 2), (0, 1, 3), (0, 2, 1))
    normals = []
    for a, b, c in faces:
        n = np.cross(p[:, b] - p[:, a], p[:, c] - p[:, a])
        normals.append(n / np.linalg.norm(n, axis=1, keepdims=True))
    out = []
    for i in range(4):
        for j in range(i + 1, 4):
            cos = np.clip(-np.einsum("ij,ij->i", normals[i], normals[j]), -1.0, 1.0)
            out.append(np.arccos(cos))
    return np.stack(out, axis=1)


def signed_volumes(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    p = points[tets]
    return np.einsum("ij,ij->i", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]),
                     p[:, 3] - p[:, 0]) / 6.0


def _size_tree(model: BifurcationModel, extend: dict[str, float]
               ) -> tuple[cKDTree, np.ndarray]:
    pts, rad = [], []
    for name, b in model.branches.items():
        s = b.s
        e = extend.get(name, 0.0)
        if e > 0:
            step = s[1] - s[0]
            s = (np.concatenate([np.arange(s[0] - e, s[0], step), s]) if name == "cca"
                 else np.concatenate([s, np.arange(s[-1] + step, s[-1] + e + step, step)]))
        _, r, off = b.at(s)
        pts.append(s[:, None] * b.direction + off[:, None] * b.normal)
        rad.append(r)
    return cKDTree(np.concatenate(pts)), np.concatenate(rad)


def _build_gmsh(gmsh: Any, stl: Path, surf: Any, model: BifurcationModel,
                extend: dict[str, float], size_of: Any) -> dict[str, Any]:
    gmsh.merge(str(stl))
    gmsh.model.mesh.classifySurfaces(np.deg2rad(40.0), True, True, np.pi)
    gmsh.model.mesh.createGeometry()
    size = float(np.linalg.norm(np.ptp(surf.points, axis=0)))
    groups: dict[int, list[int]] = {t: [] for t in (*END_TAGS.values(), tags.WALL)}
    for _, stag in gmsh.model.getEntities(2):
        _, coords, _ = gmsh.model.mesh.getNodes(2, stag, includeBoundary=True)
        xyz = coords.reshape(-1, 3)
        found = tags.WALL
        for name, b in model.branches.items():
            c, n = b.end()
            c = c + extend.get(name, 0.0) * n
            if np.abs((xyz - c) @ n).max() < 1e-6 * size:
                found = END_TAGS[name]
        groups[found].append(stag)
    for t, ents in groups.items():
        if not ents:
            raise InputError(f"{stl}: gmsh found no surface for facet tag {t}")
    loop = gmsh.model.geo.addSurfaceLoop([s for _, s in gmsh.model.getEntities(2)])
    vol = gmsh.model.geo.addVolume([loop])
    gmsh.model.geo.synchronize()
    gmsh.model.addPhysicalGroup(3, [vol], tags.FLUID, name="fluid")
    names = {tags.INLET: "inlet", tags.OUTLET_ICA: "outlet_ica", tags.OUTLET_ECA: "outlet_eca",
             tags.WALL: "wall"}
    for t, ents in groups.items():
        gmsh.model.addPhysicalGroup(2, ents, t, name=names[t])
    gmsh.model.mesh.setSizeCallback(lambda dim, tag, x, y, z, lc: size_of(x, y, z))
    for key, val in (("Mesh.MeshSizeExtendFromBoundary", 0), ("Mesh.MeshSizeFromPoints", 0),
                     ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.Algorithm", 6),
                     ("Mesh.Algorithm3D", 1), ("Mesh.Optimize", 1), ("General.NumThreads", 1),
                     ("Mesh.RandomSeed", 1)):
        gmsh.option.setNumber(key, val)
    gmsh.model.mesh.generate(3)
    gmsh.model.mesh.optimize("Netgen")
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    pts = coords.reshape(-1, 3)
    index = np.zeros(int(node_tags.max()) + 1, np.int64)
    index[node_tags.astype(np.int64)] = np.arange(len(node_tags))
    etypes, etags, enodes = gmsh.model.mesh.getElements(3)
    tets = index[np.asarray(enodes[0], np.int64).reshape(-1, 4)]
    sicn = gmsh.model.mesh.getElementQualities(etags[0], "minSICN")
    gamma = gmsh.model.mesh.getElementQualities(etags[0], "gamma")
    ang = np.rad2deg(dihedral_angles(pts, tets))
    vols = signed_volumes(pts, tets)
    return {"cells": int(len(tets)), "vertices": int(len(pts)),
            "min_dihedral_angle_deg": float(ang.min()),
            "max_dihedral_angle_deg": float(ang.max()),
            "p01_min_dihedral_angle_deg": float(np.percentile(ang.min(axis=1), 1)),
            "inverted_cells": int((vols <= 0).sum()),
            "min_sicn": float(np.min(sicn)), "mean_sicn": float(np.mean(sicn)),
            "min_gamma": float(np.min(gamma)),
            "mesh_volume_m3": float(vols.sum())}


def mesh_carotid(surface_dir: Path, case_json: Path, out_dir: Path,
                 radius_factor: float | None = None, flow_extension: float | None = None,
                 comm: Any = None) -> Path:
    """Mesh the lumen of ``surface_dir``; returns ``out_dir/mesh.xdmf`` (module docstring).

    ``radius_factor`` and ``flow_extension`` override the case (tests, coarse runs).
    """
    import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
    import gmsh
    import pyvista as pv
    from dolfinx.io import XDMFFile
    from dolfinx.io import gmsh as gmshio
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    surface_dir, out_dir = Path(surface_dir), Path(out_dir)
    try:
        case = json.loads(Path(case_json).read_text(encoding="utf-8"))
        model = BifurcationModel.from_json(
            json.loads((surface_dir / "model.json").read_text(encoding="utf-8")))
    except FileNotFoundError as err:
        raise InputError(f"{err.filename}: file not found") from None
    geo = case.get("geometry") or {}
    n_ext = float(geo.get("flow_extension", 3.0)) if flow_extension is None else flow_extension
    cell_size = (case.get("mesh") or {}).get("cell_size")
    factor = DEFAULT_RADIUS_FACTOR if radius_factor is None else float(radius_factor)
    extend = {}
    for name, b in model.branches.items():
        k = 0 if name == "cca" else -1
        extend[name] = n_ext * 2.0 * float(b.lumen_radius[k])
    tree, radius = _size_tree(model, extend)
    r_min = float(radius[radius > 0].min()) if (radius > 0).any() else 1e-3

    def size_of(x: float, y: float, z: float) -> float:
        if cell_size:
            return float(cell_size)
        _, i = tree.query((x, y, z))
        return max(float(radius[i]), 0.5 * r_min) / factor

    quality: dict[str, Any] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    if comm.rank == 0:
        if n_ext > 0:
            h_min = (cell_size or r_min / factor)
            surf = build_surface(model, False, extend=extend, target_edge=0.5 * h_min)
        else:
            surf = pv.read(surface_dir / "lumen.vtp")
        surf.save(str(out_dir / "lumen_meshed_surface.vtp"))
        surface_volume = float(surf.volume)
    initialised_here = not gmsh.isInitialized()
    if initialised_here:
        gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("carotid")
        if comm.rank == 0:
            with tempfile.TemporaryDirectory() as tmpd:
                stl = Path(tmpd) / "lumen.stl"
                surf.extract_surface(algorithm=None).triangulate().save(str(stl), binary=True)
                quality = _build_gmsh(gmsh, stl, surf, model, extend, size_of)
        data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)
    finally:
        gmsh.model.remove() if gmsh.model.list() else None
        if initialised_here:
            gmsh.finalize()
    mesh, cell_tags, facet_tags = data.mesh, data.cell_tags, data.facet_tags
    mesh.name = tags.MESH_NAME
    cell_tags.name = tags.CELL_TAGS_NAME
    facet_tags.name = tags.FACET_TAGS_NAME
    out_path = out_dir / "mesh.xdmf"
    tmp = out_path.with_name(f".{out_path.stem}.tmp.xdmf")
    mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
    with XDMFFile(comm, tmp, "w") as xdmf:
        xdmf.write_mesh(mesh)
        xdmf.write_meshtags(facet_tags, mesh.geometry)
        xdmf.write_meshtags(cell_tags, mesh.geometry)
    comm.barrier()
    if comm.rank == 0:
        text = tmp.read_text().replace(tmp.with_suffix(".h5").name,
                                       out_path.with_suffix(".h5").name)
        tmp.with_suffix(".h5").replace(out_path.with_suffix(".h5"))
        with atomic_path(out_path) as t:
            t.write_text(text)
        tmp.unlink()
        quality.update({
            "surface_volume_m3": surface_volume,
            "volume_relative_difference": abs(quality["mesh_volume_m3"] - surface_volume)
            / surface_volume,
            "flow_extension_diameters": n_ext,
            "size_field": (f"constant {cell_size} m" if cell_size else
                           f"local lumen radius / {factor:g}"),
            "facet_tags": {"inlet": tags.INLET, "outlet_ica": tags.OUTLET_ICA,
                           "outlet_eca": tags.OUTLET_ECA, "wall": tags.WALL},
            "cell_tag_fluid": tags.FLUID,
            "element": "linear tetrahedron (4 nodes)"})
        write_json_atomic(out_dir / "mesh_quality.json", quality)
    comm.barrier()
    return out_path
