"""Wall time of a virtual cohort through ``twinflow run`` on this machine, and per job.

Generates the cohort of a spec (default: the shipped ``cohorts/hypertensive-lvh.yaml``) in a
throw-away project copy, runs it with ``twinflow run --cores N``, and writes
``benchmarks/results/cohort_run.json``: total wall time, the number of member x arm rows
that completed, and per job kind (calibration, mesh, cycle) the wall time and peak memory
taken from the cohort table (``cohort.parquet``, which reads them from the step records).

    .venv/bin/python benchmarks/cohort_run.py --n 20 --seed 1           # the issue's 20 x 3
    .venv/bin/python benchmarks/cohort_run.py --n 4 --out /tmp/c.json   # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="cohorts/hypertensive-lvh.yaml")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--project", type=Path, default=None,
                        help="project folder to use (default: a new copy under /tmp)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        "cohort_run.json")
    args = parser.parse_args()

    import pyarrow.parquet as pq

    from twinflow.workflow import copy_project

    project = args.project or Path(f"/tmp/twinflow-cohort-bench-{int(time.time())}")
    if not project.exists():
        copy_project(ROOT, project, package=False)
    py = [sys.executable, "-m", "twinflow"]
    subprocess.run([*py, "cohort", "generate", args.spec, "--n", str(args.n), "--seed",
                    str(args.seed)], cwd=project, check=True)
    cohort = Path(args.spec).stem
    start = time.time()
    proc = subprocess.run([*py, "run", f"cohorts/{cohort}", "--cores", str(args.cores)],
                          cwd=project)
    wall = time.time() - start
    rows = pq.read_table(project / "results" / cohort / "cohort.parquet").to_pylist()
    ok = [r for r in rows if r["status"] == "ok"]
    jobs = {}
    for kind in ("personalise_lv", "mesh_lv", "simulate_heart"):
        walls = [r[f"wall_{kind}_s"] for r in ok if r.get(f"wall_{kind}_s") is not None]
        mems = [r[f"peak_rss_{kind}_mb"] for r in ok if r.get(f"peak_rss_{kind}_mb") is not None]
        jobs[kind] = {"wall_s_mean": sum(walls) / len(walls) if walls else None,
                      "wall_s_max": max(walls, default=None),
                      "peak_rss_mb_max": max(mems, default=None)}
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": platform.processor() or platform.machine(), "cores": args.cores,
              "spec": args.spec, "n": args.n, "seed": args.seed, "exit_status": proc.returncode,
              "wall_time_s": round(wall, 1), "rows": len(rows), "completed": len(ok),
              "status": {s: sum(r["status"] == s for r in rows)
                         for s in sorted({r["status"] for r in rows})},
              "jobs": jobs, "project": str(project)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
