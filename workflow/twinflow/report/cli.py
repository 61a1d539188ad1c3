"""``twinflow report``: the HTML report of one case's results folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    from twinflow.report.case_report import write_report

    out = Path(args.output) if args.output else Path(args.case_dir) / "report.html"
    print(write_report(Path(args.case_dir), out))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the HTML report of results/<case>")
    p.add_argument("case_dir")
    p.add_argument("-o", "--output", default=None)
    p.set_defaults(func=cmd_report)
