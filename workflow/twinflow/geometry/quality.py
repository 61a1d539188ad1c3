r"""Quality measures of linear tetrahedral meshes, one implementation for every mesher.

Used by the carotid lumen mesh (``mesh_quality.json``), the carotid vessel-wall mesh (its
``wall_mesh`` section; the wall extruder also repairs cells by these measures) and the LV
mesh (``quality`` in ``mesh.json``). Pure numpy on arrays of one process.

* **Dihedral angles**: the six interior angles between the face planes of a tetrahedron,
  :math:`\pi - \angle(\mathbf n_i, \mathbf n_j)` for the outward unit normals of faces
  :math:`i \ne j`. A regular tetrahedron has 70.5° everywhere; slivers and needles have
  angles near 0° (or 180°), which spoil the conditioning of finite-element matrices
  (Shewchuk 2002, "What is a good linear finite element?").
* **Signed volume** :math:`V = \tfrac16\,((\mathbf b - \mathbf a) \times
  (\mathbf c - \mathbf a)) \cdot (\mathbf d - \mathbf a)`; a cell with :math:`V \le 0` is
  inverted (the meshers write positively oriented cells).
* **Shortest edge**, and its smallest ratio to the size field at the cell centroid: geometric
  features smaller than the size field (slivers of CAD faces) show up as ratios << 1.
* gmsh's **SICN** (signed inverse condition number) and **gamma** (inscribed/circumscribed
  radius ratio), for meshes still in a gmsh model.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

#: Local vertex numbers of the four faces (face i is opposite vertex i).
_FACES = ((1, 2, 3), (0, 3, 2), (0, 1, 3), (0, 2, 1))


def dihedral_angles(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """The six interior dihedral angles (rad) of each tetrahedron, shape (n, 6)."""
    p = points[tets]  # (n, 4, 3)
    normals = []
    for a, b, c in _FACES:
        n = np.cross(p[:, b] - p[:, a], p[:, c] - p[:, a])
        normals.append(n / np.linalg.norm(n, axis=1, keepdims=True))
    out = []
    for i in range(4):
        for j in range(i + 1, 4):
            cos = np.clip(-np.einsum("ij,ij->i", normals[i], normals[j]), -1.0, 1.0)
            out.append(np.arccos(cos))
    return np.stack(out, axis=1)


def min_dihedral_angles(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """The smallest dihedral angle (rad) of each tetrahedron, shape (n,)."""
    return dihedral_angles(points, tets).min(axis=1)


def signed_volumes(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Signed volume of each tetrahedron (module docstring), shape (n,)."""
    p = points[tets]
    return np.einsum("ij,ij->i", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]),
                     p[:, 3] - p[:, 0]) / 6.0


def edge_lengths(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """The six edge lengths of each tetrahedron, shape (n, 6)."""
    return np.stack([np.linalg.norm(points[tets[:, i]] - points[tets[:, j]], axis=1)
                     for i in range(4) for j in range(i + 1, 4)], axis=1)


def cell_quality(points: np.ndarray, tets: np.ndarray) -> dict[str, Any]:
    """Counts, dihedral angles (deg: min, max, 1st percentile of the per-cell minimum),
    inverted cells and the summed signed volume (m³)."""
    ang = np.rad2deg(dihedral_angles(points, tets))
    vols = signed_volumes(points, tets)
    return {"cells": int(len(tets)), "vertices": int(len(points)),
            "min_dihedral_angle_deg": float(ang.min()),
            "max_dihedral_angle_deg": float(ang.max()),
            "p01_min_dihedral_angle_deg": float(np.percentile(ang.min(axis=1), 1)),
            "inverted_cells": int((vols <= 0).sum()),
            "mesh_volume_m3": float(vols.sum())}


def edge_quality(points: np.ndarray, tets: np.ndarray,
                 size_at: Callable[[float, float, float], float] | None = None
                 ) -> dict[str, float]:
    """The shortest edge (m) and, with a size field ``size_at(x, y, z)`` (m), the smallest
    ratio of a cell's shortest edge to the size at its centroid."""
    edges = edge_lengths(points, tets)
    out = {"min_edge_length_m": float(edges.min())}
    if size_at is not None:
        target = np.array([size_at(*c) for c in points[tets].mean(axis=1)])
        out["min_edge_to_size_ratio"] = float((edges.min(axis=1) / target).min())
    return out


def gmsh_element_quality(gmsh: ModuleType) -> dict[str, float]:
    """gmsh's SICN (min, mean) and gamma (min) of the tetrahedra of the current model."""
    _, etags, _ = gmsh.model.mesh.getElements(3)
    sicn = gmsh.model.mesh.getElementQualities(etags[0], "minSICN")
    gamma = gmsh.model.mesh.getElementQualities(etags[0], "gamma")
    return {"min_sicn": float(np.min(sicn)), "mean_sicn": float(np.mean(sicn)),
            "min_gamma": float(np.min(gamma))}
