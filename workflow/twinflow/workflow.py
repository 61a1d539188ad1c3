"""``twinflow run``: materialise the Snakemake graph for some cases.

Snakemake is called through its command line in a subprocess (its Python API changes
within 9.x), so twinflow never imports it. The project root is the folder holding the
``Snakefile``, ``rules/`` and ``config/config.default.yaml``: the current folder or one above
it. Anywhere else ``twinflow run`` is a one-line error: it never falls back on the source
checkout the package was installed from, whose results/ are not the user's.

Resuming after a kill: a run killed with SIGKILL leaves Snakemake's lock
(``.snakemake/locks``) and its running jobs' outputs marked incomplete. Before a run,
:func:`clear_stale_lock` unlocks a lock that no live Snakemake process holds (with a log
line; ``snakemake --unlock``) and refuses, in one line, while another run is live in the
folder; the profile's ``rerun-incomplete`` then re-runs the incomplete jobs (outputs are
written atomically, so none of them looks finished). ``twinflow run --unlock`` does the
unlocking alone (:func:`unlock`), for the rare lock Snakemake itself reports ("use
--unlock"): one taken by a run that started between that check and this run's start.
When a run fails, :func:`failed_steps` reads Snakemake's log of that run and names each
failed step: case, step, log file and its last error line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from twinflow.errors import TwinflowError
from twinflow.processes import live_snakemake, locks

log = logging.getLogger(__name__)

#: What a project folder holds besides the package (``workflow/``): a copy of these runs.
PROJECT_FILES = ("Snakefile", "rules", "config", "profiles", "envs", "cases", "cohorts",
                 "schemas", "models")


def copy_project(source: Path, dst: Path, package: bool = True) -> Path:
    """A copy of the project at ``source`` in the new folder ``dst`` (its
    :data:`PROJECT_FILES` and, with ``package``, ``workflow/``), for throw-away runs
    (tests, benchmarks); returns ``dst``."""
    import shutil

    dst.mkdir()
    for item in [*PROJECT_FILES, *(["workflow"] if package else [])]:
        src = source / item
        if item == "cohorts":  # the specs only, not the generated cohort folders
            (dst / item).mkdir()
            for spec in src.glob("*.yaml"):
                shutil.copy2(spec, dst / item / spec.name)
        elif src.is_dir():
            shutil.copytree(src, dst / item,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dst / item)
    return dst


def is_project(folder: Path) -> bool:
    """A twinflow project folder: ``Snakefile``, ``rules/`` and the default config."""
    return ((folder / "Snakefile").is_file() and (folder / "rules").is_dir()
            and (folder / "config" / "config.default.yaml").is_file())


def project_root(start: Path | None = None) -> Path:
    """The project folder: ``start`` (default: the current folder) or the nearest one above
    it that :func:`is_project`; never the source checkout of the package."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    raise TwinflowError(f"twinflow: {here} is not in a twinflow project folder (none here or "
                        "above holds Snakefile, rules/ and config/config.default.yaml); "
                        "run it in one")


def profile_dir(profile: str, root: Path) -> Path:
    """The folder of a workflow profile: ``root/profiles/NAME`` for a bare name (``default``,
    ``slurm``), else a path (relative to the current folder)."""
    named = root / "profiles" / profile
    if "/" not in profile and (named / "config.yaml").is_file():
        return named
    path = Path(profile).resolve()
    if (path / "config.yaml").is_file():
        return path
    known = sorted(p.parent.name for p in (root / "profiles").glob("*/config.yaml"))
    raise TwinflowError(f"twinflow run: --profile {profile}: no such profile (a folder with "
                        f"config.yaml; named profiles: {', '.join(known) or 'none'})")


def project_config(root: Path) -> Any:
    """The project's validated default config (``config/config.default.yaml``)."""
    import yaml

    from twinflow.config import validate_config

    path = root / "config" / "config.default.yaml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise TwinflowError(f"{path}: cannot be read ({err})".splitlines()[0]) from None
    return validate_config(raw)


