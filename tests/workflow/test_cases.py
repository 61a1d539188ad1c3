"""Every case shipped in cases/ runs through ``twinflow run``, as a user runs it.

Each shipped case has its test here (a test fails when a case file is added without one):
the verification cases run to the end and are checked against their reference (analytic
tube flow, Land et al. 2015; the Poiseuille tube, ~9 min, in the heavy set); the demo cases
run end to end in the heavy acceptance tests (tests/workflow/test_run.py: carotid demo;
here: LV demo); ``minimal.yaml`` — the default
LV of the case schema, 5 mm cells and 3 beats at 2 ms, hours on 2 cores — runs through
the workflow to its mesh, and its whole graph plans (dry run).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import ROOT, project_copy, run_cli
from twinflow.artifacts.comparison import ArmComparison
from twinflow.artifacts.cycle import CycleSummary
from twinflow.artifacts.flow import FlowSummary
from twinflow.artifacts.mesh import LVMeshInfo
from twinflow.artifacts.verification import Land2015Result

pytestmark = [pytest.mark.slow, pytest.mark.mpi]

TESTED = {"verification/land2015-problem1.yaml", "verification/land2015-problem2.yaml",
          "verification/land2015-problem3.yaml", "verification/poiseuille.yaml",
          "verification/womersley.yaml", "minimal.yaml", "lv-demo.yaml", "carotid-demo.yaml"}


def test_every_shipped_case_has_a_run_test() -> None:
    shipped = {p.relative_to(ROOT / "cases").as_posix()
               for p in (ROOT / "cases").rglob("*.yaml") if "data" not in p.parts}
    assert shipped == TESTED


def _run(project: Path, *args: str, timeout: float = 1800) -> None:
    proc = run_cli("run", *args, "--cores", "2", cwd=project, timeout=timeout)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def test_land2015_cases_meet_the_benchmark(tmp_path: Path) -> None:
    """Problems 1-3 under the workflow (rule land2015); each records its reference check."""
    project = project_copy(tmp_path)
    _run(project, "cases/verification/land2015-problem*.yaml")
    for problem in (1, 2, 3):
        cid = f"land2015-problem{problem}"
        res = Land2015Result.read(project / "results" / cid / "verification" / "land2015.json")
        assert res.problem == problem and res.within_tolerance, (problem, res.relative_errors)
        assert not (project / "results" / cid / "report.html").exists()
    p1 = Land2015Result.read(project / "results" / "land2015-problem1" / "verification"
                             / "land2015.json")
    assert p1.refinement == 2  # from the case file
    assert p1.tip_z_m == pytest.approx(4.17e-3, rel=0.01)  # measured 4.1695 mm (0.01 %)


def test_womersley_case_runs_through_the_workflow(tmp_path: Path) -> None:
    """cases/verification/womersley.yaml: mesh_tube -> simulate_flow -> report (~1.5 min).
    alpha = R sqrt(2 pi rho / (T mu)) = 4.0 at the inlet, the mean flow kept (measured
    alpha 4.0005, mean 3.000 mL/s, mass balance 0.5 %); the profile against the analytic
    solution is tests/physics/flow/test_navier_stokes.py."""
    project = project_copy(tmp_path)
    _run(project, "cases/verification/womersley.yaml")
    w = FlowSummary.read(project / "results" / "womersley" / "baseline" / "summary.json")
    assert w.womersley_inlet == pytest.approx(4.0, rel=0.01)
    assert w.inlet_flow_m3_s.mean == pytest.approx(3e-6, rel=0.01)
    assert w.mass_balance_relative < 0.01
    assert (project / "results" / "womersley" / "report.html").stat().st_size > 0


@pytest.mark.heavy  # ~9 min on 2 cores: 19.6k second-order cells, 200 steps on one rank
def test_poiseuille_case_reproduces_the_analytic_solution(tmp_path: Path) -> None:
    """cases/verification/poiseuille.yaml (Q = 6 mL/s, R = 3 mm, L = 60 mm, mu = 3.5 mPa s):
    wall shear stress 4 mu Q / (pi R^3) = 0.990 Pa, pressure drop 8 mu L Q / (pi R^4) =
    39.6 Pa (measured through the workflow: 0.988 Pa, -0.21 %; 39.71 Pa, +0.26 %)."""
    project = project_copy(tmp_path)
    _run(project, "cases/verification/poiseuille.yaml", timeout=3600)
    mu, q, r, length = 3.5e-3, 6e-6, 3e-3, 60e-3
    s = FlowSummary.read(project / "results" / "poiseuille" / "baseline" / "summary.json")
    assert s.tawss_pa.mean == pytest.approx(4 * mu * q / (math.pi * r**3), rel=0.01)
    drop = s.pressure_drop_pa["2"].mean
    assert drop == pytest.approx(8 * mu * length * q / (math.pi * r**4), rel=0.01)
    assert (project / "results" / "poiseuille" / "report.html").stat().st_size > 0


def test_minimal_case_runs_to_its_mesh_and_plans_the_rest(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    mesh = "results/minimal/baseline/mesh/mesh.xdmf"
    _run(project, "cases/minimal.yaml", "--snakemake-args", mesh)
    info = LVMeshInfo.read(project / "results" / "minimal" / "baseline" / "mesh" / "mesh.json")
    assert info.source == "measurements" and info.cell_size_m == pytest.approx(5e-3)
    assert info.quality.inverted_cells == 0
    proc = run_cli("run", "cases/minimal.yaml", "--dry-run", cwd=project)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "simulate_heart" in out and "report" in out, out[-3000:]


@pytest.mark.heavy  # ~8 min on 2 cores: images -> masks -> LV -> calibration -> 2 arms
def test_lv_demo_runs_end_to_end(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    _run(project, "cases/lv-demo.yaml", timeout=3600)
    case_dir = project / "results" / "lv-demo"
    arms = {arm: CycleSummary.read(case_dir / arm / "summary.json")
            for arm in ("baseline", "entresto")}
    for summary in arms.values():
        assert summary.periodic and 0.3 < summary.ejection_fraction < 0.8
    assert arms["entresto"].peak_systolic_pressure_pa < arms["baseline"].peak_systolic_pressure_pa
    # the baseline reproduces the patient: image-derived EDV/ESV and the case's cuff pressure
    base = arms["baseline"].personalisation
    assert base is not None and all(t.met for t in base.targets), base
    assert {t.name: t.source for t in base.targets}["end_systolic_volume"] == "images"
    assert abs(base.unloading_volume_error) < 0.01
    gradient = arms["baseline"].peak_lv_aortic_gradient_pa
    assert gradient is not None and gradient <= 5 * 133.322387415
    # the Entresto arm has the trials' directions (issue 16): systolic pressure and LV mass
    # down, EF not down, ESV not up; its comparison with the baseline is in the outputs
    comparison = ArmComparison.read(case_dir / "comparison" / "comparison.json")
    values = {v.quantity: v for v in comparison.arms[0].values}
    assert comparison.arms[0].scenario == "entresto"
    assert values["systolic_pressure"].change < 0 and values["lv_mass"].change < 0
    assert values["ejection_fraction"].change >= 0 and values["end_systolic_volume"].change <= 0
    assert (case_dir / "comparison" / "pv_loops.png").stat().st_size > 1000
    text = (case_dir / "report.html").read_text()
    assert "Drug arms against the baseline" in text and "PROVE-HF" in text
    assert f"{100 * arms['baseline'].ejection_fraction:.3g}" in text
    assert json.loads((case_dir / "case.json").read_text())["anatomy"] == "left-ventricle"
