"""Kill and resume, with real Snakemake and a 2-rank DOLFINx solve: ``twinflow run`` of a
coarse tube whose solve lasts some seconds is stopped (SIGSTOP) once the solve runs, so that
it cannot finish first, then killed (SIGKILL to its whole process group); no output of that
step looks finished, the step reads running and then failed (interrupted), a second
``twinflow run`` refuses while the first is live, and the next ``twinflow run`` unlocks the
stale lock, re-runs the incomplete step and completes with valid outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import package_env, project_copy, run_cli
from tests.workflow.test_reruns import executed
from twinflow.artifacts.flow import FlowSummary
from twinflow.processes import live_commands

pytestmark = [pytest.mark.slow, pytest.mark.mpi]

CASE = """anatomy: carotid
description: coarse tube whose solve lasts some seconds (kill-and-resume test)
geometry:
  kind: tube
  tube: {radius: 3 mm, length: 12 mm}
mesh: {cell_size: 1.5 mm}
physics:
  inflow: {waveform: steady, mean_flow: 6 mL/s, period: 1 s, profile: parabolic}
  outlets: {model: flow-split, pressure: 0 Pa}
simulation: {time_step: 5 ms, cycles: 1, mpi_ranks: 2}
"""


def _wait_for(condition, what: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_sigkill_during_a_solve_then_resume(tmp_path: Path) -> None:
    project = project_copy(tmp_path, package=True)
    (project / "cases" / "kill.yaml").write_text(CASE)
    env = {**os.environ, **package_env(project)}
    out_dir = project / "results" / "kill" / "baseline"
    solve_log = project / "results" / "kill" / "logs" / "simulate_flow-baseline.log"
    with open(tmp_path / "first.log", "w") as first_log:
        run = subprocess.Popen([sys.executable, "-m", "twinflow", "run", "cases/kill.yaml",
                                "--cores", "2"], cwd=project, env=env, stdout=first_log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # the time loop has started (the solver logs its size just before it)
        _wait_for(lambda: solve_log.is_file() and " steps of " in solve_log.read_text(),
                  "the solve to start")
        # freeze the run (every process of its group) so that the solve cannot end before the
        # kill, however fast the machine: a stopped process is still live for `status`
        os.killpg(run.pid, signal.SIGSTOP)
        steps = {s["rule"]: s for s in json.loads(run_cli(
            "status", "cases/kill.yaml", "--json", cwd=project, env=env).stdout)}
        assert steps["simulate_flow"]["state"] == "running", steps["simulate_flow"]
        assert steps["mesh_tube"]["state"] == "done"
        second = run_cli("run", "cases/kill.yaml", "--cores", "2", cwd=project, env=env)
        assert second.returncode == 2
        assert "another run is live" in second.stderr, second.stderr
        assert run.poll() is None, "the run ended before the kill"
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    _wait_for(lambda: not live_commands(project), "the killed processes to go", 30)

    assert not (out_dir / "summary.json").exists()
    assert not (out_dir / "series.csv").exists()
    assert list((project / ".snakemake" / "locks").glob("*.lock")), "expected a stale lock"
    steps = {s["rule"]: s for s in json.loads(run_cli(
        "status", "cases/kill.yaml", "--json", cwd=project, env=env).stdout)}
    assert steps["simulate_flow"]["state"] == "failed"
    assert "interrupted" in steps["simulate_flow"]["detail"]

    proc = run_cli("run", "cases/kill.yaml", "--cores", "2", cwd=project, env=env,
                   timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stale lock" in proc.stderr
    assert executed(proc.stdout + proc.stderr) == Counter(simulate_flow=1, report=1, provenance=1)
    summary = FlowSummary.read(out_dir / "summary.json")
    rows = (out_dir / "series.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 200  # header + every step of the 1 s cycle at 5 ms
    assert summary.timing.ranks == 2
    assert summary.inlet_flow_m3_s.mean == pytest.approx(6e-6, rel=0.02)  # the steady inflow
    assert (project / "results" / "kill" / "report.html").stat().st_size > 0
    steps = json.loads(run_cli("status", "cases/kill.yaml", "--json", cwd=project,
                               env=env).stdout)
    assert {s["state"] for s in steps} == {"done"}
