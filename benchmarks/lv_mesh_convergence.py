"""Mesh convergence of the personalised LV baseline, and its speed-up on 2 MPI ranks.

The LV demo (cases/lv-demo.yaml) is calibrated once, on its own 12 mm mesh (``personalise_lv``:
passive scale, T_ref, R_AR_SYS, C_AR_SYS, V_TOT). With those physical parameters fixed, the
baseline scenario is re-meshed at smaller cell sizes (``twinflow mesh-lv``) and run
(``twinflow simulate-heart --personalisation``: each mesh is unloaded to its own stress-free
reference at the EDP, then beats until periodic, as in the workflow). Recorded per mesh
(results/lv_mesh_convergence.{json,md}, figure docs/img/lv_mesh_convergence.png): cells,
degrees of freedom, EDV, ESV, EF, peak LV pressure, Newton iterations per step, Jacobian
factorisations per step, wall time per beat; each quantity's relative difference to the finest
mesh. On the finest mesh one beat also runs on 1 rank: speed-up = its beat time / the first
beat's time on ``--ranks`` ranks (both beats start from the same state, so they do the same
work).

    .venv/bin/python benchmarks/lv_mesh_convergence.py --demo DEMO_PROJECT \\
        --cell-sizes 12 9.5 7.5

``--demo`` names a project where ``twinflow run cases/lv-demo.yaml`` has finished (its
personalisation, geometry and settings are read); without it the demo runs first in a
throw-away copy of this checkout (~10 min on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from twinflow.workflow import copy_project

ROOT = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
MPIRUN = PY.parent / "mpirun"
MMHG, ML = 133.322387415, 1e-6
CASE = "lv-demo"
QUANTITIES = ("edv_ml", "esv_ml", "ejection_fraction", "peak_lv_pressure_mmhg")


def run(cmd: list[str], cwd: Path, log: Path) -> float:
    """Run ``cmd`` in ``cwd`` with this checkout's package (output to ``log``); its wall time
    in seconds. A failure ends the script."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    tic = time.perf_counter()
    with log.open("w") as out:
        r = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}); see {log}")
    return time.perf_counter() - tic


def demo_project(folder: Path) -> Path:
    """A throw-away copy of this checkout where the LV demo has run."""
    project = copy_project(ROOT, folder / "demo")
    run([str(PY), "-m", "twinflow", "run", f"cases/{CASE}.yaml", "--cores", "2"], project,
        folder / "demo.log")
    return project


def simulate(demo: Path, mesh: Path, out: Path, ranks: int, beats: int | None) -> dict:
    """``simulate-heart`` of the demo's baseline on ``mesh`` from the demo's personalisation."""
    res = demo / "results" / CASE
    cmd = [str(PY), "-m", "twinflow", "simulate-heart",
           "--settings", str(res / "settings" / "baseline" / "simulate_heart.json"),
           "--mesh", str(mesh), "--drug-effects", str(res / "baseline" / "drug_effects.json"),
           "--personalisation", str(res / "personalisation" / "personalisation.json"),
           "--summary", str(out / "summary.json"), "--output-every", "0"]
    if beats:
        cmd += ["--beats", str(beats)]
    if ranks > 1:
        cmd = [str(MPIRUN), "-n", str(ranks), *cmd]
    done = out / "wall_s.json"  # a finished run in a kept work folder is not repeated
    if not done.is_file():
        out.mkdir(parents=True, exist_ok=True)
        done.write_text(json.dumps(run(cmd, demo, out / "simulate_heart.log")))
    return {"wall_s": json.loads(done.read_text()),
            "summary": json.loads((out / "summary.json").read_text())}


