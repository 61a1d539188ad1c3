"""Watertight lumen and outer-wall surfaces of a :class:`~.model.BifurcationModel`.

The level set :math:`\\phi` of the model is sampled on a regular grid
(``pyvista.ImageData``), its zero level is extracted with flying edges (VTK), optionally
decimated, and each branch is cut by its own end plane (``clip_scalar`` on the signed
distance beyond the plane of the branch that owns the point, so a plane never cuts a
neighbouring branch); the open ends are closed with planar fans (:func:`cap_planar_holes`).
Where that fails (an end plane cutting a neighbour near its rim leaves loops off the planes),
the surface is instead the zero level of the level set with each branch cut by its own end
plane inside :math:`\\phi` (:func:`_capped_level_set_surface`; rims rounded over ~1 voxel).
Triangles of the caps carry
the facet tags of :mod:`twinflow.geometry.tags` (INLET on the CCA, OUTLET_ICA, OUTLET_ECA),
all others WALL, in the cell array ``facet_tag``. Linear interpolation of a distance-like
field places the zero level to O(h²/R) (h grid step, R radius), well below h.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinflow.geometry import tags
from twinflow.geometry.carotid.model import BifurcationModel

#: Grid step of the level-set sampling (m).
DEFAULT_VOXEL_M = 0.15e-3


def build_surface(model: BifurcationModel, outer: bool, voxel: float = DEFAULT_VOXEL_M,
                  extend: dict[str, float] | None = None, target_edge: float | None = None
                  ) -> Any:
    """Closed, capped, tagged surface (pyvista.PolyData, m) of the lumen or outer wall."""
    import pyvista as pv

    extend = extend or {}
    margin = 1.5e-3
    pts = []
    r_max = 0.0
    for name, b in model.branches.items():
        lo = b.s_min - (extend.get(name, 0.0) if name == "cca" else 0.0) - margin
        hi = b.s_max + (extend.get(name, 0.0) if name != "cca" else 0.0) + margin
        pts += [lo * b.direction, hi * b.direction]
        r_max = max(r_max, float(b.outer_radius.max()),
                    float((b.lumen_radius + np.abs(b.lumen_offset)).max()))
    pts_a = np.array(pts)
    lo_c = pts_a.min(axis=0) - r_max - 4 * voxel
    hi_c = pts_a.max(axis=0) + r_max + 4 * voxel
    dims = np.ceil((hi_c - lo_c) / voxel).astype(int) + 1
    grid = pv.ImageData(dimensions=dims, spacing=(voxel,) * 3, origin=lo_c)
    # evaluate in slabs to bound memory; bounded ends: clamp s a margin beyond the planes
    ext_m = {k: extend.get(k, 0.0) + margin for k in model.branches}
    phi = np.empty(grid.n_points)
    xs = lo_c[0] + voxel * np.arange(dims[0])
    ys = lo_c[1] + voxel * np.arange(dims[1])
    zs = lo_c[2] + voxel * np.arange(dims[2])
    slab = dims[0] * dims[1]
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    base = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)
    planes = []
    for name, b in model.branches.items():
        centre, out_n = b.end()
        planes.append((name, centre + extend.get(name, 0.0) * out_n, out_n))
    for k, z in enumerate(zs):
        base[:, 2] = z
        phi[k * slab:(k + 1) * slab] = model.level_set(base, outer, ext_m)
    grid.point_data["phi"] = phi
    contour = grid.contour([0.0], scalars="phi", method="flying_edges").triangulate()
    if target_edge is not None:
        n_target = max(2000, int(contour.area / (0.43 * target_edge ** 2)))
        if n_target < contour.n_cells:
            contour = contour.decimate(1.0 - n_target / contour.n_cells)
    # cut each branch by its own end plane only (an infinite plane could cut a neighbour):
    # g = signed distance beyond the end plane of the branch that owns the point
    owner = np.argmin(model.branch_level_sets(np.asarray(contour.points), outer, ext_m),
                      axis=0)
    g = np.full(contour.n_points, -1.0)
    for i, (_, centre, out_n) in enumerate(planes):
        sel = owner == i
        g[sel] = (np.asarray(contour.points)[sel] - centre) @ out_n
    contour.point_data["beyond_end"] = g
    surf = contour.clip_scalar(scalars="beyond_end", value=0.0, invert=True)
    surf = surf.extract_surface(algorithm=None).triangulate()
    try:
        surf = cap_planar_holes(surf.clean(), planes)
    except ValueError:
        # an end plane that also cuts a neighbouring branch near its rim leaves loops the
        # planar fans cannot close: contour the capped level set instead (below)
        surf = _capped_level_set_surface(grid, model, outer, ext_m, planes, voxel)
    surf = surf.compute_normals(cell_normals=True, point_normals=False,
                                auto_orient_normals=True, consistent_normals=True)
    return surf


def _capped_level_set_surface(grid: Any, model: BifurcationModel, outer: bool,
                              ext_m: dict[str, float],
                              planes: list[tuple[str, np.ndarray, np.ndarray]],
                              voxel: float) -> Any:
    """Fallback of :func:`build_surface`: zero level of
    :math:`\\min_b \\max(\\phi_b, (\\mathbf{x} - \\mathbf{c}_b)\\cdot\\mathbf{n}_b)`,
    each branch tube cut by its own end plane (centre :math:`\\mathbf{c}_b`, outward
    normal :math:`\\mathbf{n}_b`) inside the level set, so the contour is closed by
    construction. The cap rims are rounded over about one voxel (the max of two distance
    fields is sampled linearly); triangles within half a voxel of an end plane whose normal
    is within 25° of the plane normal carry that end's tag.
    """
    pts = np.asarray(grid.points)
    phi = np.empty(len(pts))
    chunk = 500_000
    for a in range(0, len(pts), chunk):
        x = pts[a:a + chunk]
        per = model.branch_level_sets(x, outer, ext_m)
        for i, (_, centre, out_n) in enumerate(planes):
            per[i] = np.maximum(per[i], (x - centre) @ out_n)
        phi[a:a + chunk] = per.min(axis=0)
    grid.point_data["phi_capped"] = phi
    surf = grid.contour([0.0], scalars="phi_capped", method="flying_edges").triangulate()
    surf = surf.clean().compute_normals(cell_normals=True, point_normals=False,
                                        auto_orient_normals=True, consistent_normals=True)
    if surf.n_open_edges:
        raise ValueError(f"capped level set: {surf.n_open_edges} open edges")
    centres = np.asarray(surf.cell_centers().points)
    normals = np.asarray(surf.cell_data["Normals"])
    tag = np.full(surf.n_cells, tags.WALL, np.int32)
    for name, centre, out_n in planes:
        on = (np.abs((centres - centre) @ out_n) < 0.5 * voxel) & (normals @ out_n > 0.9)
        if not on.any():
            raise ValueError(f"no cap on the {name} end plane")
        tag[on] = tags.BRANCH_END_TAGS[name]
    out = pv_polydata(surf)
    out.cell_data["facet_tag"] = tag
    return out


def pv_polydata(surf: Any) -> Any:
    """A bare copy (points and triangles only) of a pyvista surface."""
    import pyvista as pv

    return pv.PolyData(np.asarray(surf.points), surf.faces.copy())


def cap_planar_holes(surf: Any, planes: list[tuple[str, np.ndarray, np.ndarray]]) -> Any:
    """Close the open ends left by the plane clips with triangle fans; tag the caps.

    Hand-written because ``vtkClipClosedSurface`` leaves open edges on dense marching-cubes
    loops (tested with VTK 9.7): each boundary loop on an end plane is closed by a fan
    around its centroid, which is valid for the star-shaped (circle-like) sections here.
    Fan triangles reverse the boundary edges, so the orientation stays consistent.
    """
    import pyvista as pv

    faces = surf.faces.reshape(-1, 4)[:, 1:]
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = edges[:, 0].astype(np.int64) * surf.n_points + edges[:, 1]
    rkey = edges[:, 1].astype(np.int64) * surf.n_points + edges[:, 0]
    boundary = edges[~np.isin(key, rkey)]
    points = surf.points.copy()
    size = float(np.linalg.norm(np.ptp(points, axis=0)))
    new_faces = [faces]
    new_points = [points]
    tag = [np.full(len(faces), tags.WALL, np.int32)]
    n_pts = len(points)
    used = np.zeros(len(boundary), bool)
    for name, centre, normal in planes:
        mid = 0.5 * (points[boundary[:, 0]] + points[boundary[:, 1]])
        on = (np.abs((mid - centre) @ normal) < 1e-7 * size) & ~used
        if not on.any():
            raise ValueError(f"no open boundary on the {name} end plane")
        used |= on
        loop = boundary[on]
        c = points[np.unique(loop)].mean(axis=0)
        new_points.append(c[None, :])
        fan = np.stack([loop[:, 1], loop[:, 0], np.full(len(loop), n_pts)], axis=1)
        n_pts += 1
        new_faces.append(fan)
        tag.append(np.full(len(fan), tags.BRANCH_END_TAGS[name], np.int32))
    if not used.all():
        raise ValueError(f"{int((~used).sum())} open edges off the end planes")
    all_faces = np.concatenate(new_faces)
    cells = np.concatenate([np.full((len(all_faces), 1), 3), all_faces], axis=1).ravel()
    out = pv.PolyData(np.concatenate(new_points), cells)
    out.cell_data["facet_tag"] = np.concatenate(tag)
    return out
