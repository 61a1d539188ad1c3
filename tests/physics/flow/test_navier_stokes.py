"""Verification of the Navier-Stokes solver on straight tubes (real DOLFINx runs).

- Poiseuille (steady): centerline velocity 2*u_mean, WSS 4*mu*u_mean/R, pressure drop
  8*mu*u_mean*L/R^2 within 1 %.
- Womersley (alpha = 4, Womersley 1955): velocity profile and WSS amplitude within 3 % over the
  last of three cycles, on 2 MPI ranks (slow).
- 1 vs 2 ranks: series and probe values equal to rtol 1e-6.
The WSS compared is the area average of the projected wall field (hemodynamics.py), whose
axial component equals tau_w(t) for fully developed flow in a tube.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import assert_columns_match, run_navier_stokes
from twinflow.artifacts.flow import FlowSummary
from twinflow.errors import InputError
from twinflow.geometry.tube import tube_mesh
from twinflow.physics.flow.womersley import WomersleyFlow

RADIUS, LENGTH = 3.0e-3, 12.0e-3
RADII = [0.0, 0.2, 0.4, 0.6, 0.8, 0.9]


@pytest.fixture(scope="module")
def tube(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tube_mesh(RADIUS, LENGTH, 1.0e-3, tmp_path_factory.mktemp("tube") / "tube.xdmf")


def _csv(path: Path) -> np.ndarray:
    return np.genfromtxt(path, delimiter=",", names=True)


def _womersley_settings(cycles: int) -> dict:
    # alpha = R sqrt(omega rho / mu) = 4.0 for T = 1.06 s
    return {"density": 1050.0, "viscosity": 3.5e-3, "period": 1.06, "time_step": 1.06 / 50,
            "cycles": cycles, "render": False,
            "inflow": {"type": "fourier", "mean": 3e-6, "cos": [3e-6], "sin": [0.0]},
            "outlets": {"2": {"model": "pressure", "value": 0.0}},
            "probes": [[r * RADIUS, 0.0, LENGTH / 2] for r in RADII]}


def test_poiseuille_within_one_percent(tube: Path, tmp_path: Path) -> None:
    mu, flow = 0.035, 6.0e-6  # 10x blood viscosity: steady state within 0.4 s
    settings = {"density": 1050.0, "viscosity": mu, "time_step": 0.01, "period": 0.2,
                "cycles": 2, "inflow": {"type": "steady", "flow": flow},
                "probes": [[0.0, 0.0, LENGTH / 2]], "render": True}
    summary = run_navier_stokes(tube, settings, tmp_path)
    result = tmp_path / "result"
    u_mean = flow / (math.pi * RADIUS**2)
    probes, series = _csv(result / "probes.csv"), _csv(result / "series.csv")
    drop = series["p_inlet"][-1] - series["p_outlet_2"][-1]
    print(f"poiseuille: centreline {probes['uz_0'][-1] / (2 * u_mean) - 1:+.4%}, WSS "
          f"{series['wss_mean_z'][-1] / (4 * mu * u_mean / RADIUS) - 1:+.4%}, TAWSS "
          f"{summary['tawss_pa']['mean'] / (4 * mu * u_mean / RADIUS) - 1:+.4%}, pressure drop "
          f"{drop / (8 * mu * u_mean * LENGTH / RADIUS**2) - 1:+.4%}")
    assert probes["uz_0"][-1] == pytest.approx(2 * u_mean, rel=0.01)
    assert series["wss_mean_z"][-1] == pytest.approx(4 * mu * u_mean / RADIUS, rel=0.01)
    assert summary["tawss_pa"]["mean"] == pytest.approx(4 * mu * u_mean / RADIUS, rel=0.01)
    assert drop == pytest.approx(8 * mu * u_mean * LENGTH / RADIUS**2, rel=0.01)
    assert summary["osi"]["max"] < 1e-3  # steady: no oscillation
    assert summary["flow_split"]["2"] == pytest.approx(1.0, rel=1e-3)
    assert "Newtonian blood (constant viscosity)" in summary["simplifications"]
    # the file is a valid FlowSummary and says no more and no less than the model
    assert FlowSummary.read(result / "summary.json").model_dump(mode="json") == summary
    for name in ("velocity", "pressure", "wss", "indices"):
        assert (result / "fields" / f"{name}.bp").is_dir()
    for png in ("tawss.png", "osi.png"):
        assert (result / png).stat().st_size > 10_000


@pytest.mark.mpi
def test_one_and_two_ranks_agree(tube: Path, tmp_path: Path) -> None:
    settings = _womersley_settings(cycles=1) | {"max_steps": 8}
    serial = run_navier_stokes(tube, settings, tmp_path / "np1")
    parallel = run_navier_stokes(tube, settings, tmp_path / "np2", ranks=2)
    assert parallel["timing"]["ranks"] == 2
    for name in ("series.csv", "probes.csv"):
        assert_columns_match(tmp_path / "np1/result" / name, tmp_path / "np2/result" / name)
    for key in ("tawss_pa", "osi", "rrt_per_pa"):
        for stat in ("mean", "max"):
            assert parallel[key][stat] == pytest.approx(serial[key][stat], rel=1e-6, abs=1e-12)


def test_bad_settings_exit_with_one_line(tube: Path, tmp_path: Path) -> None:
    from twinflow.physics.flow.settings import FlowSettings

    with pytest.raises(InputError):
        FlowSettings.from_dict({"time_step": 0.3, "period": 1.0})
    with pytest.raises(InputError):
        FlowSettings.from_dict({"outlets": {"2": {"model": "flow_split", "fraction": 0.5}}})
    with pytest.raises(InputError, match="time_scheme"):
        FlowSettings.from_dict({"time_scheme": "euler"})
    assert FlowSettings.from_dict({}).time_scheme == "bdf2"
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"viscosity": -1}))
    proc = subprocess.run([sys.executable, "-m", "twinflow", "simulate-flow", "--mesh",
                           str(tube), "--solver-settings", str(path), "--summary",
                           str(tmp_path / "o" / "summary.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.mpi
def test_womersley_alpha_4_on_two_ranks(tmp_path: Path) -> None:
    mesh = tube_mesh(RADIUS, LENGTH, 0.75e-3, tmp_path / "tube.xdmf")
    settings = _womersley_settings(cycles=3)
    summary = run_navier_stokes(mesh, settings, tmp_path, ranks=2, timeout=900)
    result = tmp_path / "result"
    exact = WomersleyFlow(RADIUS, 1050.0, 3.5e-3, 1.06, np.array([3e-6, 3e-6], dtype=complex))
    assert exact.alpha() == pytest.approx(4.0, rel=1e-3)
    n = 50  # the last cycle
    probes, series = _csv(result / "probes.csv"), _csv(result / "series.csv")
    t = probes["t"][-n:]
    u_num = np.stack([probes[f"uz_{i}"][-n:] for i in range(len(RADII))], axis=1)
    u_ex = exact.velocity(np.array(RADII) * RADIUS, t)
    velocity_error = np.abs(u_num - u_ex).max() / np.abs(u_ex).max()
    tau_num, tau_ex = series["wss_mean_z"][-n:], exact.wall_shear_stress(t)
    amplitude_ratio = np.ptp(tau_num) / np.ptp(tau_ex)
    print(f"womersley: velocity error {velocity_error:.4f}, WSS amplitude ratio "
          f"{amplitude_ratio:.4f}, WSS max error "
          f"{np.abs(tau_num - tau_ex).max() / np.abs(tau_ex).max():.4f}, "
          f"mean WSS {tau_num.mean():.4f} vs {tau_ex.mean():.4f} Pa")
    assert velocity_error < 0.03
    assert abs(amplitude_ratio - 1) < 0.03
    assert tau_num.mean() == pytest.approx(tau_ex.mean(), rel=0.03)
    assert summary["mass_balance_relative"] < 0.02



def test_supg_term_vanishes_for_the_exact_solution_only() -> None:
    """SUPG is consistent: for steady Poiseuille flow in a box (P2 velocity and P1 pressure
    exact) the full residual, hence the SUPG term, is zero; a wrong pressure gradient is not."""
    import dolfinx_solver  # noqa: F401
    import ufl
    from dolfinx import fem
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    from twinflow.physics.flow.forms import supg_term
    from twinflow.physics.flow.mesh import cell_diameter

    msh = dmesh.create_box(MPI.COMM_SELF, [[-1.0, -1.0, 0.0], [1.0, 1.0, 2.0]], [3, 3, 4],
                           dmesh.CellType.tetrahedron)
    mu_v = 0.5
    V = fem.functionspace(msh, ("Lagrange", 2, (3,)))
    Q = fem.functionspace(msh, ("Lagrange", 1))
    u = fem.Function(V)  # w = 1 - x^2 - y^2: mu lap w = -4 mu = dp/dz
    u.interpolate(lambda x: np.vstack([0 * x[0], 0 * x[0], 1 - x[0] ** 2 - x[1] ** 2]))
    p = fem.Function(Q)
    trial, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": 4})
    k, rho, mu = (fem.Constant(msh, c) for c in (1e-2, 1000.0, mu_v))
    # BDF2 time derivative of a steady state (u* = u^n = u^{n-1} = b = u)
    dudt = (1.5 * trial - 2.0 * u + 0.5 * u) / k
    term = supg_term(v, dudt, trial, p, u, k, rho, mu, cell_diameter(msh), dx)
    form = fem.form(ufl.replace(term, {trial: u}))
    norms = []
    for gradient in (-4.0 * mu_v, -2.0 * mu_v):  # exact, then wrong
        p.interpolate(lambda x, g=gradient: g * x[2])
        norms.append(np.linalg.norm(fem.assemble_vector(form).array))
    assert norms[1] > 0.0
    assert norms[0] < 1e-10 * norms[1]


@pytest.mark.slow
@pytest.mark.mpi
def test_carotid_flow_split_with_supg_one_and_two_ranks_agree(tmp_path: Path) -> None:
    """Blood at carotid peak-systole flow (Holdsworth waveform scaled to a peak of 23.5 mL/s,
    cell Peclet >> 1, so SUPG is active) through a Y-bifurcation with the demo's outlets
    (ICA pressure, ECA flow split 0.4): series and summary equal on 1 and 2 ranks."""
    from twinflow.geometry.ybranch import YBranch, mesh_ybranch

    mesh = mesh_ybranch(YBranch(), 1.0e-3, tmp_path / "y.xdmf")
    settings = {"density": 1050.0, "viscosity": 3.5e-3, "period": 0.92, "time_step": 0.008,
                "cycles": 1, "max_steps": 6, "render": False,
                "inflow": {"type": "holdsworth1999", "mean": 6e-6, "peak": 23.5e-6},
                "outlets": {"2": {"model": "pressure", "value": 0.0},
                            "3": {"model": "flow_split", "fraction": 0.4}}}
    # start at peak systole: shift the waveform by its time of peak flow via a table
    from twinflow.physics.flow.inflow import waveform_from_settings

    wave = waveform_from_settings(settings["inflow"], 0.92, "test")
    t = np.linspace(0.0, 0.92, 116)[:-1]
    t_peak = t[np.argmax(wave(t))]
    settings["inflow"] = {"type": "table", "time": t.tolist(),
                          "flow": wave(t + t_peak).tolist()}
    serial = run_navier_stokes(mesh, settings, tmp_path / "np1")
    parallel = run_navier_stokes(mesh, settings, tmp_path / "np2", ranks=2)
    assert "SUPG" in serial["scheme"]
    assert serial["cell_numbers_max"]["peclet"] > 50.0  # convection dominated
    assert_columns_match(*(tmp_path / d / "result" / "series.csv" for d in ("np1", "np2")))
    for key in ("tawss_pa", "osi"):
        for stat in ("mean", "max", "p50"):
            assert parallel[key][stat] == pytest.approx(serial[key][stat], rel=1e-6, abs=1e-12)
    assert parallel["pressure_drop_pa"]["2"]["mean"] == pytest.approx(
        serial["pressure_drop_pa"]["2"]["mean"], rel=1e-6)
