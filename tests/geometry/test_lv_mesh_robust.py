"""Robustness of the LV surface route: segmented-mask artefacts must either be repaired
(biplane profiles) or end in a one-line InputError, never a raw gmsh exception."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv
from lv_synth_cases import write_case, write_surfaces

from twinflow.artifacts.mesh import LVMeshInfo
from twinflow.errors import InputError
from twinflow.geometry.lv.biplane import ApicalView, biplane_surfaces
from twinflow.geometry.lv.mesh import check_wall
from twinflow.geometry.lv.surfaces import LVSurfaces, rings_to_surface


def _half_ellipsoid(a: float, c: float, n_lev: int = 20, k: int = 36,
                    dent: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 0.95 * np.pi / 2, n_lev)
    phi = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
    r = a * np.cos(t)[:, None] * (1.0 - dent * np.exp(-((phi[None, :] - np.pi) / 0.4) ** 2)
                                  * np.exp(-(t[:, None] / 0.3) ** 2))
    rings = np.stack([r * np.cos(phi), r * np.sin(phi),
                      np.broadcast_to(-c * np.sin(t)[:, None], r.shape)], axis=2)
    return rings, np.array([0.0, 0.0, -c])


def test_touching_wall_raises_input_error(tmp_path: Path) -> None:
    """An epicardium dented through the endocardium near the base: InputError naming the
    folder (a crossing deeper than MAX_CROSSING_FRACTION of the wall; before the fix gmsh raised
    "PLC Error: A segment and a facet intersect")."""
    case = write_case(tmp_path, 1, 7, "images", cell_size=8e-3)
    geo = tmp_path / "geo"
    endo = rings_to_surface(*_half_ellipsoid(0.025, 0.08))
    epi = rings_to_surface(*_half_ellipsoid(0.033, 0.09, dent=0.35))
    write_surfaces(geo, LVSurfaces(endo, epi, 0.0))
    with pytest.raises(InputError) as err:
        case.mesh(geo, tmp_path / "mesh")
    assert str(geo) in str(err.value) and "\n" not in str(err.value)
    # the same walls without the dent mesh
    write_surfaces(geo, LVSurfaces(endo, rings_to_surface(*_half_ellipsoid(0.033, 0.09)), 0.0))
    assert case.mesh(geo, tmp_path / "mesh2").is_file()


def _apical_mask(width: float, crack: bool) -> np.ndarray:
    """Label map (1 cavity, 2 myocardium), apex at the top, base at row 230; with ``crack``
    a 1-pixel background channel between cavity and left myocardium, open at the base, and a
    rounded cavity corner at the annulus line (CNN-like artefacts)."""
    rr, cc = np.mgrid[0:256, 0:256].astype(float)
    inside = lambda a, c: ((cc - 128) / a) ** 2 + ((rr - 230) / c) ** 2 <= 1  # noqa: E731
    lab = np.zeros((256, 256), np.uint8)
    above = rr <= 230
    lab[inside(width + 22, 200) & above] = 2
    lab[inside(width, 180) & above] = 1
    if crack:
        edge = inside(width, 180) & ~inside(width - 1.5, 180 - 1.5) & (cc < 128) & (rr > 200)
        lab[edge & above] = 0
        lab[(rr > 224) & (cc < 128 - width + 8) & (lab == 1)] = 0
    return lab


@pytest.mark.parametrize("crack", [False, True])
def test_biplane_walls_do_not_intersect(crack: bool) -> None:
    sp = (0.4e-3, 0.4e-3)
    v4 = ApicalView("4ch", _apical_mask(60, crack), sp)
    v2 = ApicalView("2ch", _apical_mask(55, crack), sp)
    surfaces = biplane_surfaces(v4, v2)
    check_wall(surfaces, "synthetic")          # raises InputError if they cross
    _, n = surfaces.endo.collision(surfaces.epi, contact_mode=0)
    assert n == 0
    repaired = int(surfaces.epi.field_data["wall_repaired_levels"][0])
    assert (repaired > 0) == crack


def test_shallow_basal_crossing_is_repaired_and_shell_walls_do_not_cross(tmp_path: Path) -> None:
    """Reconstructed walls that graze near the base (as the CNN-derived demo surfaces do) are
    resampled into a valid wall (radial_shell) with the input volumes; gmsh meshes it."""
    from twinflow.geometry.lv.mesh import radial_shell
    from twinflow.geometry.lv.surfaces import volume_closed_at_base

    endo = rings_to_surface(*_half_ellipsoid(0.025, 0.08))
    epi = rings_to_surface(*_half_ellipsoid(0.033, 0.09, dent=0.26))
    surfaces = LVSurfaces(endo, epi, 0.0)
    with pytest.raises(InputError):
        check_wall(surfaces, "input")            # the input surfaces do touch
    shell = radial_shell(surfaces, 0.008)
    assert shell["repaired_rays"] > 0 and shell["volume_scale"] is not None
    pts, n = shell["points"], shell["rays"]
    faces = lambda t: np.hstack([np.full((len(t), 1), 3), t]).ravel()  # noqa: E731
    s_endo = pv.PolyData(pts, faces(shell["endo"])).clean()
    s_epi = pv.PolyData(pts, faces(shell["epi"])).clean()
    _, contacts = s_endo.collision(s_epi, contact_mode=0)
    assert contacts == 0
    assert volume_closed_at_base(s_endo) == pytest.approx(volume_closed_at_base(endo), rel=1e-9)
    assert volume_closed_at_base(s_epi) == pytest.approx(volume_closed_at_base(epi), rel=1e-9)
    assert np.all(np.abs(pts[shell["base"].ravel(), 2]) < 1e-12)
    assert n == len(pts) // 2
    case = write_case(tmp_path, 1, 7, "images", cell_size=8e-3)
    geo = tmp_path / "geo"
    write_surfaces(geo, surfaces)
    assert case.mesh(geo, tmp_path / "mesh").is_file()
    info = LVMeshInfo.read(tmp_path / "mesh" / "mesh.json")
    assert info.shell.repaired_rays > 0
    assert abs(info.cavity_volume_relative_difference) < 1e-6
