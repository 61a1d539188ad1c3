r"""LV surfaces in the LV frame and the measurements taken on them.

**LV frame** (shared by every reconstruction route and the mesh): long axis ``z`` pointing
from the apex to the base, base plane ``z = z_base`` (0 for reconstructed ventricles), apex
towards ``-z``, metres — as :mod:`twinflow.geometry.lv.ellipsoid` and Land et al. 2015.
The endocardium and the epicardium are *open* triangulated surfaces whose rim lies in the
base plane.

**Cavity volume closed at the base** (divergence theorem with the field
:math:`\mathbf F = (0, 0, z - z_b)`, which vanishes on the basal cap):

.. math::
    V = \oint_{\partial\Omega} (z - z_b)\, n_z\, dA = \int_{S} (z - z_b)\, n_z\, dA ,

summed over the triangles of the open surface :math:`S`; the sign is fixed so that
:math:`V > 0`. The same formula, on the ENDO facets of the mesh, gives the mesh's cavity
volume (:func:`twinflow.geometry.lv.mesh.mesh_cavity_volume`) and is what the mechanics
solver uses.

**Wall thickness**: the median, over the endocardial vertices, of the distance to the
epicardial surface (``vtkImplicitPolyDataDistance`` through pyvista), i.e. the 3D
closest-point thickness. **LV mass** = wall volume x 1.05 g/mL (myocardial density,
Lang et al. 2015, J Am Soc Echocardiogr 28:1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from twinflow.errors import InputError
from twinflow.geometry.mesh_io import read_surface, write_surface

#: Myocardial density 1.05 g/mL = 1050 kg/m^3 (Lang et al. 2015, J Am Soc Echocardiogr 28:1).
MYOCARDIAL_DENSITY_KG_M3 = 1050.0


def volume_closed_at_base(surface: pv.PolyData, z_base: float = 0.0) -> float:
    """Volume enclosed by an open surface and the plane ``z = z_base`` (m^3, module doc)."""
    tri = surface.triangulate()
    faces = tri.faces.reshape(-1, 4)[:, 1:]
    p = tri.points[faces]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])  # = 2 A n
    zc = p[:, :, 2].mean(axis=1) - z_base
    # (z - z_b) n_z is linear on a triangle: its integral is the centroid value times A
    return float(abs(0.5 * np.sum(zc * cross[:, 2])))


def rings_to_surface(rings: np.ndarray, apex: np.ndarray) -> pv.PolyData:
    """Open triangulated surface from rings ``(levels, K, 3)`` (base first) and an apex point."""
    n_lev, k, _ = rings.shape
    pts = np.vstack([rings.reshape(-1, 3), apex[None, :]])
    j = np.arange(k)
    jn = (j + 1) % k
    faces = []
    for i in range(n_lev - 1):
        a, b = i * k + j, i * k + jn
        c, d = (i + 1) * k + jn, (i + 1) * k + j
        faces.append(np.stack([np.full(k, 3), a, b, c], 1))
        faces.append(np.stack([np.full(k, 3), a, c, d], 1))
    last = (n_lev - 1) * k
    faces.append(np.stack([np.full(k, 3), last + j, last + jn, np.full(k, len(pts) - 1)], 1))
    return pv.PolyData(pts, np.concatenate(faces).ravel())


@dataclass(slots=True)
class LVSurfaces:
    """Open endo- and epicardial surfaces of one phase in the LV frame (m)."""

    endo: pv.PolyData
    epi: pv.PolyData
    z_base: float = 0.0

    @property
    def cavity_volume(self) -> float:
        return volume_closed_at_base(self.endo, self.z_base)

    @property
    def epicardial_volume(self) -> float:
        return volume_closed_at_base(self.epi, self.z_base)

    @property
    def wall_volume(self) -> float:
        return self.epicardial_volume - self.cavity_volume

    def wall_thickness(self) -> float:
        """Median closest-point distance endo -> epi (m)."""
        d = np.abs(self.endo.compute_implicit_distance(self.epi)["implicit_distance"])
        return float(np.median(d))

    def long_axis_lengths(self) -> tuple[float, float]:
        """Base-plane-to-apex distances of endo and epi (m)."""
        return (float(self.z_base - self.endo.points[:, 2].min()),
                float(self.z_base - self.epi.points[:, 2].min()))

    def measurements(self) -> dict[str, Any]:
        cavity, wall = self.cavity_volume, self.wall_volume
        if wall <= 0:
            raise InputError("lv reconstruction: the epicardium does not enclose the "
                             "endocardium (wall volume <= 0)")
        l_endo, l_epi = self.long_axis_lengths()
        return {"cavity_volume_surface_m3": cavity, "epicardial_volume_m3": self.epicardial_volume,
                "wall_volume_m3": wall, "lv_mass_kg": wall * MYOCARDIAL_DENSITY_KG_M3,
                "wall_thickness_m": self.wall_thickness(),
                "endo_long_axis_m": l_endo, "epi_long_axis_m": l_epi,
                "endo_n_points": int(self.endo.n_points), "epi_n_points": int(self.epi.n_points)}

    def write(self, out_dir: Path, suffix: str = "") -> dict[str, str]:
        """Write ``endo<suffix>.vtp`` and ``epi<suffix>.vtp`` atomically; return the names."""
        return {name: write_surface(surf, Path(out_dir) / f"{name}{suffix}.vtp").name
                for name, surf in (("endo", self.endo), ("epi", self.epi))}


def read_surfaces(geometry_dir: Path, z_base: float = 0.0, suffix: str = "") -> LVSurfaces:
    """Read the surfaces written by :meth:`LVSurfaces.write`."""
    endo, epi = (read_surface(Path(geometry_dir) / f"{n}{suffix}.vtp", "LV surface")
                 for n in ("endo", "epi"))
    return LVSurfaces(endo, epi, z_base)
