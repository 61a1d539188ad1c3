"""``twinflow status``: where every step of some cases stands, and why.

One ``snakemake --detailed-summary`` (a subprocess, like ``twinflow run``: twinflow never
imports Snakemake) lists every job of the selected cases' graph with, per output file, the
rule, the recorded log and inputs, Snakemake's status (``ok``, ``missing``, ``updated input
files``, ``params changed``, ...) and its plan (``update pending`` or not). Loading the
workflow writes the settings slices as every run does (twinflow.stages), so the summary
reflects the case files as they are now. Each step (rule + case + scenario) then reads:

* **done**: every output present, nothing pending;
* **outdated**: Snakemake would re-run it, with the reason: the input files newer than its
  outputs, named by what they are (the case file; a settings slice
  ``settings/<stage>.json`` and, when the last validated ``case.json`` still holds the old
  values, the keys that changed; a package module), or an upstream step that re-runs, or a
  changed rule, parameter or input set;
* **running**: an output marked incomplete by Snakemake (``.snakemake/incomplete``) while a
  live process runs the step's command (a process whose command line names one of its
  outputs, in this project folder);
* **failed**: outputs missing or incomplete, no live process, and the step's log exists:
  the log path and its last error line (an interrupted step, e.g. killed, reads
  ``interrupted``);
* **missing**: never run (outputs missing, no log).

Simplified: "running" is judged from the processes of this machine (psutil), so a job that a
cluster executor runs elsewhere reads "missing"/"outdated" until its outputs come back; the
changed keys of a settings file are named only while ``case.json`` still holds the values of
the last run (after ``canonical`` re-ran, the file alone is named).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from twinflow.errors import TwinflowError
from twinflow.io import flatten
from twinflow.processes import incomplete_outputs, last_error_line, live_commands
from twinflow.workflow import project_config, project_root, snakemake_exe

log = logging.getLogger(__name__)

STATES = ("done", "outdated", "running", "failed", "missing")


@dataclass(slots=True)
class Step:
    """One job of the graph: a rule for one case (and scenario)."""

    case: str
    rule: str
    scenario: str | None
    outputs: list[str]
    state: str = "missing"
    reasons: list[str] = field(default_factory=list)
    log: str | None = None
    error: str | None = None

    @property
    def detail(self) -> str:
        parts = list(self.reasons)
        if self.log and self.state in ("failed", "running"):
            parts.append(f"log {self.log}")
        if self.error:
            parts.append(self.error)
        return "; ".join(parts)


@dataclass(slots=True)
class _Row:
    """One line of ``snakemake --detailed-summary`` (one output file of a job)."""

    output: str
    rule: str
    log: str | None
    inputs: list[str]
    status: str
    pending: bool


# --------------------------------------------------------------------------- snakemake


def _summary(root: Path, cases: list[str]) -> list[_Row]:
    cmd = [snakemake_exe(), "--cores", "1", "--detailed-summary", "--nolock"]
    if cases:
        cmd += ["--config", f"cases={json.dumps(cases)}"]
    log.debug("+ %s", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        raise TwinflowError(f"twinflow status: snakemake failed: {lines[-1] if lines else '?'}")
    rows = []
    header = "output_file\tdate\trule\tlog-file(s)\tinput-file(s)\tshellcmd\tstatus\tplan"
    lines = proc.stdout.splitlines()
    start = lines.index(header) + 1 if header in lines else len(lines)
    for line in lines[start:]:
        cols = line.split("\t")
        if len(cols) != 8:
            continue
        output, _date, rule, logs, inputs, _cmd, status, plan = cols
        rows.append(_Row(output, rule, None if logs == "-" else logs.split(",")[0],
                         [] if inputs == "-" else inputs.split(","), status,
                         plan == "update pending"))
    return rows


# --------------------------------------------------------------------------- files, processes


def _record(folder: Path, name: str) -> Path:
    """Snakemake's record file of ``name`` in ``folder`` (URL-safe base64 of the path, cut
    into chunks of NAME_MAX - 1 characters, all but the last prefixed by ``@``)."""
    b64 = base64.urlsafe_b64encode(name.encode()).decode()
    size = 254
    chunks = [b64[i:i + size] for i in range(0, len(b64), size)]
    return folder.joinpath(*["@" + c for c in chunks[:-1]], chunks[-1])


def input_checksums(root: Path, output: str) -> dict[str, str]:
    """The input checksums Snakemake recorded with ``output`` (``sha256:<hex>`` by input
    path; small files only), from ``.snakemake/metadata``."""
    try:
        meta = json.loads(_record(root / ".snakemake" / "metadata", output).read_text())
    except (OSError, ValueError):
        return {}
    checksums = meta.get("input_checksums") or {}
    return checksums if isinstance(checksums, dict) else {}


def _same_content(path: Path, recorded: str | None) -> bool:
    if not recorded or not recorded.startswith("sha256:"):
        return False
    import hashlib

    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == recorded.removeprefix("sha256:")
    except OSError:
        return False


def changed_keys(settings_file: Path, case_json: Path, stage: str,
                 scenario: str | None) -> list[str]:
    """Keys of a settings slice that differ from the slice of the last validated case.json
    (``key: old -> new``); empty when case.json is missing or already holds the new values."""
    from twinflow.stages import stage_settings

    try:
        new = json.loads(settings_file.read_text())
        old = stage_settings(json.loads(case_json.read_text()), stage, scenario)
    except (OSError, ValueError, KeyError):
        return []
    a, b = flatten(old), flatten(new)
    return [f"{k}: {a.get(k, '-')} -> {b.get(k, '-')}" for k in sorted(a.keys() | b.keys())
            if a.get(k) != b.get(k)]


# --------------------------------------------------------------------------- steps


def _where(output: str, cases: set[str], rule: str,
           per_scenario: bool) -> tuple[str, str | None] | None:
    """(case, scenario) of an output ``<results>/<case>/[<scenario>/]...`` or of a step
    record ``<results>/<case>/provenance/steps/<rule>[-<scenario>].json``."""
    parts = Path(output).parts
    for i, part in enumerate(parts[:-1]):
        if part in cases:
            if not per_scenario or i + 2 >= len(parts):
                return part, None
            if parts[i + 1:-1] == ("provenance", "steps"):
                return part, Path(output).stem.removeprefix(f"{rule}-")
            return part, parts[i + 1]
    return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _newer_modules(manifest: Path, step: Step, root: Path) -> list[str]:
    """Modules of a stage's code manifest (twinflow.stages.write_code_manifest) modified
    after the step's outputs: the edits that changed it."""
    from twinflow.stages import PACKAGE_DIR

    oldest = min(filter(None, (_mtime(root / o) for o in step.outputs)), default=None)
    try:
        names = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return []
    return [name for name in sorted(names)
            if oldest is not None and (_mtime(PACKAGE_DIR.parent / name) or 0) > oldest]


