"""``twinflow run`` finds its project or says so in one line; ``twinflow run --unlock``
(issue 19, item 5)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, project_copy, run_cli
from twinflow import workflow


def assert_one_line(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and all(n in lines[0] for n in needles), proc.stderr


@pytest.mark.parametrize("args", [(), ("--unlock",), ("--dry-run",)])
def test_run_outside_a_project_is_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Not the source checkout the package came from: the user's folder or nothing."""
    shutil.copy(ROOT / "cases" / "minimal.yaml", tmp_path / "case.yaml")
    proc = run_cli("run", str(tmp_path / "case.yaml"), *args, cwd=tmp_path, timeout=30)
    assert_one_line(proc, str(tmp_path.resolve()), "not in a twinflow project folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.yaml"]


def test_a_snakefile_alone_is_not_a_project(tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text("rule all:\n    output: 'x'\n")
    (tmp_path / "rules").mkdir()
    with pytest.raises(workflow.TwinflowError, match="not in a twinflow project folder"):
        workflow.project_root(tmp_path)
    project = project_copy(tmp_path)
    assert workflow.project_root(project / "cases") == project.resolve()


def stale_lock(project: Path) -> Path:
    """The lock a killed run of ``results/minimal/case.json`` leaves."""
    lock = project / ".snakemake" / "locks" / "0.output.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("results/minimal/case.json\n")
    return lock


def test_a_lock_snakemake_refuses_names_twinflow_run_unlock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A lock taken after twinflow's own check (simulated: the check skipped) makes Snakemake
    advise its --unlock; twinflow's log says which command of its own does that."""
    project = project_copy(tmp_path)
    stale_lock(project)
    monkeypatch.chdir(project)
    monkeypatch.setattr(workflow, "clear_stale_lock", lambda *a, **k: None)
    with caplog.at_level(logging.ERROR, logger="twinflow"):
        status = workflow.run_workflow(["cases/minimal.yaml"], cores=1,
                                       snakemake_args="results/minimal/case.json")
    assert status != 0
    assert "'twinflow run --unlock' removes the lock" in caplog.text
    assert not (project / "results" / "minimal" / "case.json").exists()


def test_run_unlock_removes_a_stale_lock(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    lock = stale_lock(project)
    proc = run_cli("run", "--unlock", "cases/minimal.yaml", cwd=project, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not lock.exists() and "unlocked" in proc.stderr
    proc = run_cli("run", "--unlock", cwd=project, timeout=120)
    assert proc.returncode == 0 and "not locked" in proc.stderr, proc.stderr
