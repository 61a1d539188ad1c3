r"""Tetrahedral mesh of a personalised LV wall with BASE/ENDO/EPI facet tags (gmsh -> XDMF).

Two routes, one output format:

* **surfaces** (biplane or 3D-volume reconstruction): the open endo- and epicardial
  triangulations (LV frame, base plane ``z = 0``) are closed by a basal annulus (the two rim
  loops joined by a point walk in polar angle, a ruled surface), loaded into gmsh as one
  discrete surface, split at sharp edges (``classifySurfaces``, 60°) and reparametrised
  (``createGeometry``), then remeshed and filled with tetrahedra — the gmsh "remesh an STL"
  workflow (gmsh tutorial t13; Geuzaine & Remacle 2009). Each resulting surface is tagged
  BASE when all its nodes lie in the base plane, otherwise ENDO or EPI by its distance to the
  input endo/epi surfaces;
* **measurements**: the truncated prolate ellipsoid of :mod:`twinflow.geometry.lv_ellipsoid`
  (OpenCASCADE, exact tags) with the case's radii and base height.

Output ``mesh.xdmf`` (+ ``mesh.h5``): mesh ``mesh``, facet tags ``facet_tags``, cell tags
``cell_tags`` (names of :mod:`twinflow.geometry.tags`, tag values of
:mod:`twinflow.geometry.lv_tags`: BASE 1, ENDO 2, EPI 3, MYOCARDIUM 1), read with
``dolfinx.io.XDMFFile.read_mesh`` / ``read_meshtags``; also ``mesh.msh`` (gmsh, for
:func:`twinflow.geometry.lv_ellipsoid.read_lv_mesh`) and ``mesh.json`` (base plane ``z_base_m``,
sizes, cavity volume of the ENDO facets closed at the base vs the input surface).

Run as ``python -m twinflow.geometry.lv.mesh GEOMETRY_DIR CASE_JSON OUT_DIR``.
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv
from scipy.spatial import cKDTree

from twinflow.errors import InputError, TwinflowError
from twinflow.geometry import lv_tags, tags
from twinflow.geometry.lv.surfaces import LVSurfaces, read_surfaces, volume_closed_at_base
from twinflow.io import atomic_path, write_json_atomic

#: Default LV cell size when the case gives none (case model: "LV: 5 mm").
DEFAULT_CELL_SIZE_M = 5e-3
#: Dihedral angle above which gmsh splits the discrete surface (base rim edges are ~90°).
CLASSIFY_ANGLE_RAD = math.radians(60.0)


# ------------------------------------------------------------------ closed wall surface

def _rim_loop(surface: pv.PolyData) -> np.ndarray:
    """Point ids of the boundary loop of an open surface, counter-clockwise about z."""
    tri = surface.faces.reshape(-1, 4)[:, 1:]
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(edges, axis=0, return_counts=True)
    boundary = uniq[count == 1]
    if len(boundary) < 3:
        raise InputError("lv mesh: a surface has no open base rim")
    nbrs: dict[int, list[int]] = {}
    for a, b in boundary:
        nbrs.setdefault(int(a), []).append(int(b))
        nbrs.setdefault(int(b), []).append(int(a))
    if any(len(v) != 2 for v in nbrs.values()):
        raise InputError("lv mesh: the base rim of a surface is not a single simple loop")
    start = int(boundary[0, 0])
    loop, prev = [start], -1
    while True:
        nxt = [n for n in nbrs[loop[-1]] if n != prev][0]
        if nxt == start:
            break
        prev = loop[-1]
        loop.append(nxt)
    if len(loop) != len(nbrs):
        raise InputError("lv mesh: the base of a surface has several rims (holes)")
    loop = np.array(loop)
    p = surface.points[loop]
    centre = p.mean(axis=0)
    area = np.sum((p[:, 0] - centre[0]) * np.roll(p[:, 1] - centre[1], -1)
                  - np.roll(p[:, 0] - centre[0], -1) * (p[:, 1] - centre[1]))
    return loop if area > 0 else loop[::-1]


def _annulus(inner: np.ndarray, outer: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Triangles joining two CCW loops (global ids) by a point walk in polar angle."""
    centre = pts[inner].mean(axis=0)

    def polar(loop: np.ndarray) -> np.ndarray:
        d = pts[loop] - centre
        return np.arctan2(d[:, 1], d[:, 0])

    a0 = polar(inner[:1])[0]
    wrap = lambda a: (a - a0 + np.pi) % (2 * np.pi) - np.pi  # noqa: E731
    outer = np.roll(outer, -int(np.argmin(np.abs(wrap(polar(outer))))))
    ai = np.unwrap(polar(inner)) - a0
    ao = np.unwrap(polar(outer)) - polar(outer[:1])[0] + wrap(polar(outer[:1]))[0]
    ai, ao = np.append(ai, ai[0] + 2 * np.pi), np.append(ao, ao[0] + 2 * np.pi)
    inner_c, outer_c = np.append(inner, inner[0]), np.append(outer, outer[0])
    i = j = 0
    tris = []
    while i < len(inner) or j < len(outer):
        if j >= len(outer) or (i < len(inner) and ai[i + 1] <= ao[j + 1]):
            tris.append([inner_c[i], inner_c[i + 1], outer_c[j]])
            i += 1
        else:
            tris.append([inner_c[i], outer_c[j + 1], outer_c[j]])
            j += 1
    tris = np.array(tris)
    p = pts[tris]
    nz = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])[:, 2]
    if not (np.all(nz < 0) or np.all(nz > 0)):
        raise InputError("lv mesh: the epicardial base rim crosses the endocardial one "
                         "(wall thickness <= 0 somewhere at the base)")
    return tris


