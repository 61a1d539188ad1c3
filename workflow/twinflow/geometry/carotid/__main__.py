"""``python -m twinflow.geometry.carotid reconstruct|mesh ...`` (rules/geometry.smk)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from twinflow.geometry.command import run_command

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twinflow.geometry.carotid",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("reconstruct", help="masks -> lumen/wall surfaces + measurements")
    rec.add_argument("--case", type=Path, required=True, help="results/<case>/case.json")
    rec.add_argument("--masks", type=Path, required=True, help="results/<case>/masks")
    rec.add_argument("--images", type=Path, default=None, help="results/<case>/images")
    rec.add_argument("--out", type=Path, required=True, help="results/<case>/geometry")
    msh = sub.add_parser("mesh", help="model -> mesh.xdmf (lumen), wall_mesh.xdmf (vessel wall), "
                         "mesh_quality.json")
    msh.add_argument("--case", type=Path, required=True)
    msh.add_argument("--geometry", type=Path, required=True, help="results/<case>/geometry")
    msh.add_argument("--out", type=Path, required=True, help="results/<case>/mesh")
    msh.add_argument("--radius-factor", type=float, default=None,
                     help="cells per local radius (default 6)")
    args = parser.parse_args(argv)

    def command() -> object:
        if args.command == "reconstruct":
            from twinflow.geometry.carotid.reconstruct import reconstruct_carotid

            return reconstruct_carotid(args.case, args.masks, args.images, args.out)
        from twinflow.geometry.carotid.mesh import mesh_carotid

        return mesh_carotid(args.geometry, args.case, args.out,
                            radius_factor=args.radius_factor)

    return run_command(command, log)


if __name__ == "__main__":
    sys.exit(main())
