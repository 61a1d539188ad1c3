"""Stage ``collect_cohort`` through ``twinflow run``: members whose steps fail are rows with
the failing step and its error line (never dropped), and the run goes on to the table; the
statistics' confidence intervals against a by-hand Student t computation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import project_copy, run_cli
from twinflow.artifacts.cohort import CohortSummary
from twinflow.cohort.collect import statistic


def test_statistic_matches_student_t_by_hand() -> None:
    x = [1.0, 2.0, 4.0, 7.0]
    s = statistic(x)
    mean, sd = 3.5, math.sqrt(((2.5**2) + (1.5**2) + (0.5**2) + (3.5**2)) / 3)
    half = 3.182446305284263 * sd / 2  # t(0.975, 3) * sd / sqrt(4)
    assert s["n"] == 4 and s["mean"] == pytest.approx(mean) and s["sd"] == pytest.approx(sd)
    assert (s["ci95_low"], s["ci95_high"]) == pytest.approx((mean - half, mean + half))
    assert statistic([5.0]) == {"n": 1, "mean": 5.0, "sd": None, "ci95_low": None,
                                "ci95_high": None}
    assert statistic([])["n"] == 0


@pytest.mark.slow
def test_failed_members_are_listed_with_their_reason(tmp_path: Path) -> None:
    """Both members lose an image after generation: their first step fails, the run still
    writes the cohort table (phase 2), with a row per member x arm and the reason."""
    project = project_copy(tmp_path)
    spec = project / "cohorts" / "hypertensive-lvh.yaml"
    assert run_cli("cohort", "generate", str(spec), "--n", "2", "--seed", "2",
                   cwd=project).returncode == 0
    folder = project / "cohorts" / "hypertensive-lvh"
    for png in sorted(folder.glob("data/*/apical-2ch-end-systole.png")):
        png.unlink()
    proc = run_cli("run", "cohorts/hypertensive-lvh", "--cores", "2", cwd=project,
                   timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "step canonical failed" in out  # phase 1 named the failures
    results = project / "results" / "hypertensive-lvh"
    table = pq.read_table(results / "cohort.parquet").to_pylist()
    assert [(r["member"], r["arm"]) for r in table] == [
        (m, a) for m in ("hypertensive-lvh-001", "hypertensive-lvh-002")
        for a in ("baseline", "sacubitril-valsartan", "enalapril")]
    for r in table:
        assert r["status"] == "failed" and r["failed_step"] == "canonical"
        assert "apical-2ch-end-systole.png" in r["reason"] and "not found" in r["reason"]
        assert r["in_systolic_pressure_mmhg"] > r["in_diastolic_pressure_mmhg"]
    summary = CohortSummary.read(results / "summary.json")
    assert len(summary.failures) == 6 and all(a.completed == 0 for a in summary.arms)
    assert "| hypertensive-lvh-002 | enalapril | canonical |" in \
        (results / "summary.md").read_text()
    assert (results / "outputs.png").stat().st_size > 1000
    page = (results / "report.html").read_text()
    assert "Members without results" in page and "hypertensive-lvh-002" in page
    assert "data:image/png;base64," in page and "http" not in page  # self-contained
    meta = pq.read_schema(results / "cohort.parquet").metadata
    assert json.loads(meta[b"twinflow.output_units"])["end_diastolic_volume"] == "mL"


def test_cohort_plans_unchanged_on_the_slurm_profile(tmp_path: Path) -> None:
    """The same cohort folder plans with the SLURM profile (dry run: both phases)."""
    project = project_copy(tmp_path)
    spec = project / "cohorts" / "hypertensive-lvh.yaml"
    assert run_cli("cohort", "generate", str(spec), "--n", "2", cwd=project).returncode == 0
    proc = run_cli("run", "cohorts/hypertensive-lvh", "--profile", "slurm", "--dry-run",
                   cwd=project, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "cohort_members" in out and "collect_cohort" in out
    for member in ("hypertensive-lvh-001", "hypertensive-lvh-002"):
        for arm in ("baseline", "sacubitril-valsartan", "enalapril"):
            assert f"cardiac cycle of {member} ({arm}, MPI)" in out
