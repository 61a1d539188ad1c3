"""Benchmark of the coupled LV cycle: time per beat and Newton iterations per step.

Usage (from the repo root; the demo mesh and canonical case are made if missing)::

    .venv/bin/python benchmarks/lv_cycle.py [--work results/benchmarks/lv_cycle] [--ranks 1 2]
        [--time-step 0.005] [--beats 1] [--cell-size 0.012]

Runs (meshes, series) go under --work; the table goes to benchmarks/results/lv_cycle.{json,md}.

Each rank count runs ``python -m twinflow.physics.cardiac_cycle`` under mpirun for the demo
case (cases/lv-demo.yaml) and the baseline scenario; the table (JSON and Markdown) records
cells, dofs, seconds per beat, mean/max Newton iterations per step. For scale (brief of
issue 7): a fenicsx-pulse run of one 0.8 s beat at dt = 2 ms on a 707-tet LV takes 165 s on
one core of this machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_inputs(work: Path, cell_size: float) -> tuple[Path, Path]:
    from twinflow.case.load import write_canonical
    from twinflow.geometry.lv.mesh import mesh_lv
    from twinflow.geometry.lv.reconstruct import reconstruct_lv

    case = work / "case.json"
    mesh = work / "mesh" / "mesh.xdmf"
    if not mesh.is_file():
        write_canonical(ROOT / "cases" / "lv-demo.yaml", case)
        d = json.loads(case.read_text())
        d["mesh"]["cell_size"] = cell_size
        d["geometry"]["source"] = "measurements"
        case.write_text(json.dumps(d))
        reconstruct_lv(case, work / "masks", work / "images", work / "geo")
        mesh_lv(work / "geo", case, work / "mesh")
    return mesh, case


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=ROOT / "results" / "benchmarks" / "lv_cycle")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--time-step", type=float, default=0.005)
    ap.add_argument("--beats", type=int, default=1)
    ap.add_argument("--cell-size", type=float, default=0.012)
    ap.add_argument("--scenario", default="baseline")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    mesh, case = demo_inputs(args.work / "inputs", args.cell_size)
    rows = []
    for n in args.ranks:
        out = args.work / f"np{n}"
        t0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "mpirun"), "-n", str(n),
                        sys.executable, "-m", "twinflow.physics.cardiac_cycle", "--mesh",
                        str(mesh), "--case", str(case), "--scenario", args.scenario, "--out",
                        str(out), "--time-step", str(args.time_step), "--beats",
                        str(args.beats), "--output-every", "0"], check=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        s = json.loads((out / "summary.json").read_text())
        rows.append({"ranks": n, "cells": s["cells"], "dofs": s["dofs"],
                     "time_step_s": s["time_step_s"], "beats": s["beats_run"],
                     "seconds_per_beat": s["seconds"]["per_beat"],
                     "newton_mean_per_step": s["newton_iterations"]["mean_per_step"],
                     "newton_max_per_step": s["newton_iterations"]["max_per_step"],
                     "wall_s": wall, "EF": s["EF"],
                     "peak_systolic_pressure_mmHg": s["peak_systolic_pressure_mmHg"]})
    import os

    meta = {"host_cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
            "note": "2-core machine shared with other jobs: timings are indicative"}
    (args.results / "lv_cycle.json").write_text(json.dumps({"meta": meta, "runs": rows},
                                                           indent=1))
    lines = ["| ranks | cells | dofs | dt (s) | s/beat | Newton it/step (mean, max) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['ranks']} | {r['cells']} | {r['dofs']} | {r['time_step_s']} | "
                     f"{', '.join(f'{x:.0f}' for x in r['seconds_per_beat'])} | "
                     f"{r['newton_mean_per_step']:.2f}, {r['newton_max_per_step']} |")
    (args.results / "lv_cycle.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
