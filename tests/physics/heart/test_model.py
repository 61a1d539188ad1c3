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