def check_wall(surfaces: LVSurfaces, where: str) -> None:
    """Raise :class:`InputError` when the endo- and epicardial surfaces touch or cross.

    gmsh cannot tetrahedralise a self-intersecting wall ("PLC Error: A segment and a facet
    intersect"); ``vtkCollisionDetectionFilter`` (pyvista ``collision``) finds the crossing
    triangle pairs, and the thinnest wall is reported.
    """
    endo = surfaces.endo.triangulate().clean()
    epi = surfaces.epi.triangulate().clean()
    _, n_contacts = endo.collision(epi, contact_mode=0, generate_scalars=False)
    if n_contacts:
        d = np.asarray(endo.compute_implicit_distance(epi)["implicit_distance"])
        z = float(np.asarray(endo.points)[int(np.argmin(d)), 2] - surfaces.z_base)
        raise InputError(f"{where}: the endo- and epicardial surfaces intersect "
                         f"({n_contacts} crossing triangle pairs, worst at {1e3 * z:.1f} mm "
                         "from the base); wall thickness <= 0 there — check the myocardium "
                         "in the masks and rerun the reconstruction")


def closed_wall(surfaces: LVSurfaces) -> tuple[np.ndarray, np.ndarray, int]:
    """Points and triangles of the closed wall (endo + epi + base annulus).

    Returns ``(points, triangles, n_endo_points)``; the rims are moved exactly onto the
    base plane.
    """
    endo = surfaces.endo.triangulate().clean()
    epi = surfaces.epi.triangulate().clean()
    ie, io = _rim_loop(endo), _rim_loop(epi)
    pts = np.vstack([endo.points, epi.points]).astype(float)
    n_endo = endo.n_points
    pts[ie, 2] = surfaces.z_base
    pts[io + n_endo, 2] = surfaces.z_base
    tris = np.vstack([endo.faces.reshape(-1, 4)[:, 1:],
                      epi.faces.reshape(-1, 4)[:, 1:] + n_endo,
                      _annulus(ie, io + n_endo, pts)])
    wall = pv.PolyData(pts, np.hstack([np.full((len(tris), 1), 3), tris]).ravel())
    if wall.n_open_edges or not wall.is_manifold:
        raise InputError("lv mesh: the wall surface (endo + epi + base) is not closed")
    # consistent outward orientation (gmsh's reparametrisation wants oriented patches)
    wall = wall.compute_normals(consistent_normals=True, auto_orient_normals=True,
                                split_vertices=False, cell_normals=False)
    return np.asarray(wall.points), wall.faces.reshape(-1, 4)[:, 1:], n_endo


