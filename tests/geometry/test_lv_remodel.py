"""Drug-arm remodelling of the LV wall: thinner wall at a fixed cavity (the factor of a
regimen: tests/drugs/test_effects.py)."""

import numpy as np
import pyvista as pv

from twinflow.geometry.lv.mesh import remodel_wall
from twinflow.geometry.lv.surfaces import LVSurfaces


def _half_sphere(r: float) -> pv.PolyData:
    s = pv.Sphere(radius=r, theta_resolution=60, phi_resolution=60)
    return s.clip(normal=(0, 0, 1), origin=(0, 0, 0), invert=True)


def test_remodel_scales_thickness_and_keeps_cavity() -> None:
    lv = LVSurfaces(_half_sphere(0.02), _half_sphere(0.03), 0.0)
    out = remodel_wall(lv, 0.8)
    radii = np.linalg.norm(np.asarray(out.epi.points), axis=1)
    assert np.allclose(radii, 0.02 + 0.8 * 0.01, rtol=2e-3)
    assert out.endo is lv.endo
    assert remodel_wall(lv, 1.0) is lv