def snakemake_exe() -> str:
    return shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"


def clear_stale_lock(root: Path, config_args: list[str] | None = None) -> None:
    """Unlock ``root`` when a killed run left Snakemake's lock behind; refuse while another
    run is live there (module docstring)."""
    held = locks(root)
    if not held:
        return
    _refuse_while_live(root)
    log.warning("%s: stale lock of a run that ended without releasing it (killed?); "
                "unlocking", held[0].parent)
    _snakemake_unlock(root, config_args)


def unlock(cases: list[str]) -> int:
    """``twinflow run --unlock``: remove Snakemake's lock of the project (``snakemake
    --unlock``), refused while a run is live there; returns 0."""
    root = project_root()
    if not locks(root):
        log.info("%s: not locked", root)
        return 0
    _refuse_while_live(root)
    cases, cohorts = split_cohorts(cases, root)
    config = snakemake_command(_relative_cases(cases, root), 1, False, None, [], cohorts)
    _snakemake_unlock(root, config[config.index("--config"):] if "--config" in config else [])
    log.info("%s: unlocked", root)
    return 0


def _refuse_while_live(root: Path) -> None:
    live = live_snakemake(root)
    if live:
        raise TwinflowError(f"twinflow run: another run is live in {root} (snakemake pid "
                            f"{live[0]}); wait for it to end or stop it (then "
                            "'twinflow run --unlock' if its lock stays)")


def _snakemake_unlock(root: Path, config_args: list[str] | None) -> None:
    proc = subprocess.run([snakemake_exe(), "--unlock", "--cores", "1", *(config_args or [])],
                          cwd=root,
                          capture_output=True, text=True)
    if proc.returncode != 0 or locks(root):
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        raise TwinflowError(f"twinflow run: could not unlock {root}: "
                            f"{lines[-1] if lines else 'snakemake --unlock failed'}")


_ERROR_BLOCK = re.compile(r"^Error in rule (\S+):\n((?:[ \t]+.*\n?)*)", re.M)


def failed_steps(snakemake_log: Path, results: str = "results") -> list[str]:
    """One line per failed step of a Snakemake log: ``case <id>, step <rule>[ (<scenario>)]
    failed; log <path>: <last error line>`` (case and scenario from the output paths
    ``<results>/<case>/[<scenario>/]...``)."""
    from twinflow.processes import last_error_line
    from twinflow.stages import STAGES

    try:
        text = snakemake_log.read_text(errors="replace")
    except OSError:
        return []
    lines, seen = [], set()
    for match in _ERROR_BLOCK.finditer(text):
        rule, body = match.group(1), match.group(2)
        fields = dict(re.findall(r"^\s+(output|log): (.*)$", body, re.M))
        output = fields.get("output", "").split(", ")[0]
        log_file = fields.get("log", "").split(" (")[0].split(", ")[0]
        parts = Path(output).parts
        top = Path(results).parts
        case = parts[len(top)] if parts[:len(top)] == top and len(parts) > len(top) else "?"
        scenario = None
        if rule in STAGES and STAGES[rule].per_scenario and len(parts) > len(top) + 2:
            scenario = parts[len(top) + 1]
        step = rule + (f" ({scenario})" if scenario else "")
        if (case, step) in seen:
            continue
        seen.add((case, step))
        error = last_error_line(snakemake_log.parent.parent.parent / log_file) \
            if log_file else None
        lines.append(f"case {case}, step {step} failed; log {log_file or '-'}"
                     + (f": {error}" if error else ""))
    return lines


