"""Cardiac cycle of the 3D LV coupled to the closed-loop 0D circulation (issue 7, parts 4-5).

``python -m twinflow.physics.heart --mesh M --case C --scenario S --out DIR`` (under
``mpirun`` for several ranks) runs the case's study
(:func:`twinflow.physics.heart.cycle.run_cycle`). Outputs in DIR: ``series.csv``,
``summary.json``, ``pv_loop.png``, ``fields.xdmf``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from twinflow.errors import TwinflowError
from twinflow.logs import setup_logging

log = logging.getLogger("twinflow.physics.heart")  # __name__ is "__main__" under -m

#: Solver switches for benchmarks (defaults: lagged Jacobian and border, no extrapolation).
SOLVER_FLAGS = {
    "--exact-newton": "refactorise the Jacobian every Newton iteration (benchmarks)",
    "--extrapolate": "start Newton from the extrapolated last two steps (benchmarks)",
    "--no-lag-border": "recompute K^-1 g every lagged iteration (benchmarks)",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m twinflow.physics.heart",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--mesh", type=Path, required=True)
    ap.add_argument("--case", type=Path, required=True)
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--time-step", type=float, help="override simulation.time_step (s)")
    ap.add_argument("--beats", type=int, help="override simulation.cycles (max beats)")
    ap.add_argument("--max-steps", type=int, help="stop after this many steps (tests)")
    ap.add_argument("--output-every", type=int, default=10,
                    help="write fields every N steps (0: never)")
    for flag, text in SOLVER_FLAGS.items():
        ap.add_argument(flag, action="store_true", help=text)
    args = ap.parse_args(argv)
    setup_logging()
    from twinflow.physics.heart.cycle import run_cycle
    from twinflow.physics.heart.settings import CycleSettings, SolverSettings, read_case

    try:
        solver = SolverSettings(reuse_jacobian=not args.exact_newton,
                                extrapolate=args.extrapolate, lag_border=not args.no_lag_border)
        st = CycleSettings.from_case(read_case(args.case), args.time_step, args.beats,
                                     max_steps=args.max_steps, output_every=args.output_every,
                                     solver=solver)
        path = run_cycle(args.mesh, args.case, args.scenario, args.out, st)
    except TwinflowError as err:
        for line in err.lines:
            log.error("%s", line)
        return err.exit_code
    log.info("summary: %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
