"""Compare a reconstruction with the ground truth of a synthetic patient (``truth.json``).

The true lumen of :mod:`twinflow.imaging.synth.carotid` is the union of per-branch circles
about straight centrelines (nearest centreline point, so ends are rounded). Its boundary is
sampled densely (rings every 0.1 mm, 0.05 mm along the circumference) and only the parts of
each tube outside the other tubes are kept. The *mean surface distance* is the symmetric
mean :math:`\\tfrac12(\\bar d(R\\to T) + \\bar d(T\\to R))` over the region both models cover
(each branch up to the shorter of the two lengths, 1 mm away from its open end): R → T by
nearest truth sample (``scipy.spatial.cKDTree``), T → R by the exact distance to the
reconstructed triangles (``vtkImplicitPolyDataDistance`` via pyvista).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from twinflow.geometry import tags
from twinflow.geometry.carotid.model import BifurcationModel
from twinflow.io import read_json


@dataclass(slots=True)
class TruthBranch:
    start: np.ndarray
    tangent: np.ndarray
    s: np.ndarray          # local arclength from start, m
    arclength: np.ndarray  # truth arclength (CCA negative)
    radius: np.ndarray
    offset: np.ndarray     # (n, 3)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TruthBranch:
        c = np.array(d["centerline_m"])
        t = np.array(d["tangent"], float)
        t /= np.linalg.norm(t)
        return cls(c[0], t, (c - c[0]) @ t, np.array(d["arclength_m"]),
                   np.array(d["lumen_radius_m"]), np.array(d["lumen_centre_offset_m"]))

    def local(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(arclength of the nearest axis point, signed distance to this tube)."""
        s = np.clip((x - self.start) @ self.tangent, self.s[0], self.s[-1])
        r = np.interp(s, self.s, self.radius)
        off = np.stack([np.interp(s, self.s, self.offset[:, k]) for k in range(3)], 1)
        centre = self.start + s[:, None] * self.tangent + off
        return np.interp(s, self.s, self.arclength), np.linalg.norm(x - centre, axis=1) - r


def load_truth(truth_json: Path) -> dict[str, TruthBranch]:
    data = read_json(truth_json, "ground truth")
    return {k: TruthBranch.from_json(v) for k, v in data["branches"].items()}


def _region(x: np.ndarray, truth: dict[str, TruthBranch], limits: dict[str, tuple[float, float]]
            ) -> np.ndarray:
    names = list(truth)
    loc = [truth[n].local(x) for n in names]
    phi = np.stack([d for _, d in loc])
    owner = np.argmin(phi, axis=0)
    keep = np.zeros(len(x), bool)
    for i, n in enumerate(names):
        s = loc[i][0]
        lo, hi = limits[n]
        keep |= (owner == i) & (s >= lo) & (s <= hi)
    return keep


def truth_boundary(truth: dict[str, TruthBranch], ring_step: float = 0.1e-3,
                   arc_step: float = 0.05e-3) -> np.ndarray:
    """Points on the boundary of the union of the true tubes."""
    pts = []
    for name, b in truth.items():
        n1 = np.cross(b.tangent, [0.0, 1.0, 0.0])
        n1 = n1 / np.linalg.norm(n1) if np.linalg.norm(n1) > 1e-9 else np.array([1.0, 0, 0])
        n2 = np.cross(b.tangent, n1)
        s = np.arange(b.s[0], b.s[-1], ring_step)
        r = np.interp(s, b.s, b.radius)
        off = np.stack([np.interp(s, b.s, b.offset[:, k]) for k in range(3)], 1)
        n_th = int(np.ceil(2 * np.pi * r.max() / arc_step))
        th = np.linspace(0, 2 * np.pi, n_th, endpoint=False)
        ring = np.cos(th)[None, :, None] * n1 + np.sin(th)[None, :, None] * n2
        p = (b.start + s[:, None] * b.tangent + off)[:, None, :] + r[:, None, None] * ring
        p = p.reshape(-1, 3)
        others = [truth[o].local(p)[1] for o in truth if o != name]
        outside = np.all(np.stack(others) > 0, axis=0) if others else np.ones(len(p), bool)
        pts.append(p[outside])
    return np.concatenate(pts)


def surface_distance(surface: Any, truth_json: Path, model: BifurcationModel,
                     end_margin: float = 1e-3) -> dict[str, float]:
    """Mean/95th-percentile/max distances between a reconstructed lumen and the truth (m)."""
    truth = load_truth(truth_json)
    limits = {}
    for n, tb in truth.items():
        mb = model.branches[n]
        if n == "cca":
            limits[n] = (max(tb.arclength[0], mb.s_min) + end_margin, 0.0)
        else:
            limits[n] = (0.0, min(tb.arclength[-1], mb.s_max) - end_margin)
    wall = surface.extract_cells(np.nonzero(surface.cell_data["facet_tag"] == tags.WALL)[0])
    rec_pts = np.asarray(wall.points)
    rec_pts = rec_pts[_region(rec_pts, truth, limits)]
    t_pts = truth_boundary(truth)
    t_pts = t_pts[_region(t_pts, truth, limits)]
    d_rt = cKDTree(t_pts).query(rec_pts)[0]
    import pyvista as pv

    probe = pv.PolyData(t_pts)
    d_tr = np.abs(probe.compute_implicit_distance(surface.extract_surface(algorithm=None))
                  ["implicit_distance"])
    both = np.concatenate([d_rt, d_tr])
    return {"mean_surface_distance_m": 0.5 * (float(d_rt.mean()) + float(d_tr.mean())),
            "reconstruction_to_truth_mean_m": float(d_rt.mean()),
            "truth_to_reconstruction_mean_m": float(d_tr.mean()),
            "p95_m": float(np.percentile(both, 95)), "max_m": float(both.max())}
