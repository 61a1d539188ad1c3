"""What an MPI job of a case asks a scheduler for: ranks, memory and wall time.

The solve rules (``simulate_flow``, ``simulate_heart``, ``land2015``) declare
``resources: tasks, mem_mb, runtime`` from :func:`mpi_job_resources` and launch
``{resources.mpi} -n {resources.tasks}`` (rules/case.smk decides the launcher). The numbers
are *requests*, not measurements; a profile's ``set-resources`` overrides them per rule.

* ``tasks``: the case's ``simulation.mpi_ranks`` (1 when absent); locally capped by
  :func:`cap_ranks`.
* ``mem_mb``: :data:`BASE_MB` + :data:`PER_RANK_MB` per rank (MiB): a generous guess for
  the demo-sized meshes (up to ~25k cells), not a measured bound; raise it in the profile
  for finer meshes.
* ``runtime``: minutes, ``max(MIN_RUNTIME, steps * SECONDS_PER_STEP / 60)`` with
  ``steps = cycles * period / time_step`` (flow: ``physics.inflow.period``; heart:
  ``1 / physics.circulation.heart_rate``); the benchmarks (``land2015``) get
  :data:`MIN_RUNTIME`. :data:`SECONDS_PER_STEP` is 8-20 times the cost of a demo step on
  2 cores (the Womersley case's 150 steps and the LV demo's 2 x 960 steps run their whole
  workflows in 1.5 and 8 minutes: at most 0.6 and 0.25 s per step), so that a request is
  rarely too short.
"""

from __future__ import annotations

import math
from typing import Any

BASE_MB = 1024
PER_RANK_MB = 1024
MIN_RUNTIME = 30  # minutes
SECONDS_PER_STEP = 5.0


def case_ranks(case: dict[str, Any] | None) -> int:
    """``simulation.mpi_ranks`` of a canonical case (1 when absent or the case is invalid)."""
    return max(1, int(((case or {}).get("simulation") or {}).get("mpi_ranks", 1)))


def cap_ranks(ranks: int, cores: int | None) -> int:
    """``ranks`` limited to ``cores`` (``None``: no limit), at least 1."""
    return max(1, min(ranks, cores)) if cores else max(1, ranks)


def time_steps(case: dict[str, Any] | None) -> int:
    """Time steps of a case's solve (0 when it has no time loop: the benchmarks)."""
    case = case or {}
    sim, physics = case.get("simulation") or {}, case.get("physics") or {}
    if not sim.get("time_step"):
        return 0
    if (physics.get("inflow") or {}).get("period"):
        period = physics["inflow"]["period"]
    elif (physics.get("circulation") or {}).get("heart_rate"):
        period = 1.0 / physics["circulation"]["heart_rate"]
    else:
        return 0
    return math.ceil(sim.get("cycles", 1) * period / sim["time_step"] - 1e-9)  # 960.0000001


def mpi_job_resources(case: dict[str, Any] | None, tasks: int) -> dict[str, int]:
    """``tasks``, ``mem_mb`` (MiB) and ``runtime`` (minutes) of one solve of ``case``."""
    runtime = max(MIN_RUNTIME, math.ceil(time_steps(case) * SECONDS_PER_STEP / 60))
    return {"tasks": tasks, "mem_mb": BASE_MB + PER_RANK_MB * tasks, "runtime": runtime}
