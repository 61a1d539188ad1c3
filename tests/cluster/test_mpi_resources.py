"""MPI as a resource: what a solve asks for (twinflow.resources), how ``twinflow run``
finds a profile, and the launch lines of a dry run (mpiexec here, ranks capped by --cores;
the short jobs grouped by the SLURM profile). The SLURM launch itself: test_slurm.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, project_copy, run_cli
from twinflow.case import load_case, to_canonical
from twinflow.errors import TwinflowError
from twinflow.resources import MIN_RUNTIME, cap_ranks, mpi_job_resources, time_steps
from twinflow.workflow import profile_dir


def _case(name: str) -> dict:
    return to_canonical(load_case(ROOT / "cases" / name))


def test_requests_scale_with_the_case() -> None:
    lv = _case("lv-demo.yaml")  # 8 beats of 0.8 s at 5 ms
    assert time_steps(lv) == 1280
    request = mpi_job_resources(lv, 2)
    assert request == {"tasks": 2, "mem_mb": 3072, "runtime": 107}
    womersley = _case("verification/womersley.yaml")  # 3 periods at T / 50
    assert time_steps(womersley) == 150
    assert mpi_job_resources(womersley, 1)["runtime"] == MIN_RUNTIME
    bench = _case("verification/land2015-problem1.yaml")
    assert time_steps(bench) == 0 and mpi_job_resources(bench, 1)["mem_mb"] == 2048
    assert cap_ranks(4, 2) == 2 and cap_ranks(4, None) == 4 and cap_ranks(0, 2) == 1


def test_profile_names_and_folders(tmp_path: Path) -> None:
    assert profile_dir("slurm", ROOT) == ROOT / "profiles" / "slurm"
    assert profile_dir("default", ROOT) == ROOT / "profiles" / "default"
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "config.yaml").write_text("executor: slurm\n")
    assert profile_dir(str(tmp_path / "site"), ROOT) == tmp_path / "site"
    with pytest.raises(TwinflowError, match="--profile nowhere: no such profile.*slurm"):
        profile_dir("nowhere", ROOT)


def _dry_run(project: Path, *args: str) -> str:
    proc = run_cli("run", "cases/lv-demo.yaml", "--dry-run", *args, cwd=project)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def test_dry_runs_launch_the_case_ranks_and_cap_them_by_cores(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    out = _dry_run(project, "--cores", "2", "--snakemake-args=-p")
    # lv-demo: 2 ranks for its calibration and its 2 arms
    assert out.count("/mpiexec; ${mpi:+$mpi -n 2} ") == 3
    out = _dry_run(project, "--cores", "1", "--snakemake-args=-p")
    assert out.count("lv-demo: simulation.mpi_ranks = 2 capped to 1") == 1
    assert out.count("mpi=; ${mpi:+$mpi -n 1} ") == 3 and "mpiexec" not in out
    out = _dry_run(project, "--cores", "2", "--profile", "slurm")
    assert "Group job setup" in out and "Group job report" in out
    proc = run_cli("run", "--dry-run", "--profile", "nowhere", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "no such profile (a folder with config.yaml; named profiles: default, slurm)")
