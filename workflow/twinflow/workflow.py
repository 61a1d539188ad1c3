"""``twinflow run``: materialise the Snakemake graph for some cases.

Snakemake is called through its command line in a subprocess (its Python API changes
within 9.x), so twinflow never imports it. The project root is the folder holding the
``Snakefile``: the current folder or one above it, else the source checkout this package
was installed from (editable installs).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from twinflow.errors import TwinflowError

log = logging.getLogger(__name__)


def project_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Snakefile").is_file() and (folder / "rules").is_dir():
            return folder
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "Snakefile").is_file():
        return checkout
    raise TwinflowError("twinflow run: no Snakefile here or above; run it in a twinflow "
                        "project folder")


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


def snakemake_command(cases: list[str], cores: int, dry_run: bool, profile: str | None,
                      extra: list[str]) -> list[str]:
    """The snakemake command line; ``profile`` (a folder) replaces ``profiles/default``, which
    Snakemake reads by itself when no ``--workflow-profile`` is given."""
    exe = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    cmd = [exe, "--cores", str(cores)]
    if profile:
        cmd += ["--workflow-profile", profile]
    cmd += extra  # targets and options; before --config, which takes every value after it
    if dry_run:
        cmd += ["--dry-run"]
    if cases:
        cmd += ["--config", f"cases={json.dumps(cases)}"]
    return cmd


def run_workflow(cases: list[str], cores: int, dry_run: bool = False,
                 profile: str | None = None, keep_going: bool = False,
                 snakemake_args: str = "") -> int:
    """Run Snakemake in the project root for ``cases``; returns its exit status."""
    root = project_root()
    cases = [os.path.relpath(Path(c).resolve(), root) if Path(c).exists() else c
             for c in cases]
    extra = (["--keep-going"] if keep_going else []) + shlex.split(snakemake_args)
    folder = str(profile_dir(profile, root)) if profile else None
    cmd = snakemake_command(cases, cores, dry_run, folder, extra)
    log.info("+ %s", " ".join(cmd))
    return subprocess.call(cmd, cwd=root)
