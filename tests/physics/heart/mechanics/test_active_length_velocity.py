"""The length- and velocity-dependent active stress (HMT 1998): its potential gives the
tension law, reduces to the old form, and the fibre-stress output uses the same law."""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from twinflow.physics.heart.mechanics.active_stress import (HMT_VELOCITY_COEFFICIENT,
                                                              ActiveStress, Velocity)

BETA0 = 1.45  # Hunter et al. 1998
TA = 7.0
F0 = (1.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def mesh():
    return dolfinx.mesh.create_unit_cube(MPI.COMM_SELF, 1, 1, 1)


def _integral(mesh, expr) -> float:
    """The integral over the unit cube: the value of a homogeneous expression."""
    return dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * ufl.dx(domain=mesh)))


def _deformation(lam: float) -> np.ndarray:
    """Isochoric stretch ``lam`` along the fibre (x) plus a shear across it."""
    F = np.diag([lam, lam**-0.5, lam**-0.5])
    F[1, 2] = 0.1
    return F


def _fibre_pk2(mesh, act_of_f0, Fmat: np.ndarray) -> float:
    """S_ff = f0 . S f0 with S = F^-1 dPsi/dF of the active potential at a homogeneous F."""
    F = ufl.variable(ufl.as_matrix(Fmat.tolist()))
    f0 = ufl.as_vector(F0)
    P = ufl.diff(act_of_f0(f0).strain_energy(F), F)
    return _integral(mesh, ufl.inner(f0, ufl.inv(F) * P * f0))


@pytest.mark.parametrize("lam", [0.25, 0.82, 1.0, 1.13])
def test_potential_gives_the_hmt_length_dependent_tension(mesh, lam):
    """dPsi/dF of the potential gives S = T_a max(1 + beta0 (lambda - 1), 0) f0 x f0 (the
    factor clamped at 0 below 1 - 1/beta0 = 0.31)."""
    ta = dolfinx.fem.Constant(mesh, TA)
    s_ff = _fibre_pk2(mesh, lambda f0: ActiveStress(f0, ta, BETA0), _deformation(lam))
    expect = TA * max(1 + BETA0 * (lam - 1), 0.0)
    assert s_ff == pytest.approx(expect, rel=1e-12, abs=1e-12)
    assert ActiveStress(None, None, BETA0).tension(lam, TA) == pytest.approx(expect, rel=1e-14)


@pytest.mark.parametrize(("lam", "lam_prev"), [(0.9, 0.91), (1.05, 1.04), (0.9, 0.94)])
def test_potential_gives_the_velocity_dependent_tension(mesh, lam, lam_prev):
    """With the stretch of the last step held, S_ff = T(lambda) (1 + c0 (lambda - lambda_p)/dt)
    (clamped at 0 when shortening faster than 1/c0: the last case, -8 /s)."""
    dt = 5e-3
    ta = dolfinx.fem.Constant(mesh, TA)
    rate = dolfinx.fem.Constant(mesh, HMT_VELOCITY_COEFFICIENT / dt)
    vel = Velocity(rate, dolfinx.fem.Constant(mesh, lam_prev))
    s_ff = _fibre_pk2(mesh, lambda f0: ActiveStress(f0, ta, BETA0, vel), _deformation(lam))
    rate_of_stretch = (lam - lam_prev) / dt
    expect = ActiveStress(None, None, BETA0).tension(lam, TA, rate_of_stretch,
                                                     HMT_VELOCITY_COEFFICIENT)
    assert s_ff == pytest.approx(expect, rel=1e-11, abs=1e-12)
    if lam - lam_prev < -dt / HMT_VELOCITY_COEFFICIENT:
        assert expect == 0.0
    else:
        assert expect > 0.0


def test_hmt_velocity_coefficient_is_the_linearised_fading_memory():
    """c0 = (1 + a) sum(A_i / alpha_i) of HMT 1998 (a = 0.35, A = -29, 138, 129,
    alpha = 0.03, 0.13, 0.625 1/ms), to the 3 digits of the case default."""
    c0 = 1.35 * sum(a / (alpha * 1e3) for a, alpha in ((-29, 0.03), (138, 0.13), (129, 0.625)))
    assert HMT_VELOCITY_COEFFICIENT == pytest.approx(c0, abs=5e-4)


