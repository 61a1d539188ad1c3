"""Land et al. 2015 cardiac-mechanics benchmark (Proc R Soc A 471:20150641), problems 1-3.

References (see ``land2015.REFERENCE`` / ``REFERENCE_SOURCE``): problem 1 tip z 4.17 mm
(consensus); problems 2 and 3 from the converged FEniCS submission to the benchmark
(S. Pezzuto, github.com/finsberg/mechbench ``summary_results.txt``): problem 2 endo/epi
apex z = -26.612 / -28.279 mm, problem 3 endo/epi apex z = -12.347 / -15.452 mm.

Measured with ``python -m twinflow.verification.land2015`` (Taylor-Hood P2-P1 on curved P2
tetrahedra, 1 rank; ``N`` = refinement, cell size 4/N mm, graded to 0.5/N mm at the apex
unless "uniform"):

problem 1 (tip z, ref 4.17): N=1 (10 hex) 4.1575 (0.30 %); N=2 (80 hex) 4.1695 (0.01 %).
problem 2 (endo / epi apex z): uniform N=1 (855 tets) -26.556 / -28.229 (0.21 % / 0.18 %);
  graded N=1 (1658 tets) -26.593 / -28.253 (0.07 % / 0.09 %).
problem 3 (endo / epi apex z, quadrature degree 6): graded N=1 (1658 tets) -12.245 / -15.493
  (0.83 % / 0.27 %), cavity 1782 mm^3 (ref 1796); base 2 mm / apex 0.5 mm (5501 tets)
  -12.291 / -15.470 (0.45 % / 0.11 %). Fibres interpolated into P2 instead of evaluated at
  the quadrature points gave -18.3 mm (the former open discrepancy).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from twinflow.artifacts.verification import Land2015Result
from twinflow.verification import land2015


def test_problem1_beam_coarse():
    res = land2015.run(1, refinement=1)
    assert res["tip_z_m"] == pytest.approx(4.17e-3, rel=0.01)  # coarse error measured 0.30 %
    assert sum(res["newton_iterations"]) < 60  # measured 34 (18 in the first step)


def test_problem2_ellipsoid_coarse_uniform():
    res = land2015.run(2, refinement=1, apex_grading=1.0)
    ref = land2015.REFERENCE[2]
    assert res["cells"] < 1200  # the uniform 4 mm mesh (855 tets), not the graded one
    # REFERENCE in mm (the solve's units); the result in SI
    assert res["endo_apex_z_m"] == pytest.approx(ref["endo_apex_z"] * 1e-3, rel=5e-3)  # 0.21 %
    assert res["epi_apex_z_m"] == pytest.approx(ref["epi_apex_z"] * 1e-3, rel=5e-3)  # 0.18 %
    # reference (FEniCS submission) cavity volume 10734 mm^3 from 2492 mm^3 unloaded
    assert res["cavity_volume_m3"] == pytest.approx(10734.0e-9, rel=0.02)


def test_problem3_fibres_at_quadrature_points():
    """Unit fibres, longitudinal at endo and epi (+-90 deg), circumferential mid-wall."""
    import basix
    import dolfinx
    import numpy as np
    from mpi4py import MPI

    from twinflow.geometry.lv.ellipsoid import LAND2015, create_lv_mesh

    mesh = create_lv_mesh(MPI.COMM_SELF, LAND2015, cell_size=4.0, order=1).mesh
    f0 = land2015.land_fibres(mesh, quadrature_degree=4)
    f = f0.x.array.reshape(-1, 3)
    assert np.allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-10)
    pts, _ = basix.make_quadrature(basix.CellType.tetrahedron, 4)
    x = dolfinx.fem.Expression(ufl_x(mesh), pts).eval(
        mesh, np.arange(mesh.topology.index_map(3).size_local, dtype=np.int32)).reshape(-1, 3)
    assert x.shape == f.shape
    rho, z = np.hypot(x[:, 0], x[:, 1]), x[:, 2]
    t = np.clip([_transmural(r, zz) for r, zz in zip(rho, z, strict=True)], 0.0, 1.0)
    circ = np.stack([-x[:, 1], x[:, 0], 0 * rho], axis=1) / rho[:, None]
    helix = np.degrees(np.arcsin(np.clip(np.abs(np.einsum("ij,ij->i", f, circ)), 0, 1)))
    away = rho > 3.0  # off the apical singularity
    # |cos(alpha)| = |f . e_circ| with alpha = 90 - 180 t
    expect = np.degrees(np.arcsin(np.abs(np.cos(np.radians(90.0 - 180.0 * t)))))
    assert np.max(np.abs(helix - expect)[away]) < 1.0


def ufl_x(mesh):
    import ufl

    return ufl.SpatialCoordinate(mesh)


def _transmural(rho: float, z: float) -> float:
    from scipy.optimize import brentq

    g = lambda t: rho**2 / (7 + 3 * t) ** 2 + z**2 / (17 + 3 * t) ** 2 - 1  # noqa: E731
    return brentq(g, -0.5, 1.5)


@pytest.mark.slow
def test_problem2_graded_within_1_percent_of_reference():
    res = land2015.run(2, refinement=1)  # measured errors 0.07 % (endo) / 0.09 % (epi)
    for key, ref in land2015.REFERENCE[2].items():
        assert res[f"{key}_m"] == pytest.approx(ref * 1e-3, rel=0.01), key
    assert res["relative_errors"]["endo_apex_z_m"] < 3e-3


@pytest.mark.slow
def test_problem3_within_1_percent_of_reference():
    res = land2015.run(3, refinement=1)  # measured -12.245 / -15.493 mm (0.83 % / 0.27 %)
    assert res["quadrature_degree"] == 6
    for key, ref in land2015.REFERENCE[3].items():
        assert res[f"{key}_m"] == pytest.approx(ref * 1e-3, rel=0.01), key
    # reference cavity volume 1796 mm^3 (contracted below the 2492 mm^3 unloaded cavity)
    assert res["cavity_volume_m3"] == pytest.approx(1796.0e-9, rel=0.02)


def test_cli_writes_summary(tmp_path):
    out = tmp_path / "land2015.json"
    cmd = [sys.executable, "-m", "twinflow", "land2015", "--problem", "1", "--refinement", "1",
           "--out", str(out)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=300)
    data = Land2015Result.read(out)
    assert data.reference_m == {"tip_z_m": 4.17e-3}
    assert data.relative_error < 0.01
    assert "Land" in data.reference_source


def test_ldrb_fibres_at_quadrature_points_are_unit_and_orthogonal():
    import numpy as np
    from mpi4py import MPI

    from twinflow.geometry.lv.ellipsoid import LAND2015, create_lv_mesh
    from twinflow.physics.heart.mechanics.fibres import ldrb_fibres

    md = create_lv_mesh(MPI.COMM_SELF, LAND2015, cell_size=4.0, order=1)
    ff = ldrb_fibres(md.mesh, md.facet_tags, 60.0, -60.0, degree=1, quadrature_degree=4)
    f, s, n = (g.x.array.reshape(-1, 3) for g in (ff.f0_q, ff.s0_q, ff.n0_q))
    for v in (f, s, n):
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-10)
    assert np.max(np.abs(np.sum(f * s, axis=1))) < 1e-10
    # the Lagrange field is unit at its nodes only (between them: FibreField docstring)
    assert np.min(np.linalg.norm(ff.f0.x.array.reshape(-1, 3), axis=1)) > 0.99  # at nodes
    assert np.allclose(np.sum(f * n, axis=1), 0.0, atol=1e-10)


@pytest.mark.slow
def test_problem3_with_the_lv_pipelines_ldrb_fibres():
    """The LV pipeline's fibre generator (LDRB, +90 -> -90 deg, at quadrature points) on
    problem 3: the Laplace transmural coordinate differs from the ellipsoidal ``t``, so the
    result is close to, not equal to, the reference (measured -12.149 / -15.344 mm, 1.6 % /
    0.7 %; fenicsx-pulse with its Laplace coordinate: -11.996 / -15.212 mm)."""
    import dolfinx
    from mpi4py import MPI

    from twinflow.geometry import tags
    from twinflow.geometry.lv.ellipsoid import LAND2015, create_lv_mesh
    from twinflow.physics.heart.mechanics.active_stress import ActiveStress
    from twinflow.physics.heart.mechanics.boundary_conditions import Fixed, Pressure
    from twinflow.physics.heart.mechanics.compressibility import Incompressible
    from twinflow.physics.heart.mechanics.fibres import ldrb_fibres
    from twinflow.physics.heart.mechanics.materials import Guccione
    from twinflow.physics.heart.mechanics.solver import CardiacMechanicsProblem

    md = create_lv_mesh(MPI.COMM_WORLD, LAND2015, cell_size=4.0, order=2, apex_cell_size=0.5)
    ff = ldrb_fibres(md.mesh, md.facet_tags, 90.0, -90.0, degree=2, quadrature_degree=6)
    s = dolfinx.fem.Constant(md.mesh, 0.0)
    mp = CardiacMechanicsProblem(
        md.mesh, md.facet_tags, Guccione(C=2.0, bf=8.0, bt=2.0, bfs=4.0, f0=ff.f0_q),
        Incompressible(), active=ActiveStress(f0=ff.f0_q, Ta=60.0 * s),
        dirichlet=[Fixed(tags.BASE)], pressures=[Pressure(tags.ENDO, 15.0 * s)],
        quadrature_degree=6, prefix="land3_ldrb_")
    mp.ramp(s, 1.0, initial_increment=0.1)
    endo = -17.0 + float(mp.evaluate_displacement([0.0, 0.0, -17.0])[2])
    epi = -20.0 + float(mp.evaluate_displacement([0.0, 0.0, -20.0])[2])
    assert endo == pytest.approx(land2015.REFERENCE[3]["endo_apex_z"], rel=0.03)
    assert epi == pytest.approx(land2015.REFERENCE[3]["epi_apex_z"], rel=0.02)
