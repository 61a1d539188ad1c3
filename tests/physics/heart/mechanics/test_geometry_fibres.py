"""LV ellipsoid mesh (tags, volumes) and LDRB fibres (helix angles endo/epi)."""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from twinflow.geometry import tags
from twinflow.geometry.lv.ellipsoid import LAND2015, create_lv_mesh, mesh_lv_ellipsoid
from twinflow.geometry.mesh_io import read_msh
from twinflow.physics.heart.mechanics.fibres import ldrb_fibres


@pytest.fixture(scope="module")
def lv():
    return create_lv_mesh(MPI.COMM_WORLD, LAND2015, cell_size=3.0, order=2)


def test_tags_and_cavity_volume(lv):
    mesh, ft = lv.mesh, lv.facet_tags
    assert set(np.unique(ft.values)) == {tags.BASE, tags.ENDO, tags.EPI}
    ds = ufl.Measure("ds", mesh, subdomain_data=ft)
    x, n = ufl.SpatialCoordinate(mesh), ufl.FacetNormal(mesh)
    vol = dolfinx.fem.assemble_scalar(dolfinx.fem.form(-(x[2] - 5.0) * n[2] * ds(tags.ENDO)))
    assert vol == pytest.approx(LAND2015.cavity_volume(), rel=2e-3)  # curved P2 geometry
    base = dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ds(tags.BASE)))
    exact = np.pi * (100 * (1 - 25 / 400) - 49 * (1 - 25 / 289))
    assert base == pytest.approx(exact, rel=2e-3)


def test_mesh_file_roundtrip(tmp_path):
    path = mesh_lv_ellipsoid(0.025, 0.07, 0.035, 0.08, 0.015, 0.012, tmp_path / "lv.msh")
    md = read_msh(path, MPI.COMM_WORLD)
    assert set(np.unique(md.facet_tags.values)) == {1, 2, 3}
    assert "ENDOPT" in md.physical_groups


def test_ldrb_helix_angles(lv):
    ff = ldrb_fibres(lv.mesh, lv.facet_tags, 60.0, -60.0)
    f = ff.f0.x.array.reshape(-1, 3)
    X = ff.f0.function_space.tabulate_dof_coordinates()
    assert np.allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-8)
    # helix angle at mid-ventricle, endo (phi = 0) and epi (phi = 1) points, against the
    # ellipsoid's own circumferential/longitudinal directions
    phi = ff.transmural.x.array  # P1 vertex values; the P1 dofs coincide with Vv's (degree 1)
    rho = np.hypot(X[:, 0], X[:, 1])
    mid = (X[:, 2] > -8) & (X[:, 2] < 0) & (rho > 1)
    e_c = np.stack([-X[:, 1], X[:, 0], 0 * X[:, 0]], axis=1) / np.maximum(rho, 1e-9)[:, None]
    ang = np.rad2deg(np.arcsin(np.clip(np.abs(np.sum(f * e_c, axis=1)), 0, 1)))
    endo = mid & (phi < 1e-8)
    epi = mid & (phi > 1 - 1e-8)
    # |f . e_c| = cos(helix) up to the small tilt of e_l against the axis
    assert np.all(np.abs(ang[endo] - 30.0) < 8.0)
    assert np.all(np.abs(ang[epi] - 30.0) < 8.0)
    # sign of the helix: positive endo -> f has a +z component, negative epi -> -z
    assert np.mean(f[endo, 2]) > 0.5 and np.mean(f[epi, 2]) < -0.5
