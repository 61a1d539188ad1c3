"""Unit checks of the strain-energy functions against closed-form values."""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from twinflow.physics.heart.mechanics.active_stress import (
    ActiveStress,
    CalciumTransient,
    HunterMcCullochTerKeurs1998,
)
from twinflow.physics.heart.mechanics.compressibility import Compressible
from twinflow.physics.heart.mechanics.materials import Guccione, HolzapfelOgden, NeoHookean


@pytest.fixture(scope="module")
def mesh():
    return dolfinx.mesh.create_unit_cube(MPI.COMM_SELF, 1, 1, 1)


def _energy(mesh, psi_of_F, Fmat):
    F = ufl.as_matrix(Fmat.tolist())
    return dolfinx.fem.assemble_scalar(dolfinx.fem.form(psi_of_F(F) * ufl.dx(domain=mesh)))


def _uniaxial(lam):
    return np.diag([lam, lam**-0.5, lam**-0.5])


def test_neo_hookean(mesh):
    lam = 1.2
    val = _energy(mesh, NeoHookean(mu=3.0).strain_energy, _uniaxial(lam))
    assert val == pytest.approx(1.5 * (lam**2 + 2 / lam - 3), rel=1e-12)


def test_guccione_fibre_direction(mesh):
    # Isochoric stretch along x with f0 = x: E = diag(e1, e2, e2)
    lam = 1.1
    F = _uniaxial(lam)
    e1, e2 = 0.5 * (lam**2 - 1), 0.5 * (1 / lam - 1)
    g = Guccione(C=2.0, bf=8.0, bt=2.0, bfs=4.0, f0=ufl.as_vector((1.0, 0.0, 0.0)))
    Q = 8 * e1**2 + 2 * 2 * e2**2
    assert _energy(mesh, g.strain_energy, F) == pytest.approx(np.exp(Q) - 1, rel=1e-12)
    # shear in the f-s plane: E_fs only (plus E_ss)
    gam = 0.1
    F = np.eye(3)
    F[0, 1] = gam  # x-velocity varying with y: E = [[0, g/2], [g/2, g^2/2]]
    Q = 2 * (gam**2 / 2) ** 2 + 2 * 4 * (gam / 2) ** 2
    assert _energy(mesh, g.strain_energy, F) == pytest.approx(np.exp(Q) - 1, rel=1e-12)


def test_guccione_isotropic(mesh):
    lam = 1.3
    g = Guccione(C=10.0, bf=1.0, bt=1.0, bfs=1.0)
    E = 0.5 * (_uniaxial(lam) ** 2 - np.eye(3))
    assert _energy(mesh, g.strain_energy, _uniaxial(lam)) == pytest.approx(
        5.0 * (np.exp(np.sum(E**2)) - 1), rel=1e-12)


def test_holzapfel_ogden_fibres_only_in_tension(mesh):
    f0 = ufl.as_vector((1.0, 0.0, 0.0))
    s0 = ufl.as_vector((0.0, 1.0, 0.0))
    ho = HolzapfelOgden.orthotropic(f0, s0)
    lam = 1.1
    F = _uniaxial(lam)
    i1 = lam**2 + 2 / lam
    expect = (0.059 / (2 * 8.023) * (np.exp(8.023 * (i1 - 3)) - 1)
              + 18.472 / (2 * 16.026) * (np.exp(16.026 * (lam**2 - 1) ** 2) - 1))
    # sheet direction is compressed (I4s < 1): no sheet term; I8fs = 0
    assert _energy(mesh, ho.strain_energy, F) == pytest.approx(expect, rel=1e-10)
    ti = HolzapfelOgden.transversely_isotropic(f0)
    Fc = _uniaxial(0.9)  # fibre compressed: isotropic part only
    i1 = 0.81 + 2 / 0.9
    assert _energy(mesh, ti.strain_energy, Fc) == pytest.approx(
        2.280 / (2 * 9.726) * (np.exp(9.726 * (i1 - 3)) - 1), rel=1e-10)


def test_active_stress_and_penalty(mesh):
    Ta = dolfinx.fem.Constant(mesh, 5.0)
    act = ActiveStress(f0=ufl.as_vector((1.0, 0.0, 0.0)), Ta=Ta)
    F = _uniaxial(1.2)
    assert _energy(mesh, act.strain_energy, F) == pytest.approx(2.5 * (1.44 - 1), rel=1e-12)
    J = 1.1
    pen = Compressible(kappa=7.0)
    val = _energy(mesh, pen.strain_energy, np.eye(3) * J ** (1 / 3))
    assert val == pytest.approx(7.0 * (J * np.log(J) - J + 1), rel=1e-10)


def test_hmt_relation_and_transient():
    hmt = HunterMcCullochTerKeurs1998()
    c50 = 10 ** (6 - 6.2)
    assert hmt.tension(c50, 1.0) == pytest.approx(50.0)  # half-activation at C50
    assert hmt.tension(100.0, 1.0) == pytest.approx(100.0, rel=1e-6)  # saturation = T_ref
    assert hmt.tension(1.0, 1.1) > hmt.tension(1.0, 1.0)  # length-dependent activation
    ca = CalciumTransient()
    t = np.linspace(0, 0.5, 501)
    c = ca(t)
    assert c[0] == pytest.approx(0.01)
    assert t[np.argmax(c)] == pytest.approx(0.06, abs=1e-3)
    assert c.max() == pytest.approx(1.0, rel=1e-4)
