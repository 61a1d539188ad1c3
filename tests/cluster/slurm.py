"""A one-node SLURM cluster on this machine for tests: munged, slurmctld and slurmd from the
Debian packages (installed by ``.ci/run``), with a minimal ``slurm.conf`` in a scratch folder.

:func:`start` returns a :class:`Cluster` whose :meth:`~Cluster.stop` ends exactly the daemons
it started (a munged that was already running is reused and left alone). Only the
configuration that a one-node test needs: no slurmdbd (so accounting, ``sacct`` and fair
share are off; job records stay in slurmctld for ``MinJobAge`` seconds), proctrack/linuxproc
and task/none (no cgroups in containers), select/cons_tres by core and memory, and
``MpiDefault=none`` (the workflow's ``srun --mpi=pmi2`` gives MPICH its ranks). The cluster is
"configless": slurmd fetches slurm.conf from slurmctld and caches it under /run/slurm/conf,
where clients inside a job find it (the jobstep plugin removes ``SLURM_CONF`` from a job
step's environment).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "srun", "scontrol")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
CONF_CACHE = Path("/run/slurm/conf")  # slurmd's copy of a configless cluster's files


class ClusterUnavailable(RuntimeError):
    """The daemons cannot start here (the reason is the message)."""


@dataclass
class Cluster:
    root: Path
    conf: Path
    host: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    owns_cache: bool = False
    """Whether /run/slurm was made by this cluster's slurmd (removed at the end)."""

    @property
    def env(self) -> dict[str, str]:
        """Environment for the SLURM clients (sbatch, squeue, srun) of this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *cmd: str) -> str:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                              env={**os.environ, **self.env})
        if proc.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(cmd)}: {proc.stderr.strip()}")
        return proc.stdout

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still holds (finished ones for ``MinJobAge`` seconds), as
        ``scontrol show job --oneliner`` fields."""
        out = self.run("scontrol", "show", "job", "--oneliner")
        return [dict(f.split("=", 1) for f in line.split() if "=" in f)
                for line in out.splitlines() if line.startswith("JobId=")]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.root.glob("*.log")))

    def stop(self) -> None:
        """Stop the daemons this cluster started, last started first."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)
        self.processes.clear()
        _remove_cache()  # this cluster's slurmd made it (start() refuses to share one)
        if self.owns_cache:
            shutil.rmtree(CONF_CACHE.parent, ignore_errors=True)


def _running(name: str) -> bool:
    """Whether a process named ``name`` runs on this machine (read from /proc)."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                return True
        except OSError:  # the process ended while we looked
            continue
    return False


