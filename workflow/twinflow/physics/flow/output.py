"""Field files of a flow solve: VTX (ADIOS2, BP4) folders in ``<out>/fields``.

``velocity.bp``, ``pressure.bp`` and ``wss.bp`` hold the fields at the output steps
(:meth:`twinflow.physics.flow.settings.FlowSettings.writes_fields_at`), ``indices.bp`` the
TAWSS, OSI and RRT of the analysed period; ParaView opens them.
"""

from __future__ import annotations

from pathlib import Path

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
from dolfinx import fem
from dolfinx.io import VTXWriter
from mpi4py import MPI

#: Folder of the field files, relative to the output folder.
FIELDS_DIR: str = "fields"


class FieldFiles:
    """VTX files of fields written over time (``series``) or once (:meth:`write_once`)."""

    def __init__(self, out_dir: Path, comm: MPI.Comm,
                 series: dict[str, list[fem.Function]]) -> None:
        self.comm = comm
        self.folder = Path(out_dir) / FIELDS_DIR
        if comm.rank == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        self.names = list(series)
        self._writers = [VTXWriter(comm, self.folder / f"{name}.bp", functions, engine="BP4")
                         for name, functions in series.items()]

    def write(self, t: float) -> None:
        """Append the time-series fields at time ``t``."""
        for writer in self._writers:
            writer.write(t)

    def close(self) -> None:
        for writer in self._writers:
            writer.close()

    def write_once(self, name: str, functions: list[fem.Function], t: float) -> None:
        """Write ``functions`` to ``name.bp`` at time ``t`` only."""
        with VTXWriter(self.comm, self.folder / f"{name}.bp", functions,
                       engine="BP4") as writer:
            writer.write(t)
        self.names.append(name)

    @property
    def paths(self) -> list[str]:
        """The files written, relative to the output folder."""
        return [f"{FIELDS_DIR}/{name}.bp" for name in self.names]
