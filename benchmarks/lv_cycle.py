"""Benchmark of the coupled LV cycle: time per beat, Newton iterations and where time goes.

Usage (from the repo root)::

    .venv/bin/python benchmarks/lv_cycle.py --label demo \\
        --mesh results/lv-demo/baseline/mesh/mesh.xdmf \\
        --settings results/lv-demo/settings/baseline/simulate_heart.json \\
        --drug-effects results/lv-demo/baseline/drug_effects.json --ranks 1 2 --time-step 0.005
    .venv/bin/python benchmarks/lv_cycle.py --label pulse-comparison --cell-size 0.015 \\
        --ranks 1 --time-step 0.002

Without ``--mesh`` the demo case (cases/lv-demo.yaml) is meshed as the truncated ellipsoid of
its measurements at ``--cell-size`` (15 mm: 713 tets, the size of the 707-tet LV of the
issue's fenicsx-pulse figure). Each rank count runs ``twinflow simulate-heart``
under mpirun for one beat of the baseline scenario (start-up excluded from s/beat); the rows
are merged (by label and ranks) into benchmarks/results/lv_cycle.{json,md} with the load
average before and after each run (the reference machine has 2 cores and is shared: timings
under load are indicative). For scale (issue 7): a fenicsx-pulse run of one 0.8 s beat at
dt = 2 ms on a 707-tet LV takes 165 s on one core of this machine; the target is half.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from twinflow.artifacts.cycle import CycleSummary

ROOT = Path(__file__).resolve().parents[1]
MMHG = 133.322387415  # Pa per mmHg


def ellipsoid_inputs(work: Path, cell_size: float, scenario: str) -> tuple[Path, Path, Path]:
    """(mesh, simulate_heart settings, drug effects) of the demo case as the ellipsoid of its
    measurements; the settings are rewritten every time (they follow cases/lv-demo.yaml's
    calibration), the mesh only depends on the measurements and the cell size."""
    from twinflow.case import load_case, to_canonical
    from twinflow.drugs.effects import drug_effects
    from twinflow.geometry.lv.mesh import mesh_lv
    from twinflow.geometry.lv.reconstruct import reconstruct_lv
    from twinflow.stages import settings_path, write_stage_settings

    case = to_canonical(load_case(ROOT / "cases" / "lv-demo.yaml"))
    case["mesh"]["cell_size"] = cell_size
    case["geometry"]["source"] = "measurements"
    write_stage_settings(case, work)
    effects = drug_effects(settings_path(work, "drug_effects", scenario),
                           work / scenario / "drug_effects.json")
    mesh = work / "mesh" / "mesh.xdmf"
    if not mesh.is_file():
        measurements = reconstruct_lv(settings_path(work, "reconstruct_lv"), None, None,
                                      work / "geo" / "measurements.json")
        baseline = drug_effects(settings_path(work, "drug_effects", "baseline"),
                                work / "baseline" / "drug_effects.json")
        mesh_lv(settings_path(work, "mesh_lv", "baseline"), measurements, baseline, mesh,
                work / "mesh" / "mesh.json")
    return mesh, settings_path(work, "simulate_heart", scenario), effects


def _markdown(rows: list[dict]) -> str:
    lines = ["One 0.8 s beat of the baseline (start-up excluded); reference: fenicsx-pulse, "
             "dt 2 ms, 707-tet LV, 165 s on one core (target <= 82 s). The machine has 2 cores "
             "shared with other jobs: see the load averages. Docs: docs/lv-cycle.md.", "",
             "| label | ranks | cells | dofs | dt (s) | s/beat | Newton it/step (mean, max) | "
             "LU factorisations/step | time by part (s: jacobian, factorisation, back-subst., "
             "residual, 0D) | load avg before/after |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p = r.get("seconds_by_part", {})
        parts = ", ".join(f"{p.get(k, 0.0):.1f}" for k in
                          ("jacobian", "factorisation", "back_substitution", "residual",
                           "target_0d"))
        lines.append(
            f"| {r['label']}{' (exact Newton)' if r.get('jacobian_reuse') is False else ''} "
            f"| {r['ranks']} | {r['cells']} | {r['dofs']} | {r['time_step_s']} "
            f"| {', '.join(f'{x:.0f}' for x in r['seconds_per_beat'])} | "
            f"{r['newton_mean_per_step']:.2f}, {r['newton_max_per_step']} | "
            f"{r.get('factorisations_per_step', float('nan')):.2f} | {parts} | "
            f"{r['load_before'][0]:.1f} / {r['load_after'][0]:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="demo")
    ap.add_argument("--mesh", type=Path, help="LV mesh.xdmf (default: ellipsoid of the demo)")
    ap.add_argument("--settings", type=Path,
                    help="simulate_heart settings of the scenario that goes with --mesh")
    ap.add_argument("--work", type=Path, default=ROOT / "results" / "benchmarks" / "lv_cycle")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--time-step", type=float, default=0.005)
    ap.add_argument("--beats", type=int, default=1)
    ap.add_argument("--cell-size", type=float, default=0.015)
    ap.add_argument("--drug-effects", type=Path,
                    help="drug_effects.json of the scenario that goes with --mesh")
    ap.add_argument("--scenario", default="baseline", help="without --mesh")
    ap.add_argument("--exact-newton", action="store_true",
                    help="refactorise every Newton iteration (the solver before the reuse)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    if args.mesh:
        if not args.settings:
            ap.error("--mesh needs --settings")
        if not args.drug_effects:
            ap.error("--mesh needs --drug-effects")
        mesh, settings, effects = args.mesh, args.settings, args.drug_effects
    else:
        mesh, settings, effects = ellipsoid_inputs(args.work / f"inputs-{args.cell_size:g}",
                                                   args.cell_size, args.scenario)
    table = args.results / "lv_cycle.json"
    old = json.loads(table.read_text()) if table.is_file() else {}
    rows = [r for r in old.get("runs", []) if "label" in r]
    for n in args.ranks:
        out = args.work / f"{args.label}-np{n}"
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "mpirun"), "-n", str(n),
                        sys.executable, "-m", "twinflow", "simulate-heart", "--settings",
                        str(settings), "--mesh", str(mesh), "--drug-effects", str(effects),
                        "--summary",
                        str(out / "summary.json"), "--time-step", str(args.time_step),
                        "--beats", str(args.beats), "--output-every", "0"]
                       + (["--exact-newton"] if args.exact_newton else []), check=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        s = CycleSummary.read(out / "summary.json")
        row = {"label": args.label, "ranks": n, "cells": s.cells, "dofs": s.dofs,
               "time_step_s": s.time_step_s, "beats": s.beats_run,
               "jacobian_reuse": s.jacobian_reuse,
               "seconds_per_beat": s.timings.per_beat_s,
               "start_up_s": s.timings.start_up_s,
               "seconds_by_part": s.timings.beats_by_part_s,
               "newton_mean_per_step": s.newton_iterations.mean_per_step,
               "newton_max_per_step": s.newton_iterations.max_per_step,
               "factorisations_per_step": s.newton_iterations.jacobian_factorisations_per_step,
               # the results table keeps its columns (EF, mmHg) across code versions
               "wall_s": wall, "EF": s.ejection_fraction,
               "peak_systolic_pressure_mmHg": s.peak_systolic_pressure_pa / MMHG,
               "load_before": list(load_before), "load_after": list(os.getloadavg()),
               "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
        rows = [r for r in rows if (r["label"], r["ranks"], r.get("jacobian_reuse"))
                != (args.label, n, not args.exact_newton)] + [row]
    meta = {"host_cpus": os.cpu_count(),
            "note": "2-core machine shared with other jobs: see the load averages per row",
            "reference": "fenicsx-pulse, one 0.8 s beat at dt = 2 ms on a 707-tet LV: 165 s "
                         "on one core (issue 7); target <= 82 s"}
    table.write_text(json.dumps({"meta": meta, "runs": rows}, indent=1))
    md = _markdown(rows)
    (args.results / "lv_cycle.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
