"""Stage ``simulate_flow``: the case's flow problem on its lumen mesh.

Maps the stage's settings (``geometry``, ``physics``, ``simulation`` and ``scenario`` of the
case, :mod:`twinflow.stages`) to solver settings
(:func:`twinflow.physics.flow.settings.carotid_flow_settings`; facet tags from the mesher's
quality file), writes them as ``settings.json`` beside the summary, and runs
:func:`twinflow.physics.flow.loop.solve_flow`. ``solver_settings`` runs a solver settings file
directly instead (tests, studies: every option of :class:`~.settings.FlowSettings`). Run
under ``mpiexec`` for several ranks: ``twinflow simulate-flow --settings S --mesh M
--mesh-quality Q --summary OUT``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mpi4py import MPI

from twinflow.artifacts.mesh import CarotidMeshQuality
from twinflow.errors import InputError
from twinflow.io import read_json, write_json_atomic
from twinflow.physics.flow.loop import solve_flow
from twinflow.physics.flow.settings import carotid_flow_settings
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)


def simulate_flow(settings: Path | None, mesh: Path, summary: Path,
                  mesh_quality: Path | None = None,
                  solver_settings: Path | None = None) -> Path:
    """Solve the flow of one scenario; returns ``summary`` (``series.csv``, ``settings.json``,
    fields and renders beside it)."""
    summary = Path(summary)
    if summary.name != "summary.json":
        raise InputError(f"{summary}: the summary must be named summary.json (series.csv, "
                         "settings.json, fields and renders are written beside it)")
    if solver_settings is not None:
        config = read_json(solver_settings, "solver settings")
        if not isinstance(config, dict):
            raise InputError(f"{solver_settings}: solver settings must be a JSON object")
    elif settings is not None:
        config = solver_settings_of_case(settings, mesh_quality)
    else:
        raise InputError("simulate-flow: give the stage's --settings or --solver-settings")
    if MPI.COMM_WORLD.rank == 0:
        write_json_atomic(summary.with_name("settings.json"), config)
    path = solve_flow(Path(mesh), config, summary.parent)
    log.info("summary: %s", path)
    return path


def solver_settings_of_case(settings: Path, mesh_quality: Path | None) -> dict[str, Any]:
    """Solver settings of the case (its ``simulate_flow`` settings file); the carotid mesh's
    facet tags come from its quality file (a tube uses the default tags)."""
    case = read_stage_settings(settings, "simulate_flow")
    facet_tags = None
    if case["geometry"]["kind"] == "bifurcation" and mesh_quality is not None:
        facet_tags = {"facet_tags": CarotidMeshQuality.read(mesh_quality).facet_tags}
    return carotid_flow_settings(case, facet_tags)
