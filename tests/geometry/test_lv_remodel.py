"""Drug-arm remodelling of the LV: thinner wall, smaller cavity (the factors of a regimen:
tests/drugs/test_effects.py)."""

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


def test_reverse_remodelling_shrinks_the_cavity_and_keeps_the_thickness() -> None:
    lv = LVSurfaces(_half_sphere(0.02), _half_sphere(0.03), 0.0)
    out = remodel_wall(lv, 1.0, cavity=0.9 ** 3)
    endo = np.linalg.norm(np.asarray(out.endo.points), axis=1)
    epi = np.linalg.norm(np.asarray(out.epi.points), axis=1)
    # about the rim's centre (the origin here): every point at 0.9 of its distance
    assert np.allclose(np.asarray(out.endo.points), 0.9 * np.asarray(lv.endo.points),
                       atol=1e-12)
    assert np.allclose(endo, 0.018, rtol=3e-3)
    assert np.allclose(epi, 0.018 + 0.01, rtol=2e-3)
    both = remodel_wall(lv, 0.8, cavity=0.9 ** 3)
    assert np.allclose(np.linalg.norm(np.asarray(both.epi.points), axis=1), 0.018 + 0.008,
                       rtol=2e-3)
    base = np.isclose(np.asarray(lv.epi.points)[:, 2], 0.0)
    assert np.allclose(np.asarray(both.epi.points)[base, 2], 0.0)