# ------------------------------------------------------------------ gmsh models

def build_surface_model(surfaces: LVSurfaces, cell_size: float) -> None:
    """Create and mesh the LV wall from surfaces in the current gmsh model (rank 0)."""
    import gmsh

    pts, tris, n_endo = closed_wall(surfaces)
    gmsh.model.add("lv_wall")
    gmsh.model.addDiscreteEntity(2, 1)
    gmsh.model.mesh.addNodes(2, 1, np.arange(1, len(pts) + 1), pts.ravel())
    gmsh.model.mesh.addElementsByType(1, 2, [], (tris + 1).ravel())
    gmsh.model.mesh.removeDuplicateNodes()
    gmsh.model.mesh.classifySurfaces(CLASSIFY_ANGLE_RAD, True, True, math.pi)
    gmsh.model.mesh.createGeometry()
    surfs = [t for _, t in gmsh.model.getEntities(2)]
    endo_tree, epi_tree = cKDTree(pts[:n_endo]), cKDTree(pts[n_endo:])
    scale = float(np.ptp(pts, axis=0).max())
    groups: dict[int, list[int]] = {lv_tags.BASE: [], lv_tags.ENDO: [], lv_tags.EPI: []}
    for s in surfs:
        _, coords, _ = gmsh.model.mesh.getNodes(2, s, includeBoundary=True)
        xyz = np.asarray(coords).reshape(-1, 3)
        if np.all(np.abs(xyz[:, 2] - surfaces.z_base) < 1e-6 * scale):
            groups[lv_tags.BASE].append(s)
            continue
        d_endo = endo_tree.query(xyz)[0].mean()
        d_epi = epi_tree.query(xyz)[0].mean()
        groups[lv_tags.ENDO if d_endo < d_epi else lv_tags.EPI].append(s)
    for name, (tag, dim) in lv_tags.PHYSICAL_GROUPS.items():
        if dim == 2:
            if not groups[tag]:
                raise InputError(f"lv mesh: no {name} surface after classification")
            gmsh.model.addPhysicalGroup(2, groups[tag], tag, name=name)
    loop = gmsh.model.geo.addSurfaceLoop(surfs)
    vol = gmsh.model.geo.addVolume([loop])
    gmsh.model.geo.synchronize()
    gmsh.model.addPhysicalGroup(3, [vol], lv_tags.MYOCARDIUM, name="MYOCARDIUM")
    gmsh.option.setNumber("Mesh.MeshSizeMax", cell_size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.5 * cell_size)
    # no curvature-based sizing: on an isosurface it follows voxel-scale bumps
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.option.setNumber("Mesh.Optimize", 1)
    gmsh.option.setNumber("Mesh.RandomSeed", 1)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.model.mesh.generate(3)


def _export(out_dir: Path, comm: Any) -> tuple[Path, dict[str, Any]]:
    """Write the current gmsh model as mesh.msh and, through DOLFINx, mesh.xdmf/.h5."""
    import dolfinx_solver  # noqa: F401  (must precede dolfinx)
    import gmsh
    from dolfinx.io import XDMFFile
    from dolfinx.io import gmsh as gmshio

    out_dir.mkdir(parents=True, exist_ok=True)
    if comm.rank == 0:
        with atomic_path(out_dir / "mesh.msh") as tmp:
            gmsh.write(str(tmp))
    data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)
    mesh, cell_tags, facet_tags = data.mesh, data.cell_tags, data.facet_tags
    mesh.name, cell_tags.name, facet_tags.name = (tags.MESH_NAME, tags.CELL_TAGS_NAME,
                                                  tags.FACET_TAGS_NAME)
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
        out_path.write_text(text)
        tmp.unlink()
    comm.barrier()
    counts = {name: int(comm.allreduce(np.sum(facet_tags.values == tag)))
              for name, (tag, dim) in lv_tags.PHYSICAL_GROUPS.items() if dim == 2}
    n_cells = mesh.topology.index_map(3).size_global
    n_vertices = mesh.topology.index_map(0).size_global
    info = {"cells": int(n_cells), "vertices": int(n_vertices), "facets_per_tag": counts}
    return out_path, info | {"_mesh": mesh, "_facet_tags": facet_tags}


