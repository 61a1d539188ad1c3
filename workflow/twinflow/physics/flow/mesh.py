"""The vessel mesh of the flow solver: reading, checks, and the cell size.

The mesh is a 3D tetrahedral volume mesh in an XDMF file with the facet tags of
:mod:`twinflow.geometry.tags` (inlet, outlets, wall), as the meshers of
:mod:`twinflow.geometry` write it; lengths in metres.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
from dolfinx import fem
from dolfinx import mesh as dmesh
from dolfinx.io import XDMFFile
from mpi4py import MPI

from twinflow.errors import InputError
from twinflow.geometry import tags


def read_mesh(mesh_path: Path, comm: MPI.Comm) -> tuple[dmesh.Mesh, dmesh.MeshTags]:
    """Read the mesh ``mesh`` and facet tags ``facet_tags`` from an XDMF file."""
    if not Path(mesh_path).is_file():
        raise InputError(f"{mesh_path}: mesh file not found")
    try:
        with XDMFFile(comm, str(mesh_path), "r") as xdmf:
            mesh = xdmf.read_mesh(name=tags.MESH_NAME)
            mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
            facet_tags = xdmf.read_meshtags(mesh, name=tags.FACET_TAGS_NAME)
    except RuntimeError as err:
        raise InputError(f"{mesh_path}: cannot read mesh and facet tags ({err})") from None
    return mesh, facet_tags


def check_vessel_mesh(mesh: dmesh.Mesh, facet_tags: dmesh.MeshTags,
                      required: Iterable[tuple[int, str]], mesh_path: Path) -> None:
    """A 3D volume mesh carrying every ``(tag, what)`` of ``required`` on some facet (of any
    rank); an :class:`InputError` naming the first one missing otherwise."""
    gdim, tdim = mesh.geometry.dim, mesh.topology.dim
    if gdim != 3 or tdim != 3:
        raise InputError(f"{mesh_path}: a 3D volume mesh is needed (got tdim {tdim})")
    present = set().union(*[set(v.tolist()) for v in
                            mesh.comm.allgather(np.unique(facet_tags.values))])
    for tag, what in required:
        if tag not in present:
            raise InputError(f"{mesh_path}: no facets with the {what} tag {tag} "
                             f"(tags present: {sorted(present)})")


def cell_diameter(mesh: dmesh.Mesh) -> fem.Function:
    """Largest vertex distance of each cell (``Mesh.h``) as a DG0 function, for owned and ghost
    cells alike (``ufl.CellDiameter`` is not available on the curved tube meshes)."""
    W0 = fem.functionspace(mesh, ("DG", 0))
    h = fem.Function(W0, name="cell_diameter")
    cell_map = mesh.topology.index_map(mesh.topology.dim)
    cells = np.arange(cell_map.size_local + cell_map.num_ghosts, dtype=np.int32)
    h.x.array[W0.dofmap.list[cells, 0]] = mesh.h(mesh.topology.dim, cells)
    return h
