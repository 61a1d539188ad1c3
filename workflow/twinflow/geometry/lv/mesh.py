r"""Tetrahedral mesh of a personalised LV wall with BASE/ENDO/EPI facet tags (gmsh -> XDMF).

Two routes, one output format:

* **surfaces** (biplane or 3D-volume reconstruction): the open endo- and epicardial
  triangulations (LV frame, base plane ``z = 0``) are resampled on one fan of rays from the
  centre of the basal rim (:func:`radial_shell`, spacing = cell size), which gives a wall
  whose two surfaces cannot cross, with exact BASE/ENDO/EPI tags; that triangulation is the
  boundary mesh and gmsh's Delaunay mesher fills the volume (Geuzaine & Remacle 2009).
  (Remeshing the reconstructed triangulations with gmsh's ``classifySurfaces`` /
  ``createGeometry`` failed on CNN-derived surfaces with "PLC Error: A segment and a facet
  intersect" where the wall is thinner than the cell size);
* **measurements**: the truncated prolate ellipsoid of :mod:`twinflow.geometry.lv.ellipsoid`
  (OpenCASCADE, exact tags) with the case's radii and base height.

Output ``mesh.xdmf`` (+ ``mesh.h5``, :func:`twinflow.geometry.mesh_io.write_tagged_mesh`):
mesh ``mesh``, facet tags ``facet_tags``, cell tags ``cell_tags`` (LV tags of
:mod:`twinflow.geometry.tags`: BASE 1, ENDO 2, EPI 3, MYOCARDIUM 1), read with
:func:`twinflow.geometry.mesh_io.read_tagged_mesh`; also ``mesh.msh`` (gmsh, for
:func:`twinflow.geometry.mesh_io.read_msh`) and ``mesh.json``
(:class:`twinflow.artifacts.mesh.LVMeshInfo`: base plane ``z_base_m``, sizes, cavity volume
of the ENDO facets closed at the base vs the input surface, and the quality of the
tetrahedra, :mod:`twinflow.geometry.quality`, measured on ``mesh.msh``).

Run as ``twinflow mesh-lv --settings S --measurements M --drug-effects E --mesh OUT.xdmf
--info OUT.json`` (stage ``mesh_lv``, one per scenario).
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import logging
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyvista as pv
from scipy.spatial import cKDTree

from twinflow.artifacts.drugs import DrugEffects
from twinflow.artifacts.geometry import LVMeasurements
from twinflow.artifacts.mesh import LVMeshInfo, LVShell, MeshFiles, MeshQuality
from twinflow.errors import InputError, TwinflowError
from twinflow.geometry import tags
from twinflow.geometry.gmsh_session import gmsh_session, load_gmsh
from twinflow.geometry.lv.surfaces import LVSurfaces, read_surfaces, volume_closed_at_base
from twinflow.geometry.mesh_io import (
    gmsh_to_dolfinx,
    read_mesh_arrays,
    write_msh,
    write_tagged_mesh,
)
from twinflow.geometry.quality import cell_quality, edge_quality
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

#: Default LV cell size when the case gives none (case model: "LV: 5 mm").
DEFAULT_CELL_SIZE_M = 5e-3


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


def check_wall(surfaces: LVSurfaces, where: str) -> None:
    """Raise :class:`InputError` when the endo- and epicardial surfaces touch or cross.

    gmsh cannot tetrahedralise a self-intersecting wall ("PLC Error: A segment and a facet
    intersect"); ``vtkCollisionDetectionFilter`` (pyvista ``collision``) finds the crossing
    triangle pairs, and the thinnest wall is reported. A diagnostic of the reconstructed
    surfaces: :func:`mesh_lv` meshes the :func:`radial_shell` instead, which repairs shallow
    basal crossings and rejects deep ones itself.
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


# ------------------------------------------------------------------ radial shell

#: Fewest samples around the LV and from the apex to the base of the resampled shell.
MIN_SAMPLES_AROUND = 16
MIN_SAMPLES_APEX_BASE = 6
#: Least wall thickness along a ray, as a fraction of the median (thinner rays are repaired).
MIN_WALL_FRACTION = 0.3
#: A ray whose epicardium lies inside the endocardium by more than this fraction of the median
#: wall is a genuine crossing (InputError); shallower crossings (basal folds of the biplane
#: surfaces, < 0.1 on the demo) are repaired with MIN_WALL_FRACTION.
MAX_CROSSING_FRACTION = 0.15


def _ray_hits(origin: np.ndarray, dirs: np.ndarray, surface: pv.PolyData) -> np.ndarray:
    """Distance along each unit ray ``origin + t d`` to its farthest hit of ``surface``.

    Möller & Trumbore 1997 (J Graph Tools 2:21) ray–triangle test, vectorised; ``nan`` where a
    ray misses the surface.
    """
    tri = surface.triangulate().faces.reshape(-1, 4)[:, 1:]
    p = np.asarray(surface.points, dtype=float)
    v0, e1, e2 = p[tri[:, 0]], p[tri[:, 1]] - p[tri[:, 0]], p[tri[:, 2]] - p[tri[:, 0]]
    s = origin - v0                                            # (T, 3)
    q = np.cross(s, e1)                                        # independent of the ray
    out = np.full(len(dirs), np.nan)
    eps = 1e-12
    for k, d in enumerate(dirs):
        h = np.cross(d, e2)
        a = np.einsum("ij,ij->i", e1, h)
        ok = np.abs(a) > eps
        f = np.where(ok, 1.0 / np.where(ok, a, 1.0), 0.0)
        u = f * np.einsum("ij,ij->i", s, h)
        v = f * (q @ d)
        t = f * np.einsum("ij,ij->i", e2, q)
        hit = ok & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9) & (t > 0)
        if hit.any():
            out[k] = t[hit].max()
    return out


