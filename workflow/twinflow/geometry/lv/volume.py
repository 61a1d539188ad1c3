r"""LV from a 3D CT/MR label map (0 background, 1 cavity, 2 myocardium).

1. cavity = largest 26-connected component of label 1, holes filled; the epicardial region the
   same for labels 1 | 2;
2. **base plane**: the basal opening is where the cavity touches the background (mitral and
   aortic orifices; elsewhere the myocardium surrounds it). The plane is the least-squares fit
   (SVD) of the face centres between those cavity voxels and their background neighbours;
   its normal, oriented away from the cavity centroid, is the long axis :math:`e_z` and the
   centroid of the faces the origin of the LV frame (:mod:`~twinflow.geometry.lv.surfaces`);
3. **surfaces**: both regions are mirrored across the base plane for a few voxels (so the
   smoothing below does not round the basal rim), smoothed with a Gaussian
   (:math:`\sigma` = 1 voxel), contoured at 0.5 with VTK flying edges (Lorensen & Cline 1987
   marching cubes, Schroeder et al. 2015 flying edges; ``pyvista.ImageData.contour``),
   smoothed with Taubin's windowed-sinc filter (Taubin 1995; volume preserving), moved to the
   LV frame and clipped at ``z = 0``.

The voxel-count cavity volume of the mask is reported beside the surface volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvista as pv
from scipy import ndimage

from twinflow.errors import InputError
from twinflow.geometry.lv.surfaces import LVSurfaces

#: Gaussian smoothing of the binary regions before contouring (voxels).
SMOOTHING_SIGMA_VOXELS = 1.0
#: Voxels above the base plane filled with the mirror image of those below.
MIRROR_VOXELS = 4


def _largest_filled(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if n == 0:
        return np.zeros_like(mask, bool)
    sizes = ndimage.sum_labels(np.ones_like(lab), lab, index=np.arange(1, n + 1))
    return ndimage.binary_fill_holes(lab == 1 + int(np.argmax(sizes)))


@dataclass(slots=True)
class LabelVolume:
    """3D label map ``(k, j, i)`` = (slice, row, col) with ITK geometry in metres."""

    name: str
    labels: np.ndarray
    spacing: tuple[float, float, float]   # x, y, z (ITK order)
    origin: tuple[float, float, float]
    direction: np.ndarray                  # 3x3

    def index_to_world(self, kji: np.ndarray) -> np.ndarray:
        ijk = kji[:, ::-1] * np.asarray(self.spacing)
        return np.asarray(self.origin) + ijk @ np.asarray(self.direction).T

    def world_to_index(self, xyz: np.ndarray) -> np.ndarray:
        ijk = (xyz - np.asarray(self.origin)) @ np.asarray(self.direction) \
            / np.asarray(self.spacing)
        return ijk[:, ::-1]


@dataclass(slots=True)
class LVFrame:
    """Rigid map world -> LV frame: ``x_lv = R^T (x_world - origin)``."""

    origin: np.ndarray
    rotation: np.ndarray   # columns e_x, e_y, e_z in world coordinates

    def to_lv(self, xyz: np.ndarray) -> np.ndarray:
        return (xyz - self.origin) @ self.rotation

    def to_world(self, lv: np.ndarray) -> np.ndarray:
        return self.origin + lv @ self.rotation.T

    def as_dict(self) -> dict[str, Any]:
        return {"origin_m": self.origin.tolist(), "rotation": self.rotation.tolist(),
                "convention": "x_lv = rotation^T (x_world - origin); rotation columns are "
                              "the LV axes e_x, e_y, e_z (e_z apex -> base)"}


def base_frame(vol: LabelVolume, cavity: np.ndarray, region: np.ndarray) -> LVFrame:
    """LV frame from the basal opening of the cavity (module docstring, step 2)."""
    faces = []
    padded = np.pad(cavity, 1)
    outside = np.pad(~region, 1, constant_values=True)
    for axis in range(3):
        for shift in (-1, 1):
            nb = np.roll(outside, shift, axis=axis)
            hit = np.argwhere((padded & nb)[1:-1, 1:-1, 1:-1]).astype(float)
            if len(hit):
                other = hit.copy()
                other[:, axis] -= shift
                faces.append(0.5 * (hit + other))
    if not faces or sum(len(f) for f in faces) < 10:
        raise InputError(f"{vol.name}: the LV cavity is closed by myocardium everywhere; "
                         "cannot find the basal (valve) opening")
    pts = vol.index_to_world(np.concatenate(faces))
    origin = pts.mean(axis=0)
    _, sv, vt = np.linalg.svd(pts - origin, full_matrices=False)
    ez = vt[2]
    centroid = vol.index_to_world(np.argwhere(cavity).astype(float)).mean(axis=0)
    if np.dot(centroid - origin, ez) > 0:
        ez = -ez
    # e_x: the world axis least aligned with e_z, made orthogonal
    ref = np.eye(3)[int(np.argmin(np.abs(ez)))]
    ex = ref - np.dot(ref, ez) * ez
    ex /= np.linalg.norm(ex)
    return LVFrame(origin, np.stack([ex, np.cross(ez, ex), ez], axis=1))


def _mirror_above_base(vol: LabelVolume, frame: LVFrame, field: np.ndarray,
                       n_vox: int) -> np.ndarray:
    """Copy the mirror image (z -> -z in the LV frame) into the voxels just above the base."""
    out = field.copy()
    h = float(np.min(vol.spacing))
    kji = np.argwhere(np.ones(field.shape, bool)).astype(float)
    lv = frame.to_lv(vol.index_to_world(kji))
    sel = (lv[:, 2] > 0) & (lv[:, 2] < n_vox * h)
    mirrored = lv[sel].copy()
    mirrored[:, 2] = -mirrored[:, 2]
    idx = vol.world_to_index(frame.to_world(mirrored))
    vals = ndimage.map_coordinates(field.astype(np.float32), idx.T, order=1, cval=0.0)
    out.reshape(-1)[np.flatnonzero(sel)] = vals
    return out


def _surface(vol: LabelVolume, frame: LVFrame, region: np.ndarray) -> pv.PolyData:
    f = _mirror_above_base(vol, frame, region.astype(np.float32), MIRROR_VOXELS)
    f = ndimage.gaussian_filter(f, SMOOTHING_SIGMA_VOXELS)
    grid = pv.ImageData(dimensions=f.shape[::-1], spacing=(1.0, 1.0, 1.0), origin=(0, 0, 0))
    grid.point_data["f"] = f.ravel()      # (k, j, i) C order = x fastest
    surf = grid.contour([0.5], scalars="f", method="flying_edges").triangulate().clean()
    if surf.n_points == 0:
        raise InputError(f"{vol.name}: empty LV surface")
    surf = surf.connectivity("largest")
    ijk = np.asarray(surf.points)
    surf.points = frame.to_lv(vol.index_to_world(ijk[:, ::-1]))
    surf = surf.smooth_taubin(n_iter=30, pass_band=0.1)
    return surf.clip(normal=(0, 0, 1), origin=(0, 0, 0), invert=True).extract_surface(
        algorithm=None).triangulate().clean()


def volume_surfaces(vol: LabelVolume) -> tuple[LVSurfaces, LVFrame, dict[str, Any]]:
    """Endo/epi surfaces in the LV frame, the frame, and mask measurements."""
    cavity = _largest_filled(vol.labels == 1)
    region = _largest_filled(vol.labels >= 1)
    if cavity.sum() < 100 or (region & ~cavity).sum() < 100:
        raise InputError(f"{vol.name}: the 3D mask needs an LV cavity (1) and myocardium (2)")
    frame = base_frame(vol, cavity, region)
    surfaces = LVSurfaces(_surface(vol, frame, cavity), _surface(vol, frame, region), 0.0)
    voxel = float(np.prod(vol.spacing))
    info = {"cavity_volume_voxels_m3": float(cavity.sum()) * voxel,
            "wall_volume_voxels_m3": float((region & ~cavity).sum()) * voxel,
            "voxel_size_m": list(vol.spacing)}
    return surfaces, frame, info
