"""Planning speed of a cohort: ``twinflow run --dry-run`` over generated cases, and the no-op
run of a finished cohort (every output present and up to date).

A throw-away project (the workflow files of this checkout, imported from its ``workflow/``)
receives ``--cases`` case files in ``cases/cohort/``: alternately copies of the carotid and
LV demo cases, each with its own id (file name) and its own patient (age, weight and, as a
cohort of synthetic patients would have, a different inflow / heart rate), so every case
has its own settings slices and no two jobs share an output. The benchmark times

* ``dry-run``: ``twinflow run --dry-run`` of the whole cohort (first plan: writes the
  settings slices; then ``--repeats`` timed runs that find them up to date);
* ``noop``: ``twinflow run`` of the finished cohort. The outputs are made by Snakemake's
  ``--touch`` (it creates every missing output as an empty file and records the jobs'
  metadata, as a real run does), so the timing is that of planning a cohort with nothing to
  do, not of the solvers.

Each phase is also profiled once (``--profile``): cProfile of the Snakemake process itself
(``python -m cProfile -m snakemake ...``), whose cumulative times split into our parse-time
code (twinflow.*: load_case, to_canonical, write_stage_settings, code_files), Snakemake's
parsing (rule files), its DAG building and its output (printing the jobs).

    .venv/bin/python benchmarks/dry_run.py --cases 200 --repeats 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twinflow.workflow import copy_project

ROOT = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)


def make_project(folder: Path, n_cases: int, source: Path = ROOT) -> Path:
    """A copy of the project at ``source`` holding ``n_cases`` generated cases in
    ``cases/cohort/``."""
    project = copy_project(source, folder / "project")
    cohort = project / "cases" / "cohort"
    cohort.mkdir()
    carotid = (ROOT / "cases" / "carotid-demo.yaml").read_text()
    lv = (ROOT / "cases" / "lv-demo.yaml").read_text()
    for i in range(n_cases):
        text = carotid if i % 2 == 0 else lv
        text = text.replace("path: data/", "path: ../data/")
        text = re.sub(r"age: \d+ year", f"age: {40 + i % 45} year", text)
        text = re.sub(r"weight: \d+ kg", f"weight: {55 + i % 40} kg", text)
        if i % 2 == 0:
            text = text.replace("mean_flow: 6 mL/s", f"mean_flow: {5 + (i % 7) * 0.25} mL/s")
        else:
            text = text.replace("heart_rate: 75 bpm", f"heart_rate: {60 + i % 30} bpm")
        (cohort / f"patient-{i:04d}.yaml").write_text(text)
    return project


CPU: list[float] = []  # CPU seconds (user + sys) of each twinflow() call's processes


def twinflow(project: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``twinflow run`` over the cohort; (wall seconds, process). The CPU seconds of
    the run (its processes, user + sys: less sensitive to other jobs on a busy machine than
    the wall time) are appended to :data:`CPU`."""
    env = {**os.environ, "PYTHONPATH": str(project / "workflow")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([str(PY), "-m", "twinflow", "run", "cases/cohort/*.yaml",
                           "--cores", "2", *args], cwd=project, env=env, text=True,
                          capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"twinflow run {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return elapsed, proc


def finish_by_touch(project: Path) -> float:
    """Make the cohort look finished without running it: every output of the plan
    (``snakemake --summary``) created empty, then ``snakemake --touch`` marks the jobs done
    in graph order (mtimes ordered; Snakemake records their metadata). Returns seconds."""
    start = time.perf_counter()
    _, proc = twinflow(project, "--snakemake-args=--summary")
    outputs = [line.split("\t")[0] for line in proc.stdout.splitlines()[1:] if "\t" in line]
    for name in outputs:
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    twinflow(project, "--snakemake-args=--touch")
    return time.perf_counter() - start


def jobs_planned(output: str) -> int:
    match = re.search(r"^total\s+(\d+)$", output, re.M)
    return int(match.group(1)) if match else 0


def profile(project: Path, args: list[str], out: Path) -> dict[str, float]:
    """cProfile of the snakemake process for ``twinflow run ARGS``; cumulative seconds of
    the functions that split the time."""
    env = {**os.environ, "PYTHONPATH": str(project / "workflow")}
    cmd = [str(PY), "-m", "cProfile", "-o", str(out), "-m", "snakemake", "--cores", "2",
           *args, "--config", 'cases=["cases/cohort/*.yaml"]']
    start = time.perf_counter()
    subprocess.run(cmd, cwd=project, env=env, check=True, capture_output=True)
    total = time.perf_counter() - start
    stats = pstats.Stats(str(out))
    cum: dict[str, float] = {}
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        cum[f"{Path(file).name}:{name}"] = max(cum.get(f"{Path(file).name}:{name}", 0.0), ct)
    wanted = {
        "snakemake import (cli module)": "cli.py:<module>",
        "Snakefile load, all ours (cases, settings slices, code, rule definitions)":
            "Snakefile:<module>",
        "  load_case (validation)": "load.py:load_case",
        "  canonical_case (cached validation)": "cache.py:canonical_case",
        "  write_stage_settings": "stages.py:write_stage_settings",
        "  code_files": "stages.py:code_files",
        "  write_code_manifest": "stages.py:write_code_manifest",
        "snakemake DAG (build_dag)": "workflow.py:_build_dag",
        "snakemake job scheduling (schedule)": "job_scheduler.py:schedule",
        "snakemake print jobs (dry run)": "dryrun.py:printjob",
        "python imports (all)": "<frozen importlib._bootstrap>:_find_and_load",
    }
    result = {"total_wall_s": round(total, 3)}
    for label, key in wanted.items():
        matches = [v for k, v in cum.items() if k == key]
        if matches:
            result[label] = round(max(matches), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="", help="a name for this measurement")
    parser.add_argument("--out", type=Path, default=None,
                        help="append the result to this JSON file (a list)")
    parser.add_argument("--profile", action="store_true", help="also cProfile each phase")
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the checkout whose workflow is measured (default: this one; "
                             "e.g. a worktree of an older commit for a before/after)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="twinflow-dry-run-") as tmp:
        project = make_project(Path(tmp), args.cases, args.source)
        first, proc = twinflow(project, "--dry-run")
        jobs = jobs_planned(proc.stdout + proc.stderr)
        dry, dry_cpu = [], []
        for _ in range(args.repeats):
            dry.append(twinflow(project, "--dry-run")[0])
            dry_cpu.append(CPU[-1])
        touch_s = finish_by_touch(project)
        _, proc = twinflow(project, "--dry-run")  # never start real jobs by mistake
        if "Nothing to be done" not in proc.stdout + proc.stderr:
            raise SystemExit(f"the touched cohort is not finished:\n{proc.stdout[-3000:]}")
        noop, noop_cpu = [], []
        for _ in range(args.repeats):
            elapsed, proc = twinflow(project)
            assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stderr[-2000:]
            noop.append(elapsed)
            noop_cpu.append(CPU[-1])
        prof = {}
        if args.profile:
            prof["noop"] = profile(project, [], Path(tmp) / "noop.prof")
            # forget one case's outputs' metadata? no: a dry run of the finished cohort
            # plans nothing; profile the full plan in a fresh copy instead
            shutil.rmtree(project / "results")
            shutil.rmtree(project / ".snakemake")
            twinflow(project, "--dry-run")  # settings slices written, as in the timed runs
            prof["dry-run"] = profile(project, ["--dry-run"], Path(tmp) / "dry.prof")

    result = {
        "label": args.label,
        "source_commit": subprocess.run(["git", "-C", str(args.source), "rev-parse", "--short",
                                         "HEAD"], capture_output=True, text=True).stdout.strip(),
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "cases": args.cases, "jobs_planned": jobs,
        "dry_run_first_s": round(first, 3),
        "dry_run_s": [round(t, 3) for t in dry], "dry_run_best_s": round(min(dry), 3),
        "dry_run_cpu_s": [round(t, 3) for t in dry_cpu],
        "touch_s": round(touch_s, 3),
        "noop_s": [round(t, 3) for t in noop], "noop_best_s": round(min(noop), 3),
        "noop_cpu_s": [round(t, 3) for t in noop_cpu],
        "profile": prof,
        "load_avg_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "snakemake": subprocess.run([str(PY.parent / "snakemake"), "--version"],
                                    capture_output=True, text=True).stdout.strip(),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        runs = json.loads(args.out.read_text()) if args.out.exists() else []
        args.out.write_text(json.dumps([*runs, result], indent=1) + "\n")


if __name__ == "__main__":
    main()
