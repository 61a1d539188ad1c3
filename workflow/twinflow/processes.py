"""Snakemake's run state on disk and the live processes of a project folder.

Read by ``twinflow status`` (is a step running? did a run leave incomplete outputs?) and
``twinflow run`` (is the lock of ``.snakemake/locks`` held by a live run, or stale after a
killed one?). Snakemake keeps no process id with its lock, so a run is judged live by its
processes: a ``snakemake`` process (not a dry run, summary or unlock) whose working folder
is the project (psutil). Simplified: processes of this machine only; a run driven from
another host sharing the folder is not seen.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

#: Snakemake options that neither lock the folder nor run jobs.
_NO_RUN = ("--dry-run", " -n ", "--dryrun", "--summary", "--detailed-summary", "--unlock",
           "--list-", "--lint")
_ERROR = re.compile(r"error|exception|traceback|failed|killed|abort", re.I)


def incomplete_outputs(root: Path) -> set[str]:
    """Outputs Snakemake marked incomplete (``.snakemake/incomplete``: one file per output,
    named by its URL-safe base64 path, split into ``@``-prefixed chunks when long)."""
    folder = root / ".snakemake" / "incomplete"
    found = set()
    if not folder.is_dir():
        return found
    for path in folder.rglob("*"):
        if not path.is_file() or path.name == "migration_underway":
            continue
        parts = [p.removeprefix("@") for p in path.relative_to(folder).parts]
        try:
            found.add(base64.urlsafe_b64decode("".join(parts)).decode())
        except (ValueError, UnicodeDecodeError):
            continue
    return found


def live_commands(root: Path) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose working folder is ``root``."""
    import psutil

    root = root.resolve()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            if proc.info["cwd"] and Path(proc.info["cwd"]).resolve() == root \
                    and proc.info["cmdline"]:
                found.append((proc.info["pid"], " ".join(proc.info["cmdline"])))
        except (psutil.Error, OSError):
            continue
    return found


def live_snakemake(root: Path, ignore: set[int] | None = None) -> list[int]:
    """PIDs of Snakemake runs (not dry runs or summaries) live in ``root``."""
    me = {os.getpid(), *(ignore or set())}
    pids = []
    for pid, cmd in live_commands(root):
        words = cmd.split()
        if pid in me or not any(Path(w).name == "snakemake" or w == "snakemake"
                                for w in words[:3]):
            continue
        if any(q in f" {cmd} " for q in _NO_RUN):
            continue
        pids.append(pid)
    return pids


def locks(root: Path) -> list[Path]:
    """Snakemake's lock files of ``root`` (``.snakemake/locks/*.lock``)."""
    folder = root / ".snakemake" / "locks"
    return sorted(folder.glob("*.lock")) if folder.is_dir() else []


def last_error_line(path: Path) -> str | None:
    """The last line of a log that reads like an error, else its last non-empty line."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines()
                 if ln.strip()]
    except OSError:
        return None
    for line in reversed(lines):
        if _ERROR.search(line):
            return line[:300]
    return lines[-1][:300] if lines else None
