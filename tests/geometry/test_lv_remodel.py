"""Drug-arm remodelling of the LV wall: thinner wall at a fixed cavity."""

import numpy as np
import pyvista as pv

from twinflow.geometry.lv.mesh import remodel_wall, wall_thickness_factor
from twinflow.geometry.lv.surfaces import LVSurfaces
from twinflow.units import to_si


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


def test_wall_factor_follows_the_drug_arm() -> None:
    case = {"scenarios": [
        {"id": "baseline", "drug": None, "dose": None, "frequency": None, "duration": None},
        {"id": "arm", "drug": "valsartan", "dose": to_si(80, "mg"),
         "frequency": to_si(1, "1/day"), "duration": to_si(8, "month")}]}
    assert wall_thickness_factor(case, "baseline") == 1.0
    assert abs(wall_thickness_factor(case, "arm") - 106 / 127) < 1e-9
