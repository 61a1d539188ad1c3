"""Run a geometry command line: logging set up once, user errors as one-line log records.

Every ``python -m twinflow.geometry...`` entry point parses its arguments and hands the work
to :func:`run_command`, which calls :func:`twinflow.logs.setup_logging` (records on stderr,
which the workflow rules redirect into the step's log) and turns a
:class:`~twinflow.errors.TwinflowError` into one ERROR record per message line and exit
status 2 (docs/conventions.md); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from twinflow.errors import TwinflowError
from twinflow.logs import setup_logging


def run_command(command: Callable[[], object], logger: logging.Logger) -> int:
    """Run ``command()`` after setting up logging; its exit status (0, or 2 on a user error)."""
    setup_logging()
    try:
        command()
    except TwinflowError as err:
        for line in err.lines:
            logger.error("%s", line)
        return err.exit_code
    return 0