def mesh_cavity_volume(mesh: Any, facet_tags: Any, z_base: float) -> float:
    r"""Cavity volume from the ENDO facets closed at the base:
    :math:`V = -\int_{ENDO} (z - z_b)\, n_z\, ds` (``n`` the wall's outward normal)."""
    import dolfinx_solver  # noqa: F401
    import dolfinx
    import ufl
    from mpi4py import MPI

    x = ufl.SpatialCoordinate(mesh)
    n = ufl.FacetNormal(mesh)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    form = dolfinx.fem.form(-(x[2] - z_base) * n[2] * ds(lv_tags.ENDO))
    return float(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM))


def wall_volume(mesh: Any) -> float:
    import dolfinx_solver  # noqa: F401
    import dolfinx
    import ufl
    from mpi4py import MPI

    form = dolfinx.fem.form(dolfinx.fem.Constant(mesh, 1.0) * ufl.dx(domain=mesh))
    return float(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM))


# ------------------------------------------------------------------ entry point

def _case_settings(case_json: Path) -> dict[str, Any]:
    try:
        case = json.loads(Path(case_json).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{case_json}: case file not found") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{case_json}: not valid JSON ({err.msg} at line {err.lineno})") \
            from None
    if case.get("anatomy") != "left-ventricle":
        raise InputError(f"{case_json}: not a left-ventricle case")
    return case


def wall_thickness_factor(case: dict[str, Any], scenario_id: str | None) -> float:
    """Remodelling of a scenario: the ``geometry.wall_thickness`` factor of its drug arm."""
    from twinflow.drugs.effects import parameter_factors

    if scenario_id is None:
        return 1.0
    for s in case.get("scenarios", []):
        if s["id"] == scenario_id:
            factors = parameter_factors(s.get("drug"), s.get("dose"), s.get("frequency"),
                                        s.get("duration"))
            return float(factors.get("geometry.wall_thickness", 1.0))
    raise InputError(f"case has no scenario '{scenario_id}'")


def remodel_wall(surfaces: LVSurfaces, factor: float) -> LVSurfaces:
    """Scale the wall thickness by ``factor`` at a fixed cavity.

    Each epicardial point moves along the segment to its nearest endocardial point,
    ``x_epi' = x_endo + factor (x_epi - x_endo)``; basal rim points keep z = z_base so the
    base stays planar. A geometric approximation of concentric regression (Thürmann 1998
    reports LV mass and wall thickness, not the shape of the change).
    """
    if factor == 1.0:
        return surfaces
    tree = cKDTree(np.asarray(surfaces.endo.points))
    epi = surfaces.epi.copy()
    pts = np.asarray(epi.points, dtype=float)
    _, nearest = tree.query(pts)
    anchor = np.asarray(surfaces.endo.points, dtype=float)[nearest]
    moved = anchor + factor * (pts - anchor)
    on_base = np.isclose(pts[:, 2], surfaces.z_base, atol=1e-9)
    moved[on_base, 2] = surfaces.z_base
    epi.points = moved
    return LVSurfaces(surfaces.endo, epi, surfaces.z_base)


