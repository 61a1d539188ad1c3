"""``twinflow status`` against real Snakemake runs of a coarse tube (mesh -> flow -> report):
done after a run; an edited mesh size makes exactly the steps below the mesher outdated,
naming the changed settings file and key; a failing step reads failed with its log, and
``twinflow run`` names the case, the step and the log; a bad case is one line, exit 2."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import package_env, project_copy, run_cli
from tests.workflow.test_reruns import TUBE

pytestmark = [pytest.mark.slow, pytest.mark.mpi]


def status(project: Path, *cases: str) -> dict[tuple[str, str], dict]:
    proc = run_cli("status", *cases, "--json", cwd=project, env=package_env(project))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {(s["case"], s["rule"]): s for s in json.loads(proc.stdout)}


def test_status_reads_done_outdated_failed_and_missing(tmp_path: Path) -> None:
    project = project_copy(tmp_path, package=True)
    case = project / "cases" / "tube.yaml"
    case.write_text(TUBE)
    (project / "cases" / "other.yaml").write_text(TUBE)  # never run
    proc = run_cli("run", "cases/tube.yaml", "--cores", "2", cwd=project,
                   env=package_env(project), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]

    steps = status(project, "cases/tube.yaml", "cases/other.yaml")
    assert {k[1] for k in steps if k[0] == "tube"} == {"canonical", "mesh_tube",
                                                        "simulate_flow", "report",
                                                        "provenance"}
    assert {s["state"] for k, s in steps.items() if k[0] == "tube"} == {"done"}
    assert {s["state"] for k, s in steps.items() if k[0] == "other"} == {"missing"}
    assert steps[("tube", "simulate_flow")]["scenario"] == "baseline"
    table = run_cli("status", "cases/tube.yaml", cwd=project, env=package_env(project))
    assert table.returncode == 0 and "5 done" in table.stdout, table.stdout

    time.sleep(1.1)
    case.write_text(TUBE.replace("cell_size: 1.5 mm", "cell_size: 2 mm"))
    steps = status(project, "cases/tube.yaml")
    assert {k[1]: s["state"] for k, s in steps.items()} == {
        "canonical": "outdated", "mesh_tube": "outdated", "simulate_flow": "outdated",
        "report": "outdated", "provenance": "outdated"}
    mesh = steps[("tube", "mesh_tube")]["detail"]
    assert "settings/mesh_tube.json" in mesh and "mesh.cell_size: 0.0015 -> 0.002" in mesh
    assert "cases/tube.yaml" in steps[("tube", "canonical")]["detail"]
    assert "upstream re-runs: canonical, mesh_tube" in steps[("tube", "provenance")]["detail"]
    for rule in ("simulate_flow", "report"):  # not their own settings: the mesh re-runs
        detail = steps[("tube", rule)]["detail"]
        assert "settings" not in detail and "upstream re-runs: mesh_tube" in detail, detail

    module = project / "workflow" / "twinflow" / "geometry" / "tube.py"
    module.write_text(module.read_text() + "\nraise RuntimeError('injected failure')\n")
    assert "code changed: twinflow/geometry/tube.py" in status(
        project, "cases/tube.yaml")[("tube", "mesh_tube")]["detail"]
    proc = run_cli("run", "cases/tube.yaml", "--cores", "2", cwd=project,
                   env=package_env(project), timeout=900)
    assert proc.returncode != 0
    assert ("case tube, step mesh_tube failed; log results/tube/logs/mesh_tube.log: "
            "RuntimeError: injected failure") in proc.stderr, proc.stderr[-3000:]
    steps = status(project, "cases/tube.yaml")
    failed = steps[("tube", "mesh_tube")]
    assert failed["state"] == "failed", failed
    assert failed["log"] == "results/tube/logs/mesh_tube.log"
    assert failed["error"] == "RuntimeError: injected failure"
    assert steps[("tube", "canonical")]["state"] == "done"
    assert steps[("tube", "simulate_flow")]["state"] == "outdated"


def test_status_of_a_bad_case_is_one_line(tmp_path: Path) -> None:
    project = project_copy(tmp_path, package=True)
    proc = run_cli("status", "cases/nowhere.yaml", cwd=project, env=package_env(project))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "config: cases: no such case file: cases/nowhere.yaml"
    (project / "cases" / "bad.yaml").write_text("anatomy: carotid\nmesh: {cell_size: 3 kg}\n")
    proc = run_cli("status", "cases/bad.yaml", cwd=project, env=package_env(project))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("cases/bad.yaml:2:"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
