"""``twinflow run --profile slurm`` on a real one-node SLURM cluster (munged, slurmctld,
slurmd from the Debian packages; tests/cluster/slurm.py), against a local run of the same
case.

A 2-rank tube case (the Womersley set-up, one period of 10 steps) runs twice: locally
(``mpiexec -n 2``) and through the SLURM executor plugin, there beside its 1-rank twin. The
SLURM run must submit its jobs to the partition named by ``SBATCH_PARTITION`` (not the
cluster's default), run the 2-rank solve as one 2-task job launched by ``srun`` (the solver
reports 2 ranks) and the 1-rank one as a plain job, group the short jobs of both cases, and
give the local run's summary (rtol 1e-6). Measured on 2 cores: 2.3 min at load 3 and 4.4 min at
load 7 (other work on the machine); 1.3 min with the 2-rank case alone at load ~2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.cluster.slurm import Cluster, ClusterUnavailable, start
from tests.conftest import ROOT, package_env, project_copy, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.mpi, pytest.mark.slurm]

CASE = "cases/slurm-tube.yaml"
CID = "slurm-tube"
CASE_1 = "cases/slurm-tube-1.yaml"
# The plugin's default polling (first query after 40 s, then +10 s while nothing ends) made a
# 3-job run take two minutes; without slurmdbd the status comes from squeue.
FAST_POLLING = ("--slurm-status-command squeue --slurm-init-seconds-before-status-checks 1 "
                "--seconds-between-status-checks 1 --slurm-keep-successful-logs")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory):
    try:
        cluster = start(tmp_path_factory.mktemp("slurm"))
    except ClusterUnavailable as err:
        pytest.skip(f"no SLURM cluster: {err}")
    yield cluster
    cluster.stop()


def _write_case(project: Path, path: str = CASE, ranks: int = 2) -> None:
    case = yaml.safe_load((ROOT / "cases" / "verification" / "womersley.yaml").read_text())
    case["description"] = f"Womersley tube, one period of 10 steps on {ranks} MPI rank(s)"
    case["mesh"]["cell_size"] = "1 mm"
    case["simulation"] = {"time_step": "106 ms", "cycles": 1, "mpi_ranks": ranks}
    (project / path).write_text(yaml.safe_dump(case))


def _numbers(data, prefix: str = "") -> dict[str, float]:
    """Flatten the numbers of a JSON document to ``{dotted.key: value}``."""
    if isinstance(data, dict):
        return {k: v for key, value in data.items()
                for k, v in _numbers(value, f"{prefix}{key}.").items()}
    if isinstance(data, list):
        return {k: v for i, value in enumerate(data)
                for k, v in _numbers(value, f"{prefix}{i}.").items()}
    if isinstance(data, bool) or not isinstance(data, int | float):
        return {}
    return {prefix.rstrip("."): float(data)}


def test_slurm_profile_runs_a_2_rank_case_like_a_local_run(tmp_path: Path,
                                                            slurm_cluster: Cluster) -> None:
    for name in ("local", "slurm"):
        (tmp_path / name).mkdir()
    local, remote = (project_copy(tmp_path / name, package=True) for name in ("local", "slurm"))
    for project in (local, remote):
        _write_case(project)
    _write_case(remote, CASE_1, ranks=1)  # a plain one-task job: no launcher, no MPI job
    proc = run_cli("run", CASE, "--cores", "2", cwd=local, env=package_env(local))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    env = {**package_env(remote), **slurm_cluster.env, "SBATCH_PARTITION": "twinflow"}
    env.pop("SBATCH_ACCOUNT", None)
    proc = run_cli("run", CASE, CASE_1, "--profile", "slurm", "--cores", "2",
                   f"--snakemake-args={FAST_POLLING}", cwd=remote, env=env, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:] + slurm_cluster.logs()
    assert "SLURM run ID" in out  # the slurm executor submitted the jobs

    jobs = [j for j in slurm_cluster.jobs()
            if Path(j.get("WorkDir", "/")).resolve() == remote.resolve()]
    rules = {j["Comment"]: j for j in jobs}
    assert all(j["JobState"] == "COMPLETED" and j["Partition"] == "twinflow" for j in jobs), jobs
    tasks = {c: j["NumTasks"] for c, j in rules.items() if "simulate_flow" in c}
    assert sorted(tasks.values()) == ["1", "2"], rules.keys()
    # the short jobs of both cases went in groups: one job for both canonicals, one for both
    # reports; the rest: 2 meshes and 2 solves
    assert sum("setup" in c for c in rules) == sum("report" in c for c in rules) == 1, rules
    assert len(jobs) == 6, rules.keys()

    # srun launched the 2 ranks: the job's command, and the solver saw an MPI world of 2
    slurm_logs = list((remote / ".snakemake" / "slurm_logs").rglob("*.log"))
    solve_logs = {p.parent.name: p.read_text() for p in slurm_logs
                  if p.parent.parent.name == "rule_simulate_flow"}
    assert solve_logs.keys() == {f"{CID}_baseline", f"{CID}-1_baseline"}, slurm_logs
    assert "mpi='srun --mpi=pmi2'; ${mpi:+$mpi -n 2}" in solve_logs[f"{CID}_baseline"]
    assert "mpi=; ${mpi:+$mpi -n 1}" in solve_logs[f"{CID}-1_baseline"]
    step_log = (remote / "results" / CID / "logs" / "simulate_flow-baseline.log").read_text()
    assert "on 2 rank(s)" in step_log
    one = (remote / "results" / f"{CID}-1" / "logs" / "simulate_flow-baseline.log").read_text()
    assert "on 1 rank(s)" in one

    a, b = (json.loads((p / "results" / CID / "baseline" / "summary.json").read_text())
            for p in (local, remote))
    assert a["timing"]["ranks"] == b["timing"]["ranks"] == 2
    assert set(a) == set(b)
    # every number but the wall-clock timings (iteration counts kept)
    clock = {"timing.setup_s", "timing.time_loop_s", "timing.seconds_per_step"}
    na, nb = ({k: v for k, v in _numbers(s).items() if k not in clock} for s in (a, b))
    assert na.keys() == nb.keys() and len(na) > 20
    for key in na:
        assert np.isclose(nb[key], na[key], rtol=1e-6, atol=1e-12), (key, na[key], nb[key])
    assert os.path.getsize(remote / "results" / CID / "report.html") > 0
