"""``python -m twinflow.physics.flow --mesh M.xdmf (--settings S.json | --case CASE.json
[--mesh-json mesh_quality.json]) --out DIR``: the carotid flow solve (usually under
``mpirun``).

``--case`` takes the canonical case JSON and maps it with
:func:`twinflow.physics.flow.settings.carotid_flow_settings`; ``--mesh-json`` defaults to
``mesh_quality.json`` next to the mesh when that file exists. The settings used are written to
``DIR/settings.json``. A user error is one logged line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
from mpi4py import MPI

from twinflow.errors import InputError, TwinflowError
from twinflow.io import write_json_atomic
from twinflow.logs import setup_logging
from twinflow.physics.flow.loop import solve_flow
from twinflow.physics.flow.settings import carotid_flow_settings

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Run the command line (module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m twinflow.physics.flow",
                                     description="Pulsatile Navier-Stokes flow (DOLFINx).")
    parser.add_argument("--mesh", type=Path, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--settings", type=Path, help="solver settings JSON")
    source.add_argument("--case", type=Path, help="canonical case JSON (SI)")
    parser.add_argument("--mesh-json", type=Path, default=None,
                        help="mesher metadata (facet_tags); default: mesh_quality.json "
                             "beside the mesh")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    setup_logging()
    try:
        if args.settings is not None:
            settings = _read_json(args.settings, "settings")
        else:
            case = _read_json(args.case, "case")
            mesh_json_path = args.mesh_json or args.mesh.with_name("mesh_quality.json")
            mesh_json = (_read_json(mesh_json_path, "mesh metadata")
                         if args.mesh_json is not None or mesh_json_path.is_file() else None)
            settings = carotid_flow_settings(case, mesh_json)
            if MPI.COMM_WORLD.rank == 0:
                args.out.mkdir(parents=True, exist_ok=True)
                write_json_atomic(args.out / "settings.json", settings)
        solve_flow(args.mesh, settings, args.out)
    except TwinflowError as err:
        if MPI.COMM_WORLD.rank == 0:
            for line in err.lines:
                log.error("%s", line)
        return err.exit_code
    return 0


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read {what} JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: {what} must be a JSON object")
    return data


if __name__ == "__main__":
    sys.exit(main())
