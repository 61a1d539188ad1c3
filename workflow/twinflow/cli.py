"""The ``twinflow`` command line.

Each stage contributes its sub-commands through a ``register(subparsers)`` function in its
own ``twinflow.<stage>.cli`` module, listed in :data:`STAGE_CLIS`; this module only builds the
parser, runs the chosen command and turns :class:`~twinflow.errors.TwinflowError` into one-line
messages on stderr with exit status 2. Stage modules are imported lazily so that, for
example, ``twinflow validate`` never pays for importing TensorFlow or DOLFINx.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from twinflow import __version__
from twinflow.errors import TwinflowError

#: Modules providing ``register(subparsers) -> None``. Each registered sub-command sets
#: ``func`` (a callable taking the parsed namespace and returning an exit status).
STAGE_CLIS: tuple[str, ...] = (
    "twinflow.imaging.cli",
    "twinflow.case.cli",
    "twinflow.workflow_cli",
    "twinflow.segmentation.cli",
    "twinflow.report.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinflow",
        description="Patient-specific cardiovascular simulation from one YAML case file.",
    )
    parser.add_argument("--version", action="version", version=f"twinflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in STAGE_CLIS:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TwinflowError as err:
        for line in err.lines:
            print(line, file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("twinflow: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
