"""Modified Newton (lagged, reused LU factorisation) in the cavity solver: same solution as
exact Newton to the solver tolerance, with fewer Jacobian factorisations."""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
from mpi4py import MPI


def _path(mesh, case, reuse: bool) -> tuple[list[tuple[float, float]], int, int]:
    """Pressure loading, then volume-controlled steps with active tension (as in a beat)."""
    from twinflow.physics.heart.model import build_lv
    from twinflow.physics.heart.settings import read_case

    model = build_lv(mesh, read_case(case), MPI.COMM_WORLD)
    model.newton.reuse_jacobian = reuse
    out = []
    for k in range(1, 4):
        model.pressure.value = 400.0 * k
        model.newton.solve(None)
        out.append((float(model.pressure.value), model.newton.volume()))
    v = model.newton.volume()
    for k in range(1, 4):
        model.Ta.value = 5e3 * k
        model.newton.solve(lambda p, v=v - 1e-6 * k: (v, 0.0))
        out.append((float(model.pressure.value), model.newton.volume()))
    return out, model.newton.factorisations, sum(model.newton.iterations)


def test_reused_factorisation_gives_the_exact_newton_solution(coarse_lv):
    mesh, case = coarse_lv
    exact, f_exact, _ = _path(mesh, case, reuse=False)
    lagged, f_lagged, _ = _path(mesh, case, reuse=True)
    a, b = np.array(exact), np.array(lagged)
    assert np.allclose(b, a, rtol=1e-7, atol=0.0)
    assert f_lagged < f_exact