def _rim_hits(origin: np.ndarray, phis: np.ndarray, rim: np.ndarray) -> np.ndarray:
    """Distance from ``origin`` (in the base plane) along the in-plane directions ``phis`` to
    the farthest crossing of the closed rim polygon ``rim`` (M, 3)."""
    a = rim[:, :2] - origin[:2]
    b = np.roll(a, -1, axis=0)
    e = b - a
    out = np.full(len(phis), np.nan)
    for k, phi in enumerate(phis):
        d = np.array([math.cos(phi), math.sin(phi)])
        den = d[0] * e[:, 1] - d[1] * e[:, 0]
        ok = np.abs(den) > 1e-15
        den = np.where(ok, den, 1.0)
        t = (a[:, 0] * e[:, 1] - a[:, 1] * e[:, 0]) / den      # along the ray
        s = (a[:, 0] * d[1] - a[:, 1] * d[0]) / den            # along the edge
        hit = ok & (s >= -1e-9) & (s <= 1 + 1e-9) & (t > 0)
        if hit.any():
            out[k] = t[hit].max()
    return out


def radial_shell(surfaces: LVSurfaces, spacing: float, where: str = "lv mesh"
                 ) -> dict[str, Any]:
    r"""Resample the endo- and epicardium on one set of rays: a non-intersecting wall.

    Rays leave the centre :math:`c` of the endocardial base rim (in the base plane) in the
    directions :math:`d \propto (a \sin\theta\cos\varphi, a \sin\theta\sin\varphi,
    -L\cos\theta)` (:math:`a, L` the largest endocardial radius about :math:`c` and the
    depth, so the samples spread roughly evenly over a prolate LV),
    :math:`\theta = j\,\pi/(2N)`, :math:`j = 0..N`, :math:`\varphi = 2\pi k/K`; the last
    ring (:math:`\theta = \pi/2`) is intersected with the
    base rims in the plane. Each surface becomes the ``(N, K)`` grid of its farthest hits plus
    the apex point, triangulated like :func:`~twinflow.geometry.lv.surfaces.rings_to_surface`.

    Why: meshing the reconstructed triangulations directly (gmsh's reparametrisation of the
    discrete surfaces, then remeshing at the cell size) can make the remeshed endo- and
    epicardium cross where the wall is thinner than the cell size ("PLC Error: A segment and a
    facet intersect"). Two triangles spanning the same three rays with the epicardial vertex
    farther out on every ray cannot cross (the hit of any ray in their cone is
    :math:`1/\sum_i \mu_i / r_i`, monotone in every :math:`r_i`), so the resampled wall is
    valid whenever the epicardium lies outside the endocardium on every ray, which is checked.

    Each shell is then scaled about :math:`c` (which keeps the base planar) so that the volume
    it closes with the base plane equals that of its input surface — the chordal loss of the
    coarse sampling (a few %) is removed — unless that would make the walls touch.
    Assumes both surfaces are star-shaped from :math:`c` (true for LV-like shapes).
    """
    endo = surfaces.endo.triangulate().clean()
    epi = surfaces.epi.triangulate().clean()
    zb = surfaces.z_base
    rim_endo = np.asarray(endo.points)[_rim_loop(endo)].astype(float)
    rim_epi = np.asarray(epi.points)[_rim_loop(epi)].astype(float)
    c = np.array([rim_endo[:, 0].mean(), rim_endo[:, 1].mean(), zb])
    a = float(np.max(np.linalg.norm(np.asarray(endo.points)[:, :2] - c[:2], axis=1)))
    depth = float(zb - np.asarray(endo.points)[:, 2].min())
    if not (a > 0 and depth > 0):
        raise InputError("lv mesh: degenerate endocardium (no cavity below the base)")
    # quarter perimeter of the ellipse (a, depth) (Ramanujan 1914)
    h3 = ((depth - a) / (depth + a)) ** 2
    quarter = 0.25 * math.pi * (a + depth) * (1 + 3 * h3 / (10 + math.sqrt(4 - 3 * h3)))
    n_lev = max(MIN_SAMPLES_APEX_BASE, math.ceil(quarter / spacing))
    k_around = max(MIN_SAMPLES_AROUND, math.ceil(2 * math.pi * a / spacing))
    theta = np.linspace(0.0, 0.5 * math.pi, n_lev + 1)[1:]          # rings, apex excluded
    phi = np.linspace(0.0, 2 * math.pi, k_around, endpoint=False)
    tt, pp = np.meshgrid(theta[:-1], phi, indexing="ij")
    dirs = np.stack([a * np.sin(tt) * np.cos(pp), a * np.sin(tt) * np.sin(pp),
                     -depth * np.cos(tt)], axis=-1).reshape(-1, 3)
    dirs = np.vstack([[0.0, 0.0, -1.0], dirs])
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    shells = {}
    for name, surf, rim in (("endo", endo, rim_endo), ("epi", epi, rim_epi)):
        t = np.append(_ray_hits(c, dirs, surf), _rim_hits(c, phi, rim))
        if np.isnan(t).any():
            raise InputError(f"{where}: {int(np.isnan(t).sum())} rays from the base centre "
                             f"miss the {name}cardium (surface not star-shaped from the base "
                             "centre or open)")
        shells[name] = t
    t_endo, t_epi = shells["endo"], shells["epi"]
    wall = t_epi - t_endo
    med = float(np.median(wall))
    if med <= 0 or wall.min() < -MAX_CROSSING_FRACTION * med:
        i = int(np.argmin(wall))
        z = float(t_endo[i] * dirs[i, 2]) if i < len(dirs) else 0.0   # rim rays: z = z_b
        raise InputError(f"{where}: the epicardium lies inside the endocardium on "
                         f"{int(np.sum(wall <= 0))} of {len(wall)} rays from the base centre "
                         f"(by up to {-1e3 * wall.min():.1f} mm, {1e3 * z:.1f} mm from the "
                         "base; wall thickness <= 0) - check the myocardium in the masks and "
                         "rerun the reconstruction")
    # a few grazing rays near a folded basal rim (reconstructed surfaces that touch there)
    # see the epicardium first or almost together with the endocardium: they get
    # MIN_WALL_FRACTION of the median wall (counted in mesh.json)
    thin = wall < MIN_WALL_FRACTION * np.median(wall)
    t_epi = np.where(thin, t_endo + MIN_WALL_FRACTION * np.median(wall), t_epi)
    unit = np.vstack([dirs, np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], 1)])
    # triangles of the (apex + rings) grid, outward (away from c) for the endocardium
    j = np.arange(k_around)
    jn = (j + 1) % k_around
    ring = lambda i: 1 + i * k_around  # noqa: E731  (first node of ring i; node 0 = apex)
    tris = [np.stack([np.zeros(k_around, int), ring(0) + jn, ring(0) + j], 1)]
    for i in range(n_lev - 1):
        a0, a1 = ring(i) + j, ring(i) + jn
        b0, b1 = ring(i + 1) + j, ring(i + 1) + jn
        tris += [np.stack([a0, a1, b1], 1), np.stack([a0, b1, b0], 1)]
    tris = np.vstack(tris)
    n_node = len(unit)

    def scaled(t: np.ndarray, target: float) -> tuple[np.ndarray, float]:
        pts = c + t[:, None] * unit
        v = volume_closed_at_base(pv.PolyData(pts, np.hstack(
            [np.full((len(tris), 1), 3), tris]).ravel()), zb)
        return t, (target / v) ** (1.0 / 3.0)

    t_endo, s_endo = scaled(t_endo, volume_closed_at_base(endo, zb))
    t_epi, s_epi = scaled(t_epi, volume_closed_at_base(epi, zb))
    volume_corrected = bool(np.all(s_epi * t_epi > s_endo * t_endo))
    if volume_corrected:
        t_endo, t_epi = s_endo * t_endo, s_epi * t_epi
    p_endo, p_epi = c + t_endo[:, None] * unit, c + t_epi[:, None] * unit
    rim_ids = ring(n_lev - 1) + j
    p_endo[rim_ids, 2] = zb
    p_epi[rim_ids, 2] = zb
    # base annulus: quads between the two rims (endo ids, epi ids offset by n_node)
    base = np.vstack([np.stack([rim_ids, rim_ids[jn], rim_ids[jn] + n_node], 1),
                      np.stack([rim_ids, rim_ids[jn] + n_node, rim_ids + n_node], 1)])
    return {"points": np.vstack([p_endo, p_epi]),
            "endo": tris[:, ::-1], "epi": tris + n_node, "base": base,
            "rays": int(n_node), "rings": int(n_lev), "around": int(k_around),
            "repaired_rays": int(thin.sum()),
            "volume_scale": [float(s_endo), float(s_epi)] if volume_corrected else None}


