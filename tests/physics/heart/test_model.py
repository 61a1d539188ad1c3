"""The 3D LV of a case: fibres at the quadrature points of the forms."""

from __future__ import annotations

import json

import pytest


def test_cycle_uses_unit_fibres_at_quadrature_points(coarse_lv):
    """The cycle's material and active stress see unit fibres at every quadrature point
    (a P1 interpolant of the LDRB fibres averages |f0|^2 ~ 0.5-0.6 there on these meshes)."""
    import dolfinx
    import ufl
    from mpi4py import MPI

    from twinflow.physics.heart.model import QUADRATURE_DEGREE, build_lv

    mesh, case = coarse_lv
    model = build_lv(mesh, json.loads(case.read_text()), MPI.COMM_WORLD)
    pb = model.problem
    assert pb.quadrature_degree == QUADRATURE_DEGREE == model.fibres.quadrature_degree
    vol = dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * pb.dx))
    for f in (pb.material.f0, pb.active.f0, pb.active.s0, pb.active.n0):
        form = dolfinx.fem.form(ufl.inner(f, f) * pb.dx)
        assert dolfinx.fem.assemble_scalar(form) / vol == pytest.approx(1.0, abs=1e-10)
        dev = dolfinx.fem.form((ufl.inner(f, f) - 1.0) ** 2 * pb.dx)
        assert dolfinx.fem.assemble_scalar(dev) / vol < 1e-20
    # the nodal P1 fibres (ParaView output) would not pass: they shrink between the nodes
    f1 = model.fibres.f0
    mean_p1 = dolfinx.fem.assemble_scalar(dolfinx.fem.form(ufl.inner(f1, f1) * pb.dx)) / vol
    assert mean_p1 < 0.95


def test_case_sets_the_length_and_velocity_dependence(coarse_lv):
    """physics.activation.length_dependence / velocity_dependence reach the forms: the demo
    case's defaults (HMT 1998: 1.45, 0.407 s), with the stretch of the last step refreshed at
    the start of a step and the rate off for quasi-static loading; 0 and 0 give the former
    constant-tension form (no stretch history)."""
    import numpy as np
    from mpi4py import MPI

    from twinflow.physics.heart.model import build_lv

    mesh, case = coarse_lv
    settings = json.loads(case.read_text())
    model = build_lv(mesh, settings, MPI.COMM_WORLD)
    assert model.problem.active.beta0 == 1.45
    rate = model.stretch_rate
    assert rate is not None and rate.c0 == pytest.approx(0.407)
    model.begin_step(0.005)
    assert float(rate.rate.value) == pytest.approx(0.407 / 0.005)
    for previous in rate.previous:  # the unloaded state: unit stretch everywhere
        assert np.allclose(previous.x.array, 1.0, atol=1e-12)
    model.pressure.value = 1000.0  # Pa: inflate, then the stretch history follows the state
    model.quasi_static()
    model.newton.solve(None)
    model.begin_step(0.005)
    lam = rate.previous[0].x.array
    assert lam.max() > 1.005 and float(rate.rate.value) > 0
    model.reset()
    assert float(rate.rate.value) == 0.0
    settings["physics"]["activation"].update(length_dependence=0.0, velocity_dependence=0.0)
    plain = build_lv(mesh, settings, MPI.COMM_WORLD)
    assert plain.problem.active.beta0 == 0.0 and plain.problem.active.velocity is None
    assert plain.stretch_rate is None