def _describe_input(path: str, step: Step, root: Path, results: Path) -> str:
    """What a changed input is: a settings slice (with its changed keys), the case file,
    a package module, or another file."""
    p = Path(path)
    if "settings" in p.parts and p.suffix == ".json":
        stage = p.stem
        rel = Path(*p.parts[p.parts.index("settings"):])
        keys = changed_keys(root / p, root / results / step.case / "case.json", stage,
                            step.scenario)
        return f"settings changed: {rel}" + (f" ({', '.join(keys)})" if keys else "")
    if p.parent.name == "code" and p.parent.parent.name == ".twinflow":
        modules = _newer_modules(root / p, step, root)
        shown = ", ".join(modules[:4]) + (f" and {len(modules) - 4} more"
                                          if len(modules) > 4 else "")
        return "code changed: " + (shown or f"{p.stem} (manifest {path})")
    if "twinflow" in p.parts and p.suffix == ".py":
        return f"code changed: {Path(*p.parts[p.parts.index('twinflow'):])}"
    if p.suffix in (".yaml", ".yml") and step.rule == "canonical":
        return f"case file changed: {path}"
    return f"input changed: {path}"


def collect(root: Path, cases: dict[str, Path], patterns: list[str],
            results: Path) -> list[Step]:
    """Every step of ``cases`` (id -> file) with its state (module docstring)."""
    from twinflow.stages import STAGES

    rows = _summary(root, patterns)
    steps: dict[tuple[str, str, str | None], Step] = {}
    by_output: dict[str, Step] = {}
    job_rows: dict[tuple[str, str, str | None], list[_Row]] = {}
    for row in rows:
        per_scenario = row.rule in STAGES and STAGES[row.rule].per_scenario
        where = _where(row.output, set(cases), row.rule, per_scenario)
        if where is None:
            continue
        key = (where[0], row.rule, where[1])
        step = steps.setdefault(key, Step(where[0], row.rule, where[1], []))
        step.outputs.append(row.output)
        by_output[row.output] = step
        job_rows.setdefault(key, []).append(row)

    incomplete = incomplete_outputs(root)
    commands = [cmd for _pid, cmd in live_commands(root)]
    for key, step in steps.items():
        rws = job_rows[key]
        step.log = next((r.log for r in rws if r.log), None) or _log_path(results, step)
        exist = [(root / o).exists() for o in step.outputs]
        marked = [o for o in step.outputs if o in incomplete]
        live = any(re.search(rf"(^|[\s'\"=]){re.escape(o)}($|[\s'\"])", cmd)
                   for o in step.outputs for cmd in commands)
        log_file = root / step.log
        if live and (marked or not all(exist)):
            step.state = "running"
        elif marked or not all(exist):
            if log_file.is_file():
                step.state = "failed"
                if marked:
                    step.reasons.append("interrupted (output incomplete)")
                step.error = last_error_line(log_file)
            else:
                step.state = "missing"
        elif any(r.pending for r in rws):
            step.state = "outdated"
        else:
            step.state = "done"
    changed = True  # a done step below a step that will run is outdated (its input goes)
    while changed:
        changed = False
        for key, step in steps.items():
            if step.state == "done" and any(
                    (up := by_output.get(i)) is not None and up.state != "done"
                    for r in job_rows[key] for i in r.inputs):
                step.state, changed = "outdated", True
    for key, step in steps.items():
        if step.state == "outdated":
            step.reasons = _outdated_reasons(step, job_rows[key], root, results, by_output)
    order = {name: i for i, name in enumerate(["canonical", *STAGES])}
    return sorted(steps.values(), key=lambda s: (s.case, order.get(s.rule, 99),
                                                 s.scenario or ""))