# ------------------------------------------------------------------ gmsh models

def build_shell_model(surfaces: LVSurfaces, cell_size: float, where: str = "lv mesh"
                      ) -> dict[str, Any]:
    """Mesh the wall bounded by :func:`radial_shell` in the current gmsh model (rank 0).

    The shell's triangles are the boundary mesh as they are (three discrete surfaces BASE,
    ENDO, EPI with exact tags; no reparametrisation or remeshing), and gmsh's Delaunay
    mesher fills the volume. Returns the shell's sampling info for ``mesh.json``.
    """
    gmsh = load_gmsh()
    shell = radial_shell(surfaces, cell_size, where)
    pts = shell["points"]
    gmsh.model.add("lv_wall")
    surf_tags = {tags.BASE: shell["base"], tags.ENDO: shell["endo"],
                 tags.EPI: shell["epi"]}
    for tag in surf_tags:
        gmsh.model.addDiscreteEntity(2, tag)
    gmsh.model.mesh.addNodes(2, tags.ENDO, np.arange(1, len(pts) + 1), pts.ravel())
    for tag, tris in surf_tags.items():
        gmsh.model.mesh.addElementsByType(tag, 2, [], (tris + 1).ravel())
    # the wall as a geo volume bounded by the discrete surfaces (their mesh is kept)
    vol = gmsh.model.geo.addVolume([gmsh.model.geo.addSurfaceLoop(list(surf_tags))])
    gmsh.model.geo.synchronize()
    for name, (tag, dim) in tags.LV_PHYSICAL_GROUPS.items():
        if dim == 2:
            gmsh.model.addPhysicalGroup(2, [tag], tag, name=name)
    gmsh.model.addPhysicalGroup(3, [vol], tags.MYOCARDIUM, name="MYOCARDIUM")
    gmsh.option.setNumber("Mesh.MeshSizeMax", cell_size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.5 * cell_size)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.option.setNumber("Mesh.Optimize", 1)
    gmsh.model.mesh.generate(3)
    return {k: shell[k] for k in ("rays", "rings", "around", "repaired_rays", "volume_scale")}


