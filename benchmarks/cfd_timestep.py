"""Benchmark: Navier-Stokes solver time per time step vs mesh size, on 1 and 2 MPI ranks.

Meshes straight tubes (R = 3 mm, L = 24 mm, second-order geometry) at several cell sizes, runs
``python -m twinflow.physics.navier_stokes`` for a fixed number of steps of the Holdsworth 1999
CCA waveform (blood, dt = 1 ms, Womersley inlet) under ``mpirun -n 1`` and ``-n 2`` and records
the solver's own timing (time loop only, JIT and setup excluded) from summary.json into
``benchmarks/cfd_timestep.json``.

    .venv/bin/python benchmarks/cfd_timestep.py [--sizes 1.0e-3 0.75e-3 0.5e-3] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from twinflow.geometry.tube import mesh_tube  # noqa: E402
from twinflow.io import write_json_atomic  # noqa: E402


def run(mesh: Path, out: Path, ranks: int, steps: int) -> dict:
    settings = {"time_step": 1.0e-3, "period": 0.917, "cycles": 1, "max_steps": steps,
                "render": False, "inflow": {"type": "holdsworth1999"}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "settings.json").write_text(json.dumps(settings))
    cmd = [str(ROOT / ".venv/bin/mpirun"), "-n", str(ranks), sys.executable, "-m",
           "twinflow.physics.navier_stokes", "--mesh", str(mesh), "--settings",
           str(out / "settings.json"), "--out", str(out / "result")]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    summary = json.loads((out / "result" / "summary.json").read_text())
    return {"ranks": ranks, "cells": summary["mesh"]["cells"],
            "velocity_dofs": summary["mesh"]["velocity_dofs"],
            "pressure_dofs": summary["mesh"]["pressure_dofs"], **summary["timing"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0e-3, 0.75e-3, 0.5e-3])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "cfd_timestep.json")
    args = parser.parse_args()
    records = []
    with TemporaryDirectory() as tmp:
        for size in args.sizes:
            mesh = mesh_tube(3.0e-3, 24.0e-3, size, Path(tmp) / f"tube_{size:g}.xdmf")
            for ranks in (1, 2):
                rec = run(mesh, Path(tmp) / f"run_{size:g}_{ranks}", ranks, args.steps)
                rec["cell_size_m"] = size
                records.append(rec)
                print(f"h={size:g} m cells={rec['cells']} ranks={ranks}: "
                      f"{rec['seconds_per_step']:.3f} s/step", flush=True)
    write_json_atomic(args.out, {"machine": platform.processor() or platform.machine(),
                                 "note": "2 shared cores; time loop only (3 solves, assembly, "
                                         "WSS projection, monitors per step)",
                                 "records": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