@pytest.mark.parametrize("lam", [0.8, 1.0, 1.2])
def test_beta0_zero_reproduces_the_constant_tension(mesh, lam):
    """beta0 = 0 is the old Psi = T_a/2 (I4 - 1); so is the general (polynomial) form with
    beta0 = 0 and a zero velocity rate (quasi-static loading)."""
    Fm = _deformation(lam)
    F = ufl.as_matrix(Fm.tolist())
    f0 = ufl.as_vector(F0)
    old = 0.5 * TA * (float(Fm[:, 0] @ Fm[:, 0]) - 1)
    assert _integral(mesh, ActiveStress(f0, TA).strain_energy(F)) == pytest.approx(old, rel=1e-14)
    vel = Velocity(dolfinx.fem.Constant(mesh, 0.0), dolfinx.fem.Constant(mesh, 0.7))
    general = _integral(mesh, ActiveStress(f0, TA, 0.0, vel).strain_energy(F))
    assert general == pytest.approx(old, rel=1e-12)
    s_ff = _fibre_pk2(mesh, lambda f: ActiveStress(f, TA, 0.0, vel), Fm)
    assert s_ff == pytest.approx(TA, rel=1e-12)


def test_fibre_stress_output_is_the_same_law():
    """The fibre Cauchy stress output of the LV model (fibre_stress_expression) under a
    homogeneous uniaxial fibre stretch, no passive stiffness and zero pressure: T(lambda)
    lambda^2 (J = 1), with the length and the velocity factor of the forms."""
    from twinflow.physics.heart.mechanics.compressibility import Incompressible
    from twinflow.physics.heart.mechanics.materials import NeoHookean
    from twinflow.physics.heart.mechanics.solver import CardiacMechanicsProblem
    from twinflow.physics.heart.model import ActiveTension, fibre_stress_expression

    mesh = dolfinx.mesh.create_unit_cube(MPI.COMM_SELF, 2, 2, 2, dolfinx.mesh.CellType.tetrahedron)
    tags = dolfinx.mesh.meshtags(mesh, 2, np.array([], dtype=np.int32),
                                 np.array([], dtype=np.int32))
    f0, s0, n0 = (ufl.as_vector(v) for v in (F0, (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)))
    pb = CardiacMechanicsProblem(mesh, tags, NeoHookean(mu=0.0), Incompressible(),
                                 prefix="active_out_")
    lam, lam_prev, dt = 0.88, 0.885, 5e-3
    Wu = pb.W.sub(0)
    V, dofs = Wu.collapse()
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda x: np.stack([(lam - 1) * x[0], (lam**-0.5 - 1) * x[1],
                                      (lam**-0.5 - 1) * x[2]]))
    pb.state.x.array[dofs] = u.x.array
    ta = dolfinx.fem.Constant(mesh, TA)
    rate = dolfinx.fem.Constant(mesh, HMT_VELOCITY_COEFFICIENT / dt)
    vel = Velocity(rate, dolfinx.fem.Constant(mesh, lam_prev))
    law = ActiveStress(None, None, BETA0)
    for velocity, stretch_rate in ((None, 0.0), (vel, (lam - lam_prev) / dt)):
        expr, V0 = fibre_stress_expression(
            pb, NeoHookean(mu=0.0), ActiveTension(f0, s0, n0, ta, 0.0, BETA0, velocity),
            Incompressible(), f0)
        out = dolfinx.fem.Function(V0)
        out.interpolate(expr)
        expect = law.tension(lam, TA, stretch_rate, HMT_VELOCITY_COEFFICIENT) * lam**2
        assert np.allclose(out.x.array, expect, rtol=1e-10)
    # the transverse share keeps the tension at reference stretch across the fibres
    expr, V0 = fibre_stress_expression(
        pb, NeoHookean(mu=0.0), ActiveTension(f0, s0, n0, ta, 0.3, BETA0), Incompressible(), s0)
    out = dolfinx.fem.Function(V0)
    out.interpolate(expr)
    assert np.allclose(out.x.array, 0.3 * TA * lam**-1, rtol=1e-10)