def _export(gmsh: ModuleType, xdmf: Path, comm: Any) -> tuple[Path, Any]:
    """Write the current gmsh model as a gmsh file beside ``xdmf`` (same stem, ``.msh``) and,
    through DOLFINx, ``xdmf`` (+ ``.h5``); returns the XDMF path and the distributed
    ``MeshData``."""
    if comm.rank == 0:
        write_msh(gmsh, xdmf.with_suffix(".msh"))
    data = gmsh_to_dolfinx(gmsh, comm)
    return write_tagged_mesh(data, xdmf, comm), data


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
    form = dolfinx.fem.form(-(x[2] - z_base) * n[2] * ds(tags.ENDO))
    return float(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM))


def wall_volume(mesh: Any) -> float:
    import dolfinx_solver  # noqa: F401
    import dolfinx
    import ufl
    from mpi4py import MPI

    form = dolfinx.fem.form(dolfinx.fem.Constant(mesh, 1.0) * ufl.dx(domain=mesh))
    return float(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM))


# ------------------------------------------------------------------ entry point

def remodel_wall(surfaces: LVSurfaces, factor: float, cavity: float = 1.0) -> LVSurfaces:
    """Scale the wall thickness by ``factor`` and the cavity volume by ``cavity``.

    The endocardium is scaled about the centre of its basal rim by :math:`c^{1/3}` (a
    similar, smaller cavity; the base stays in its plane). Each epicardial point then
    follows its nearest endocardial point ``a`` (``a'`` after scaling) at ``factor`` of its
    former distance, ``x_epi' = a' + factor (x_epi - a)``; basal rim points keep z = z_base.
    A geometric approximation of concentric regression and of reverse remodelling (the
    trials report LV mass, wall thickness and volumes, not the shape of the change).
    """
    if factor == 1.0 and cavity == 1.0:
        return surfaces
    endo_pts = np.asarray(surfaces.endo.points, dtype=float)
    endo = surfaces.endo
    scaled = endo_pts
    if cavity != 1.0:
        rim = np.isclose(endo_pts[:, 2], surfaces.z_base, atol=1e-9)
        centre = np.array([*(endo_pts[rim, :2].mean(axis=0) if rim.any()
                             else endo_pts[:, :2].mean(axis=0)), surfaces.z_base])
        scaled = centre + cavity ** (1.0 / 3.0) * (endo_pts - centre)
        endo = surfaces.endo.copy()
        endo.points = scaled
    _, nearest = cKDTree(endo_pts).query(np.asarray(surfaces.epi.points))
    epi = surfaces.epi.copy()
    pts = np.asarray(epi.points, dtype=float)
    moved = scaled[nearest] + factor * (pts - endo_pts[nearest])
    on_base = np.isclose(pts[:, 2], surfaces.z_base, atol=1e-9)
    moved[on_base, 2] = surfaces.z_base
    epi.points = moved
    return LVSurfaces(endo, epi, surfaces.z_base)