def make_mesh(demo: Path, work: Path, cell_mm: float) -> Path:
    """The demo's baseline LV meshed at ``cell_mm`` (kept in ``work``: made once)."""
    res = demo / "results" / CASE
    folder = work / f"h{cell_mm:g}"
    mesh = folder / "mesh" / "mesh.xdmf"
    if mesh.is_file():
        return mesh
    settings = json.loads((res / "settings" / "baseline" / "mesh_lv.json").read_text())
    settings["mesh"]["cell_size"] = cell_mm * 1e-3
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mesh_lv.json").write_text(json.dumps(settings))
    run([str(PY), "-m", "twinflow", "mesh-lv", "--settings", str(folder / "mesh_lv.json"),
         "--measurements", str(res / "geometry" / "measurements.json"),
         "--drug-effects", str(res / "baseline" / "drug_effects.json"),
         "--mesh", str(mesh), "--info", str(folder / "mesh" / "mesh.json")], demo,
        folder / "mesh_lv.log")
    return mesh


def mesh_row(demo: Path, work: Path, cell_mm: float, ranks: int) -> dict:
    folder = work / f"h{cell_mm:g}"
    make_mesh(demo, work, cell_mm)
    sim = simulate(demo, folder / "mesh" / "mesh.xdmf", folder / "run", ranks, None)
    s = sim["summary"]
    beat = s["beats"][-1]
    return {
        "cell_size_mm": cell_mm, "cells": s["cells"], "dofs": s["dofs"], "ranks": s["ranks"],
        "beats_run": s["beats_run"], "periodic": s["periodic"],
        "periodicity_error": s["periodicity_error"],
        "edv_ml": s["edv_m3"] / ML, "esv_ml": s["esv_m3"] / ML,
        "ejection_fraction": s["ejection_fraction"],
        "peak_lv_pressure_mmhg": beat["peak_systolic_pressure_pa"] / MMHG,
        "newton_per_step": s["newton_iterations"]["mean_per_step"],
        "newton_max_per_step": s["newton_iterations"]["max_per_step"],
        "factorisations_per_step": s["newton_iterations"]["jacobian_factorisations_per_step"],
        "first_beat_s": s["timings"]["per_beat_s"][0],
        "beat_s": s["timings"]["per_beat_s"][-1], "run_wall_s": sim["wall_s"],
        "unloaded_volume_ml": s["unloaded_cavity_volume_m3"] / ML,
        "unloading_volume_error": (s.get("personalisation") or {}).get(
            "unloading_volume_error"),
    }


def add_differences(rows: list[dict]) -> None:
    """Each quantity's relative difference to the finest mesh (the last row)."""
    finest = rows[-1]
    for row in rows:
        row["relative_to_finest"] = {q: (row[q] - finest[q]) / finest[q] for q in QUANTITIES}


def markdown(rows: list[dict], speed: dict | None, meta: dict, speed_meta: dict | None
             ) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['cpu']} cores (load {meta['load_average']}), "
        f"{meta['ranks']} MPI ranks; parameters from the demo's calibration on its "
        f"{meta['calibrated_cells']}-cell mesh.\n",
        "| cell size | cells | dofs | beats | EDV (mL) | ESV (mL) | EF | peak p (mmHg) | "
        "ΔEF vs finest | Δp vs finest | Newton its/step (max) | factorisations/step | "
        "s/beat (load varies) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = r["relative_to_finest"]
        lines.append(
            f"| {r['cell_size_mm']:g} mm | {r['cells']} | {r['dofs']} | {r['beats_run']} | "
            f"{r['edv_ml']:.1f} | {r['esv_ml']:.1f} | {100 * r['ejection_fraction']:.2f} % | "
            f"{r['peak_lv_pressure_mmhg']:.2f} | {100 * d['ejection_fraction']:+.2f} % | "
            f"{100 * d['peak_lv_pressure_mmhg']:+.2f} % | {r['newton_per_step']:.1f} "
            f"({r['newton_max_per_step']}) | {r['factorisations_per_step']:.2f} | "
            f"{r['beat_s']:.0f} |")
    if speed:
        lines.append(
            f"\nSpeed-up on the {speed['cells']}-cell mesh, one beat from the same state "
            f"(measured {speed_meta['date']}, load {speed_meta['load_average']}): "
            f"{speed['one_rank_beat_s']:.0f} s on 1 rank, {speed['many_rank_beat_s']:.0f} s "
            f"on {speed['ranks']} ranks: {speed['speed_up']:.2f}x; Newton iterations per "
            f"step {speed['newton_per_step']}.")
    return "\n".join(lines) + "\n"


