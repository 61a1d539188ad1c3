"""``twinflow run``: materialise the Snakemake graph for some cases.

Snakemake is called through its command line in a subprocess (its Python API changes
within 9.x), so twinflow never imports it. The project root is the folder holding the
``Snakefile``: the current folder or one above it, else the source checkout this package
was installed from (editable installs).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from twinflow.errors import TwinflowError


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


def snakemake_command(cases: list[str], cores: int, dry_run: bool, profile: str | None,
                      extra: list[str]) -> list[str]:
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


def cmd_run(args: argparse.Namespace) -> int:
    root = project_root()
    cases = [os.path.relpath(Path(c).resolve(), root) if Path(c).exists() else c
             for c in args.cases]
    extra = (["--keep-going"] if args.keep_going else []) + shlex.split(args.snakemake_args)
    cmd = snakemake_command(cases, args.cores, args.dry_run, args.profile, extra)
    print("+ " + " ".join(cmd), file=sys.stderr)
    return subprocess.call(cmd, cwd=root)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the workflow for cases (default: the demo cases)")
    p.add_argument("cases", nargs="*", metavar="CASE",
                   help="case files or glob patterns (default: config/config.default.yaml)")
    p.add_argument("--cores", "-c", type=int, default=os.cpu_count() or 1)
    p.add_argument("--dry-run", "-n", action="store_true", help="print the job graph only")
    p.add_argument("--profile", default=None,
                   help="workflow profile folder (default: profiles/default)")
    p.add_argument("--keep-going", "-k", action="store_true",
                   help="go on with independent jobs when one fails")
    p.add_argument("--snakemake-args", default="",
                   help="more snakemake options or target files, one string "
                        "(e.g. 'results/lv-demo/case.json --forceall')")
    p.set_defaults(func=cmd_run)
