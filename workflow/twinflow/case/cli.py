"""``twinflow validate``, ``twinflow schema`` and ``twinflow canonical``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twinflow.case.load import load_case, write_canonical
from twinflow.case.schema import stale_schemas, write_schemas
from twinflow.errors import CaseError, TwinflowError

DEFAULT_SCHEMA_DIR = Path("schemas")


def cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            load_case(path)
        except CaseError as err:
            failed += 1
            for line in err.lines:
                print(line, file=sys.stderr)
        else:
            if not args.quiet:
                print(f"{path}: ok")
    return 2 if failed else 0


def cmd_schema(args: argparse.Namespace) -> int:
    folder = Path(args.out)
    if args.check:
        stale = stale_schemas(folder)
        if stale:
            raise TwinflowError(*(f"{folder / n}: stale or missing; run 'twinflow schema'"
                                  for n in stale))
        print(f"{folder}: up to date")
        return 0
    for path in write_schemas(folder):
        print(path)
    return 0


def cmd_canonical(args: argparse.Namespace) -> int:
    write_canonical(args.case, args.output)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate case files (FILE:LINE:COL: key: message)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="write schemas/*.schema.json from the case models")
    p.add_argument("--out", default=str(DEFAULT_SCHEMA_DIR), help="folder (default: schemas)")
    p.add_argument("--check", action="store_true", help="fail if the files are stale")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("canonical", help="validate a case and write its canonical SI JSON")
    p.add_argument("case")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_canonical)
