"""LV mechanics timings: time per Newton solve and iterations per step, 1 and 2 ranks.

Two workloads:

* ``land``: Land et al. 2015 problem 2 and 3 at ``--refinement`` (load-stepped statics);
* ``beat``: one quasi-static beat (0.8 s, ``--dt`` 2 ms) of the Land ellipsoid, Holzapfel-Ogden
  transversely isotropic passive law (fenicsx-pulse set), LDRB fibres (+60/-60 deg), active
  stress from the HMT 1998 steady-state relation driven by the HMT 1998 calcium transient,
  endocardial pressure held at 1 kPa (no circulation yet: a fixed-pressure "isotonic" beat;
  the 3-element Windkessel coupling will change only the pressure update per step). The
  ``--cell-size`` default 4.5 mm gives about 700 tetrahedra, the size of the fenicsx-pulse run
  quoted in issue 7 (165 s for 400 steps on one core).

Usage: ``python benchmarks/lv_mechanics.py --out DIR`` runs each workload on 1 and 2 ranks
through ``mpirun`` and writes ``DIR/lv_mechanics.json``; ``--worker`` runs one workload in
the current MPI job.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

SIMPLIFICATIONS = [
    "beat: endocardial pressure fixed (no 0D circulation)",
    "active tension: HMT 1998 steady state with lambda = 1 (no length dependence, no kinetics)",
]


def beat(cell_size: float, dt: float, duration: float) -> dict:
    import dolfinx_solver  # noqa: F401, I001  (must precede dolfinx)
    import dolfinx
    import numpy as np
    from mpi4py import MPI

    from twinflow.geometry import tags
    from twinflow.geometry.lv.ellipsoid import LAND2015, create_lv_mesh
    from twinflow.physics.heart.mechanics.active_stress import (
        ActiveStress,
        CalciumTransient,
        HunterMcCullochTerKeurs1998,
    )
    from twinflow.physics.heart.mechanics.boundary_conditions import Fixed, Pressure
    from twinflow.physics.heart.mechanics.compressibility import Incompressible
    from twinflow.physics.heart.mechanics.fibres import ldrb_fibres
    from twinflow.physics.heart.mechanics.materials import HolzapfelOgden
    from twinflow.physics.heart.mechanics.solver import CardiacMechanicsProblem

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    md = create_lv_mesh(comm, LAND2015, cell_size=cell_size, order=1)
    mesh, ft = md.mesh, md.facet_tags
    fib = ldrb_fibres(mesh, ft, 60.0, -60.0)  # Bayer et al. 2012
    material = HolzapfelOgden.transversely_isotropic(fib.f0)  # kPa, fenicsx-pulse set
    Ta = dolfinx.fem.Constant(mesh, 0.0)
    p_endo = dolfinx.fem.Constant(mesh, 0.0)
    mp = CardiacMechanicsProblem(mesh, ft, material, Incompressible(),
                                 active=ActiveStress(fib.f0, Ta),
                                 dirichlet=[Fixed(tags.BASE)],
                                 pressures=[Pressure(tags.ENDO, p_endo)],
                                 prefix="beat_")
    setup = time.perf_counter() - t0
    mp.ramp(p_endo, 1.0, 0.25)  # kPa (~7.5 mmHg end-diastolic pressure, model choice)
    mp.history.clear()
    # t_ref scaled so the peak tension is ~60 kPa as in Land et al. 2015 problem 3
    hmt = HunterMcCullochTerKeurs1998(t_ref=62.5)
    ca = CalciumTransient()
    times = np.arange(dt, duration + 0.5 * dt, dt)
    its, secs, volumes = [], [], []
    t_loop = time.perf_counter()
    for t in times:
        target = hmt.tension(ca(t), 1.0)
        s0 = time.perf_counter()
        n_before = len(mp.history)
        try:
            Ta.value = target
            mp.solve()
        except RuntimeError:
            mp.ramp(Ta, target, initial_increment=abs(target - float(Ta.value)) / 4)
        its.append(sum(r.newton_iterations for r in mp.history[n_before:]))
        secs.append(time.perf_counter() - s0)
        volumes.append(mp.cavity_volume(tags.ENDO, LAND2015.z_base))
    loop = time.perf_counter() - t_loop
    return {
        "workload": "beat", "ranks": comm.size, "cells": mesh.topology.index_map(3).size_global,
        "steps": len(times), "dt": dt, "setup_seconds": round(setup, 3),
        "loop_seconds": round(loop, 3), "mean_seconds_per_step": round(loop / len(times), 4),
        "mean_newton_iterations": float(np.mean(its)), "max_newton_iterations": int(max(its)),
        "cavity_volume_min_max_mm3": [float(min(volumes)), float(max(volumes))],
        "simplifications": SIMPLIFICATIONS,
    }


def land(problem: int, refinement: int) -> dict:
    from twinflow.verification import land2015

    res = land2015.run(problem, refinement)
    res["workload"] = f"land2015_problem{problem}"
    sp = res["seconds_per_solve"]
    res["mean_seconds_per_solve"] = round(sum(sp) / len(sp), 4)
    res["mean_newton_iterations"] = sum(res["newton_iterations"]) / len(sp)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--worker", choices=("beat", "land2", "land3"))
    ap.add_argument("--refinement", type=int, default=1)
    ap.add_argument("--cell-size", type=float, default=4.5)
    ap.add_argument("--dt", type=float, default=0.002)
    ap.add_argument("--duration", type=float, default=0.8)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--workloads", nargs="+", default=["land2", "land3", "beat"])
    args = ap.parse_args(argv)
    if args.worker:
        from mpi4py import MPI

        if args.worker == "beat":
            res = beat(args.cell_size, args.dt, args.duration)
        else:
            res = land(int(args.worker[-1]), args.refinement)
        if MPI.COMM_WORLD.rank == 0:
            print("RESULT " + json.dumps(res))
        return 0
    mpirun = Path(sys.executable).parent / "mpirun"
    results = []
    for wl in args.workloads:
        for n in args.ranks:
            cmd = [str(mpirun), "-n", str(n), sys.executable, __file__, "--worker", wl,
                   "--refinement", str(args.refinement), "--cell-size", str(args.cell_size),
                   "--dt", str(args.dt), "--duration", str(args.duration)]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
            res = json.loads(line[7:])
            res["wall_seconds"] = round(time.perf_counter() - t0, 2)
            results.append(res)
            keys = ("workload", "ranks", "cells", "wall_seconds", "mean_seconds_per_solve",
                    "mean_seconds_per_step", "mean_newton_iterations")
            print({k: res[k] for k in keys if k in res}, flush=True)
    from twinflow.io import write_json_atomic

    write_json_atomic(args.out / "lv_mechanics.json", {"results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