def mesh_lv(geometry_dir: Path, case_json: Path, out_dir: Path,
            cell_size: float | None = None, comm: Any | None = None,
            scenario: str | None = None) -> Path:
    """Mesh the LV of a case; returns ``out_dir/mesh.xdmf`` (module docstring).

    ``geometry_dir`` is the reconstruction output (``measurements.json`` + surfaces). The
    route follows ``measurements.json["source"]``: ``measurements`` meshes the exact
    ellipsoid of :mod:`twinflow.geometry.lv_ellipsoid`, ``images`` / ``volume`` the
    end-diastolic surfaces. ``cell_size`` (m) overrides the case's ``mesh.cell_size``.
    """
    import gmsh
    from mpi4py import MPI

    from twinflow.geometry.lv_ellipsoid import EllipsoidLV, build_lv_ellipsoid_model

    comm = MPI.COMM_WORLD if comm is None else comm
    case = _case_settings(case_json)
    geometry_dir, out_dir = Path(geometry_dir), Path(out_dir)
    meas_path = geometry_dir / "measurements.json"
    if not meas_path.is_file():
        raise InputError(f"{meas_path}: not found (run the LV reconstruction first)")
    meas = json.loads(meas_path.read_text(encoding="utf-8"))
    h = cell_size or (case.get("mesh") or {}).get("cell_size") or DEFAULT_CELL_SIZE_M
    if not h > 0:
        raise InputError(f"{case_json}: mesh cell_size must be > 0")
    source = meas["source"]
    z_base = float(meas["z_base_m"])
    thickness_factor = wall_thickness_factor(case, scenario)
    surfaces = remodel_wall(read_surfaces(geometry_dir, z_base), thickness_factor)
    initialised_here = not gmsh.isInitialized()
    if initialised_here:
        gmsh.initialize(["-noenv"], readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        if comm.rank == 0:
            if source == "measurements":
                e = meas["ellipsoid"]
                f = thickness_factor  # remodelling: thinner wall at a fixed cavity
                geo = EllipsoidLV(
                    e["r_short_endo_m"], e["r_long_endo_m"],
                    e["r_short_endo_m"] + f * (e["r_short_epi_m"] - e["r_short_endo_m"]),
                    e["r_long_endo_m"] + f * (e["r_long_epi_m"] - e["r_long_endo_m"]), z_base)
                build_lv_ellipsoid_model(geo, h)
            else:
                check_wall(surfaces, str(geometry_dir))
                build_surface_model(surfaces, h)
        out_path, info = _export(out_dir, comm)
    except TwinflowError:
        raise
    except Exception as err:  # gmsh raises bare Exception: make it a one-line input error
        msg = " ".join(str(err).split()) or type(err).__name__
        raise InputError(f"{geometry_dir}: gmsh could not mesh the LV wall at cell size "
                         f"{1e3 * h:g} mm ({msg})") from err
    finally:
        if gmsh.model.list():
            gmsh.model.remove()
        if initialised_here:
            gmsh.finalize()
    mesh, facet_tags = info.pop("_mesh"), info.pop("_facet_tags")
    v_mesh = mesh_cavity_volume(mesh, facet_tags, z_base)
    v_wall = wall_volume(mesh)          # collective: every rank
    v_surf = (meas["ellipsoid"]["cavity_volume_m3"] if source == "measurements"
              else volume_closed_at_base(surfaces.endo, z_base))
    if comm.rank == 0:
        write_json_atomic(out_dir / "mesh.json", {
            "source": source, "cell_size_m": float(h), "z_base_m": z_base,
            "scenario": scenario, "wall_thickness_factor": thickness_factor,
            "long_axis": [0.0, 0.0, 1.0], "apex_direction": "-z",
            "tags": {name: tag for name, (tag, _) in lv_tags.PHYSICAL_GROUPS.items()},
            "files": {"xdmf": out_path.name, "msh": "mesh.msh",
                      "grids": [tags.MESH_NAME, tags.FACET_TAGS_NAME, tags.CELL_TAGS_NAME]},
            **info,
            "cavity_volume_mesh_m3": v_mesh, "cavity_volume_surface_m3": float(v_surf),
            "cavity_volume_relative_difference": v_mesh / float(v_surf) - 1.0,
            "wall_volume_mesh_m3": v_wall,
            "end_diastolic_volume_segmentation_m3": meas.get("end_diastolic_volume_m3"),
            "cavity_volume_mesh_vs_segmentation": (
                v_mesh / meas["end_diastolic_volume_m3"] - 1.0
                if meas.get("end_diastolic_volume_m3") else None),
        })
    comm.barrier()
    return out_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twinflow.geometry.lv.mesh",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("geometry_dir", type=Path, help="reconstruction output folder")
    parser.add_argument("case_json", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--cell-size", type=float, default=None, help="m (default: case)")
    parser.add_argument("--scenario", default=None,
                        help="scenario id: apply its drug arm's wall remodelling")
    args = parser.parse_args(argv)
    try:
        mesh_lv(args.geometry_dir, args.case_json, args.out_dir, args.cell_size,
                scenario=args.scenario)
    except TwinflowError as err:
        for line in err.lines:
            print(line, file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