def mesh_lv(settings: Path, measurements: Path, drug_effects: Path, mesh: Path, info: Path,
            cell_size: float | None = None, comm: Any | None = None) -> Path:
    """Stage ``mesh_lv``: mesh the LV of one scenario; returns ``mesh`` (module docstring).

    ``measurements`` is the reconstruction (:class:`~twinflow.artifacts.geometry.
    LVMeasurements`, surfaces beside it). The route follows its ``source``:
    ``measurements`` meshes the exact ellipsoid of :mod:`twinflow.geometry.lv.ellipsoid`,
    ``images`` / ``volume`` the end-diastolic surfaces. The scenario's drug arm scales the
    wall thickness and the cavity by the factors of its ``drug_effects``
    (:class:`~twinflow.artifacts.drugs.DrugEffects`, :func:`remodel_wall`). ``cell_size``
    (m) overrides the case's ``mesh.cell_size``; ``info`` receives
    :class:`~twinflow.artifacts.mesh.LVMeshInfo`.
    """
    from mpi4py import MPI

    from twinflow.geometry.lv.ellipsoid import EllipsoidLV, build_lv_ellipsoid_model

    comm = MPI.COMM_WORLD if comm is None else comm
    case = read_stage_settings(settings, "mesh_lv")
    geometry_dir, out_path = Path(measurements).parent, Path(mesh)
    meas = LVMeasurements.read(measurements)
    h = cell_size or case["mesh"]["cell_size"] or DEFAULT_CELL_SIZE_M
    if not h > 0:
        raise InputError(f"{settings}: mesh cell_size must be > 0")
    z_base = meas.z_base_m
    effects = DrugEffects.read(drug_effects)
    scenario, thickness_factor = effects.scenario, effects.wall_thickness
    cavity_factor = effects.cavity_volume
    surfaces = remodel_wall(read_surfaces(geometry_dir, z_base), thickness_factor,
                            cavity_factor)
    shell_info: dict[str, Any] | None = None
    with gmsh_session() as gmsh:
        try:
            if comm.rank == 0:
                if meas.source == "measurements":
                    e = meas.ellipsoid
                    f = thickness_factor  # remodelling: wall and cavity (remodel_wall)
                    # radii about the ellipsoid's centre: with the cut at z_base the volume
                    # changes by about cavity_factor (mesh.json records the cavity)
                    c = cavity_factor ** (1.0 / 3.0)
                    geo = EllipsoidLV(
                        c * e.r_short_endo_m, c * e.r_long_endo_m,
                        c * e.r_short_endo_m + f * (e.r_short_epi_m - e.r_short_endo_m),
                        c * e.r_long_endo_m + f * (e.r_long_epi_m - e.r_long_endo_m), z_base)
                    build_lv_ellipsoid_model(geo, h)
                else:
                    shell_info = build_shell_model(surfaces, h, str(geometry_dir))
            out_path, data = _export(gmsh, out_path, comm)
        except TwinflowError:
            raise
        except Exception as err:  # gmsh raises bare Exception: make it a one-line input error
            msg = " ".join(str(err).split()) or type(err).__name__
            raise InputError(f"{geometry_dir}: gmsh could not mesh the LV wall at cell size "
                             f"{1e3 * h:g} mm ({msg})") from err
    mesh, facet_tags = data.mesh, data.facet_tags
    counts = {name: int(comm.allreduce(np.sum(facet_tags.values == tag)))
              for name, (tag, dim) in tags.LV_PHYSICAL_GROUPS.items() if dim == 2}
    v_mesh = mesh_cavity_volume(mesh, facet_tags, z_base)
    v_wall = wall_volume(mesh)          # collective: every rank
    v_surf = (meas.ellipsoid.cavity_volume_m3 if meas.source == "measurements"
              else volume_closed_at_base(surfaces.endo, z_base))
    if comm.rank == 0:
        arrays = read_mesh_arrays(out_path.with_suffix(".msh"))
        quality = MeshQuality(**cell_quality(arrays.points, arrays.tets),
                              **edge_quality(arrays.points, arrays.tets))
        edv = meas.end_diastolic_volume_m3
        LVMeshInfo(
            source=meas.source, cell_size_m=float(h), z_base_m=z_base, scenario=scenario,
            wall_thickness_factor=thickness_factor, cavity_volume_factor=cavity_factor,
            long_axis=[0.0, 0.0, 1.0],
            apex_direction="-z",
            tags={name: tag for name, (tag, _) in tags.LV_PHYSICAL_GROUPS.items()},
            files=MeshFiles(xdmf=out_path.name, msh=out_path.with_suffix(".msh").name,
                            grids=[tags.MESH_NAME, tags.FACET_TAGS_NAME, tags.CELL_TAGS_NAME]),
            cells=mesh.topology.index_map(3).size_global,
            vertices=mesh.topology.index_map(0).size_global, facets_per_tag=counts,
            cavity_volume_mesh_m3=v_mesh, cavity_volume_surface_m3=float(v_surf),
            cavity_volume_relative_difference=v_mesh / float(v_surf) - 1.0,
            wall_volume_mesh_m3=v_wall,
            shell=None if shell_info is None else LVShell(**shell_info),
            end_diastolic_volume_segmentation_m3=edv,
            cavity_volume_mesh_vs_segmentation=v_mesh / edv - 1.0 if edv else None,
            quality=quality,
        ).write(info)
        log.info("wrote %s: %d cells, cavity volume %.1f mL (%+.2f %% vs the surface), "
                 "smallest dihedral angle %.1f deg", out_path, quality.cells, v_mesh * 1e6,
                 100.0 * (v_mesh / float(v_surf) - 1.0), quality.min_dihedral_angle_deg)
    comm.barrier()
    return out_path
