"""One logging set-up for every twinflow command, and progress for long loops.

Every module logs through ``logging.getLogger(__name__)``; no module prints. A command calls
:func:`setup_logging` once: records go to stderr (which the workflow rules redirect into the
step's log file, ``results/<case>/logs/<step>.log``) with a timestamp and level, and to an
extra file when one is given. Under MPI only rank 0 logs at INFO; other ranks log warnings.

Long loops (time steps, beats, load steps, epochs) wrap their iterations in
:func:`progress`: on a terminal a `tqdm <https://tqdm.github.io>`_ bar (a maintained library,
so no hand-written bar), and in every case a log line at each tenth of the work, so a step
log read with ``tail -f`` shows where a 20-minute solve is.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from tqdm import tqdm

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"

#: Third-party loggers that are noisy and say nothing a user acts on, with the level kept.
#: pydicom warns about header quirks of real exports (invalid UIDs, ...): not user errors.
QUIET = {"pydicom": logging.ERROR, "matplotlib": logging.WARNING, "PIL": logging.WARNING,
         "circulation": logging.WARNING, "h5py": logging.WARNING, "numexpr": logging.WARNING,
         "tensorflow": logging.WARNING}


def mpi_rank() -> int:
    """This process's MPI rank, without importing mpi4py (set by MPICH and Open MPI)."""
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def setup_logging(verbose: bool = False, log_file: Path | None = None) -> None:
    """Configure the root logger once per process (a later call replaces the handlers)."""
    rank = mpi_rank()
    level = logging.DEBUG if verbose else logging.INFO
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None and rank == 0:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    fmt = FORMAT if rank == 0 else FORMAT.replace("%(name)s", f"[rank {rank}] %(name)s")
    logging.basicConfig(level=level if rank == 0 else logging.WARNING, format=fmt,
                        datefmt=DATEFMT, handlers=handlers, force=True)
    for handler in handlers:  # a filter, not logger levels: libraries reset those on import
        handler.addFilter(_quiet)


def _quiet(record: logging.LogRecord) -> bool:
    """Drop records of :data:`QUIET` libraries below their kept level."""
    top = record.name.partition(".")[0]
    return record.levelno >= QUIET.get(top, logging.NOTSET)


class Progress:
    """A tqdm bar on a terminal plus a log line at every tenth of ``total``.

    Use as a context manager and call :meth:`update` per unit of work, or iterate through
    :func:`progress`. ``postfix`` strings (e.g. the current time or a residual) appear in
    both the bar and the log lines.
    """

    def __init__(self, total: int | None, desc: str, unit: str = "it",
                 logger: logging.Logger | None = None) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.log = logger or logging.getLogger("twinflow.progress")
        self.done = 0
        self.postfix = ""
        self._next_tenth = 1
        self._start = time.monotonic()
        quiet = mpi_rank() != 0 or not sys.stderr.isatty()
        self.bar = tqdm(total=total, desc=desc, unit=unit, disable=quiet, leave=False,
                        dynamic_ncols=True)

    def update(self, n: int = 1, postfix: str = "") -> None:
        self.done += n
        if postfix:
            self.postfix = postfix
            self.bar.set_postfix_str(postfix, refresh=False)
        self.bar.update(n)
        if self.total and self.done * 10 >= self._next_tenth * self.total:
            self._next_tenth = self.done * 10 // self.total + 1
            self._log()

    def _log(self) -> None:
        elapsed = time.monotonic() - self._start
        of = f"/{self.total}" if self.total else ""
        extra = f" ({self.postfix})" if self.postfix else ""
        self.log.info("%s: %d%s %s, %.0f s%s", self.desc, self.done, of, self.unit, elapsed,
                      extra)

    def close(self) -> None:
        self.bar.close()
        if not self.total or self.done < self.total:  # the log shows where it stopped
            self._log()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress[T](iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it",
             logger: logging.Logger | None = None) -> Iterator[T]:
    """Iterate ``iterable`` with a :class:`Progress` (``total`` from ``len`` when it has one)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(total, desc, unit, logger) as bar:
        for item in iterable:
            yield item
            bar.update(1)