def _log_path(results: Path, step: Step) -> str:
    """The rules' log convention: ``<results>/<case>/logs/<rule>[-<scenario>].log``."""
    name = step.rule + (f"-{step.scenario}" if step.scenario else "")
    return str(results / step.case / "logs" / f"{name}.log")


def _outdated_reasons(step: Step, rows: list[_Row], root: Path, results: Path,
                      by_output: dict[str, Step]) -> list[str]:
    reasons: list[str] = []
    statuses = {r.status for r in rows}
    if "updated input files" in statuses:
        oldest = min(filter(None, (_mtime(root / o) for o in step.outputs)), default=None)
        inputs = sorted({i for r in rows for i in r.inputs})
        checksums = input_checksums(root, step.outputs[0])
        for path in inputs:
            mtime = _mtime(root / path)
            if oldest is None or mtime is None or mtime <= oldest or path in by_output:
                continue
            if _same_content(root / path, checksums.get(path)):
                continue  # touched, not changed: Snakemake does not re-run for it either
            reasons.append(_describe_input(path, step, root, results))
    for status, text in (("rule implementation changed", "rule changed"),
                         ("set of input files changed", "set of input files changed"),
                         ("params changed", "params changed")):
        if status in statuses:
            reasons.append(text)
    upstream = sorted({s.rule + (f" ({s.scenario})" if s.scenario else "")
                       for r in rows for i in r.inputs
                       if (s := by_output.get(i)) is not None and s is not step
                       and s.state != "done"})
    if not reasons and upstream:
        reasons.append("upstream re-runs: " + ", ".join(upstream))
    return reasons or ["update pending"]


# --------------------------------------------------------------------------- command


def status(patterns: list[str], as_json: bool = False) -> int:
    """Print the state of every step of the cases matching ``patterns`` (case files or glob
    patterns; none: the config's cases); returns the exit status (0)."""
    from twinflow.case.load import load_case
    from twinflow.config import expand_cases

    root = project_root()
    patterns = [os.path.relpath(Path(c).resolve(), root) if Path(c).exists() else c
                for c in patterns]
    config = project_config(root)
    cases = expand_cases(patterns or config.cases, root)
    for path in cases.values():
        # a case that does not validate: its one-line errors (FILE:LINE:COL), exit 2
        load_case(path if Path.cwd().resolve() == root else root / path)
    steps = collect(root, cases, patterns, Path(config.results))
    if as_json:
        print(json.dumps([asdict(s) | {"detail": s.detail} for s in steps], indent=1))
        return 0
    print(format_table(steps))
    return 0


def format_table(steps: list[Step]) -> str:
    """A compact table (tabulate) with a count per state."""
    from tabulate import tabulate

    rows = [(s.case, s.rule, s.scenario or "", s.state, s.detail) for s in steps]
    counts = {state: sum(s.state == state for s in steps) for state in STATES}
    table = tabulate(rows, headers=("case", "step", "scenario", "state", "detail"),
                     tablefmt="simple", maxcolwidths=[None, None, None, None, 100])
    return table + "\n" + ", ".join(f"{n} {state}" for state, n in counts.items() if n)