def figure(rows: list[dict], path: Path) -> None:
    """EF and peak LV pressure against the cell count, on axes spanning ±3 % of the finest
    mesh's value, with the ±2 % band of the acceptance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [r["cells"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), constrained_layout=True)
    for ax, key, scale, label in ((axes[0], "ejection_fraction", 100, "ejection fraction (%)"),
                                  (axes[1], "peak_lv_pressure_mmhg", 1,
                                   "peak LV pressure (mmHg)")):
        values = [scale * r[key] for r in rows]
        ref = values[-1]
        ax.axhspan(0.98 * ref, 1.02 * ref, color="tab:green", alpha=0.15,
                   label="±2 % of the finest")
        ax.plot(cells, values, "o-")
        ax.set_ylim(0.97 * ref, 1.03 * ref)
        ax.set_ylabel(label)
        ax.set_xscale("log")
        ax.set_xlabel("cells (P2-P1 tetrahedra)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("LV demo baseline, calibrated parameters fixed: mesh convergence")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, help="project where the LV demo has run")
    ap.add_argument("--cell-sizes", type=float, nargs="+", default=[12.0, 9.5, 7.5],
                    help="cell sizes in mm, coarsest first")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--convergence", action=argparse.BooleanOptionalAction, default=True,
                    help="run every cell size until periodic")
    ap.add_argument("--speed-up", action=argparse.BooleanOptionalAction, default=True,
                    help="one beat on the finest mesh on 1 and on --ranks ranks")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--figure", type=Path,
                    default=ROOT / "docs" / "img" / "lv_mesh_convergence.png")
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="lv-convergence-"))
    work.mkdir(parents=True, exist_ok=True)
    demo = args.demo.resolve() if args.demo else demo_project(work)
    rows = []
    for h in sorted(args.cell_sizes, reverse=True) if args.convergence else []:
        rows.append(mesh_row(demo, work, h, args.ranks))
        print(json.dumps(rows[-1]), flush=True)
    if rows:
        add_differences(rows)
    speed = None
    if args.speed_up:
        h = min(args.cell_sizes)
        mesh = make_mesh(demo, work, h)
        beats = {n: simulate(demo, mesh, work / f"h{h:g}" / f"speed-{n}", n, 1)["summary"]
                 for n in (1, args.ranks)}
        speed = {"cell_size_mm": h, "cells": beats[1]["cells"], "ranks": args.ranks,
                 "one_rank_beat_s": beats[1]["timings"]["per_beat_s"][0],
                 "many_rank_beat_s": beats[args.ranks]["timings"]["per_beat_s"][0],
                 "newton_per_step": {str(n): b["newton_iterations"]["mean_per_step"]
                                     for n, b in beats.items()}}
        speed["speed_up"] = speed["one_rank_beat_s"] / speed["many_rank_beat_s"]
        print(json.dumps(speed), flush=True)
    pers = json.loads((demo / "results" / CASE / "personalisation" /
                       "personalisation.json").read_text())
    meta = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cpu": psutil.cpu_count(), "load_average": [round(x, 1) for x in os.getloadavg()],
            "ranks": args.ranks, "calibrated_cells": pers["cells"],
            "command": " ".join(sys.argv)}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "lv_mesh_convergence.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    result = {"meta": {**old.get("meta", {}), **meta} if rows else old.get("meta", meta),
              "meshes": rows or old.get("meshes", []),
              "speed_up": speed or old.get("speed_up"),
              "speed_up_meta": meta if speed else old.get("speed_up_meta")}
    path.write_text(json.dumps(result, indent=1))  # a part not run this time is kept
    (args.out / "lv_mesh_convergence.md").write_text(
        markdown(result["meshes"], result["speed_up"], result["meta"],
                 result["speed_up_meta"]))
    if rows:
        figure(rows, args.figure)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