def snakemake_command(cases: list[str], cores: int, dry_run: bool, profile: str | None,
                      extra: list[str], cohorts: list[str] | None = None) -> list[str]:
    """The snakemake command line; ``profile`` (a folder) replaces ``profiles/default``, which
    Snakemake reads by itself when no ``--workflow-profile`` is given."""
    cmd = [snakemake_exe(), "--cores", str(cores)]
    if profile:
        cmd += ["--workflow-profile", profile]
    cmd += extra  # targets and options; before --config, which takes every value after it
    if dry_run:
        cmd += ["--dry-run"]
    if cases or cohorts:
        cmd += ["--config", f"cases={json.dumps(cases)}"]
    if cohorts:
        cmd += [f"cohorts={json.dumps(cohorts)}"]
    return cmd


def split_cohorts(args: list[str], root: Path) -> tuple[list[str], list[str]]:
    """The CASE arguments of ``twinflow run`` split into case files (or patterns) and cohort
    folders (a folder holding ``cohort.json``, or that file)."""
    cases, cohorts = [], []
    for arg in args:
        path = Path(arg)
        if path.name == "cohort.json" and path.is_file():
            path = path.parent
        if path.is_dir() and (path / "cohort.json").is_file():
            cohorts.append(os.path.relpath(path.resolve(), root))
        else:
            cases.append(arg)
    return cases, cohorts


def _relative_cases(cases: list[str], root: Path) -> list[str]:
    return [os.path.relpath(Path(c).resolve(), root) if Path(c).exists() else c
            for c in cases]


def run_workflow(cases: list[str], cores: int, dry_run: bool = False,
                 profile: str | None = None, keep_going: bool = False,
                 snakemake_args: str = "") -> int:
    """Run Snakemake in the project root for ``cases``; returns its exit status.

    With a cohort among them (a folder from ``twinflow cohort generate``), the members run
    first (target ``cohort_members``, ``--keep-going``: a failing member does not stop the
    others), then the default target, whose cohort table collects the members that finished
    and lists the others with their reasons (rules/cohort.smk)."""
    root = project_root()
    cases, cohorts = split_cohorts(cases, root)
    cases = _relative_cases(cases, root)
    extra = (["--keep-going"] if keep_going else []) + shlex.split(snakemake_args)
    folder = str(profile_dir(profile, root)) if profile else None
    # members' segment steps on one thread, so that they never wait for both cores while a
    # one-rank solve of another member runs (a cohort's throughput)
    phases = [["cohort_members", "--set-threads", "segment=1",
               *([] if keep_going else ["--keep-going"])], []] if cohorts else [[]]
    status = 0
    for i, targets in enumerate(phases):
        cmd = snakemake_command(cases, cores, dry_run, folder, [*targets, *extra], cohorts)
        if not dry_run:
            clear_stale_lock(root, cmd[cmd.index("--config"):] if "--config" in cmd else [])
        log.info("+ %s", " ".join(cmd))
        start = time.time()
        status = subprocess.call(cmd, cwd=root)
        if status != 0 and not dry_run:
            _explain_failure(root, start)
            if i + 1 < len(phases):
                log.warning("some cohort member steps failed (above); collecting the cohort "
                            "with the members that finished: the others are listed in its "
                            "summary with their reasons")
    return status


def _explain_failure(root: Path, start: float) -> None:
    runs = [p for p in (root / ".snakemake" / "log").glob("*.snakemake.log")
            if p.stat().st_mtime >= start - 1]
    if runs:
        latest = max(runs, key=lambda p: p.stat().st_mtime)
        if _lock_refused(latest):
            log.error("%s is locked by another run; if none is live, 'twinflow run "
                      "--unlock' removes the lock", root)
        results = project_config(root).results
        for line in failed_steps(latest, results):
            log.error("%s", line)


def _lock_refused(snakemake_log: Path) -> bool:
    """Whether Snakemake stopped because the folder is locked (it then advises its own
    ``--unlock``, which ``twinflow run --unlock`` runs)."""
    try:
        return "Directory cannot be locked" in snakemake_log.read_text(errors="replace")
    except OSError:
        return False