def _remove_cache() -> None:
    """Remove slurmd's configless cache entry (a folder, or a link to the spool's copy)."""
    if CONF_CACHE.is_symlink() or CONF_CACHE.is_file():
        CONF_CACHE.unlink(missing_ok=True)
    elif CONF_CACHE.is_dir():
        shutil.rmtree(CONF_CACHE, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(host: str, port: int, cluster: Cluster, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise ClusterUnavailable(f"slurmctld does not listen on {host}:{port}:\n" + cluster.logs())


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 1024


def slurm_conf(root: Path, host: str, cpus: int, memory_mb: int, ctld_port: int) -> str:
    """The minimal slurm.conf of a one-node cluster whose files all lie under ``root``."""
    return "\n".join([
        "ClusterName=twinflow-test",
        f"SlurmctldHost={host}(127.0.0.1)",  # the host name need not resolve
        "SlurmUser=root",  # jobs run as the submitting user; root submits in CI
        "SlurmdUser=root",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={_free_port()}",
        "AuthType=auth/munge",
        f"StateSaveLocation={root}/state",
        f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid",
        f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldLogFile={root}/slurmctld.log",
        f"SlurmdLogFile={root}/slurmd.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "MpiDefault=none",  # the workflow asks for PMI-2 itself (srun --mpi=pmi2)
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "SchedulerType=sched/builtin",
        # configless: slurmd fetches this file from slurmctld and caches it in /run/slurm/conf,
        # where the clients inside a job find it (the jobstep plugin drops SLURM_CONF there)
        "SlurmctldParameters=enable_configless",
        "ReturnToService=2",
        "MinJobAge=600",  # keep finished jobs in `scontrol show job` for the checks
        "SlurmctldTimeout=30",
        "SlurmdTimeout=30",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        # two partitions, so that a test can see a non-default one chosen (SBATCH_PARTITION)
        f"PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        f"PartitionName=twinflow Nodes={host} MaxTime=INFINITE State=UP",
        "",
    ])


def _start_munged(cluster: Cluster) -> None:
    if MUNGE_SOCKET.exists():
        probe = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        if probe.returncode == 0:
            return  # a running munged: reuse it, do not stop it
    run_dir = MUNGE_SOCKET.parent
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(run_dir, "munge", "munge")
    run_dir.chmod(0o755)
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        tool = shutil.which("mungekey")
        cmd = [tool, "--create", "--keyfile", str(key)] if tool else ["create-munge-key"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=30)
        shutil.chown(key, "munge", "munge")
        key.chmod(0o600)
    log = (cluster.root / "munged.log").open("w")
    proc = subprocess.Popen(["munged", "--foreground", "--force"], user="munge",
                            group="munge", extra_groups=[], stdout=log, stderr=log)
    cluster.processes.append(proc)
    for _ in range(50):
        if subprocess.run(["munge", "-n"], capture_output=True, timeout=10).returncode == 0:
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise ClusterUnavailable(f"munged did not start: {(cluster.root / 'munged.log').read_text()}")


def start(root: Path, timeout: float = 60) -> Cluster:
    """Start munged (unless running), slurmctld and slurmd for a cluster under ``root`` and
    wait until its node is idle. Raises :class:`ClusterUnavailable` when they cannot start
    (having stopped what it started)."""
    missing = [tool for tool in DAEMONS if shutil.which(tool) is None]
    if missing:
        raise ClusterUnavailable(f"not installed: {', '.join(missing)} (Debian packages "
                                 "slurmctld slurmd munge slurm-client; .ci/run installs them)")
    if os.geteuid() != 0:
        raise ClusterUnavailable("slurmd must run as root (CI runs as root)")
    host = subprocess.run(["hostname", "-s"], capture_output=True, text=True,
                          check=True).stdout.strip()
    for sub in ("state", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    conf = root / "slurm.conf"
    port = _free_port()
    conf.write_text(slurm_conf(root, host, os.cpu_count() or 1, int(_memory_mb() * 0.9), port))
    if CONF_CACHE.exists() or CONF_CACHE.is_symlink():
        if _running("slurmd"):
            raise ClusterUnavailable(f"{CONF_CACHE} exists: a SLURM node runs here already")
        _remove_cache()  # left by a test cluster that was killed before its stop()
    cluster = Cluster(root, conf, host, owns_cache=not CONF_CACHE.parent.exists())
    env = {**os.environ, **cluster.env}
    try:
        _start_munged(cluster)
        daemons = {"slurmctld": ["slurmctld", "-D", "-i", "-f", str(conf)],
                   "slurmd": ["slurmd", "-D", "--conf-server", f"127.0.0.1:{port}"]}
        for daemon, cmd in daemons.items():
            out = (root / f"{daemon}.out").open("w")
            cluster.processes.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=out))
            if daemon == "slurmctld":
                _wait_for_port("127.0.0.1", port, cluster)
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in cluster.processes):
                raise ClusterUnavailable("a SLURM daemon exited:\n" + cluster.logs())
            proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True,
                                  text=True, env=env, timeout=10)
            state = proc.stdout.strip()
            if state and set(state.split()) == {"idle"}:
                return cluster
            time.sleep(0.5)
        raise ClusterUnavailable(f"node not idle after {timeout:.0f} s ({state!r}):\n"
                                 + cluster.logs())
    except (OSError, LookupError, subprocess.SubprocessError) as err:  # a tool fails to run
        cluster.stop()
        raise ClusterUnavailable(f"{err}\n{cluster.logs()}") from err
    except BaseException:
        cluster.stop()
        raise
