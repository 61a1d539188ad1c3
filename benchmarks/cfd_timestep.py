"""Benchmark: Navier-Stokes solver time per time step vs mesh size, on 1 and 2 MPI ranks.

Meshes straight tubes (R = 3 mm, L = 24 mm, second-order geometry) at several cell sizes, runs
``twinflow simulate-flow`` for a fixed number of steps of the Holdsworth 1999
CCA waveform (blood, dt = 1 ms, Womersley inlet) under ``mpirun -n 1`` and ``-n 2`` and records
the solver's own timing (time loop only, JIT and setup excluded) from summary.json into
``benchmarks/cfd_timestep.json``. With ``--carotid DIR`` (a reconstructed geometry folder
with ``model.json``, e.g. ``results/carotid-demo/geometry``) the carotid bifurcation is meshed
instead (:func:`twinflow.geometry.carotid.mesh.mesh_carotid`, local radius / ``--factors``,
one-diameter flow extensions, linear tetrahedra). Each record carries the 1-minute load
average before and after the run (the reference machine is shared).

    .venv/bin/python benchmarks/cfd_timestep.py [--sizes 1.0e-3 0.75e-3 0.5e-3] [--steps 20]
    .venv/bin/python benchmarks/cfd_timestep.py --carotid results/carotid-demo/geometry \
        --factors 2.5 3 4 --steps 10 --out benchmarks/cfd_timestep_carotid.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from twinflow.geometry.tube import tube_mesh  # noqa: E402
from twinflow.io import write_json_atomic  # noqa: E402


def run(mesh: Path, out: Path, ranks: int, steps: int, outlet_tags: tuple[int, ...] = (2,)
        ) -> dict:
    settings = {"time_step": 1.0e-3, "period": 0.917, "cycles": 1, "max_steps": steps,
                "render": False, "inflow": {"type": "holdsworth1999"},
                "outlets": {str(t): {"model": "pressure", "value": 0.0} for t in outlet_tags}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "settings.json").write_text(json.dumps(settings))
    cmd = [str(ROOT / ".venv/bin/mpirun"), "-n", str(ranks), sys.executable, "-m",
           "twinflow", "simulate-flow", "--mesh", str(mesh), "--solver-settings",
           str(out / "settings.json"), "--summary", str(out / "result" / "summary.json")]
    load_before = os.getloadavg()[0]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    summary = json.loads((out / "result" / "summary.json").read_text())
    return {"ranks": ranks, "load_average_1min_before": load_before,
            "load_average_1min_after": os.getloadavg()[0], "cells": summary["mesh"]["cells"],
            "velocity_dofs": summary["mesh"]["velocity_dofs"],
            "pressure_dofs": summary["mesh"]["pressure_dofs"], **summary["timing"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0e-3, 0.75e-3, 0.5e-3])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--carotid", type=Path, default=None,
                        help="geometry folder with model.json: mesh the carotid instead")
    parser.add_argument("--factors", type=float, nargs="+", default=[2.5, 3.0, 4.0],
                        help="carotid: cells per local radius")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "cfd_timestep.json")
    args = parser.parse_args()
    records = []
    with TemporaryDirectory() as tmp:
        if args.carotid is not None:
            from twinflow.artifacts.mesh import CarotidMeshQuality
            from twinflow.geometry.carotid.mesh import mesh_bifurcation

            meshes = []
            for factor in args.factors:
                out = Path(tmp) / f"carotid_{factor:g}"
                mesh = mesh_bifurcation(args.carotid / "model.json", out / "mesh.xdmf",
                                        out / "wall_mesh.xdmf", out / "mesh_quality.json",
                                        flow_extension=1.0, radius_factor=factor)
                quality = CarotidMeshQuality.read(out / "mesh_quality.json")
                meshes.append((mesh, {"radius_factor": factor,
                                      "meshing_time_s": quality.meshing_time_s,
                                      "min_dihedral_angle_deg":
                                          quality.min_dihedral_angle_deg}))
        else:
            meshes = [(tube_mesh(3.0e-3, 24.0e-3, size, Path(tmp) / f"tube_{size:g}.xdmf"),
                       {"cell_size_m": size}) for size in args.sizes]
        for k, (mesh, extra) in enumerate(meshes):
            for ranks in (1, 2):
                rec = run(mesh, Path(tmp) / f"run_{k}_{ranks}", ranks, args.steps,
                          (2, 3) if args.carotid is not None else (2,))
                rec.update(extra)
                records.append(rec)
                print(f"{extra} cells={rec['cells']} ranks={ranks}: "
                      f"{rec['seconds_per_step']:.3f} s/step (load "
                      f"{rec['load_average_1min_before']:.2f})", flush=True)
    write_json_atomic(args.out, {"machine": platform.processor() or platform.machine(),
                                 "geometry": "carotid" if args.carotid else "tube",
                                 "note": "2 shared cores; time loop only (3 solves, assembly, "
                                         "WSS projection, monitors per step)",
                                 "records": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
