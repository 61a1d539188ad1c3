"""Mesh files of the geometry stage: every reader and writer in one module.

=========================  ==================================================================
file                       written / read with
=========================  ==================================================================
``mesh.xdmf`` + ``.h5``    :func:`write_tagged_mesh` (DOLFINx, from gmsh through
                           :func:`gmsh_to_dolfinx`), :func:`read_tagged_mesh` (DOLFINx)
``mesh.msh`` (gmsh 4.1)    :func:`write_msh` (gmsh), :func:`read_msh` (DOLFINx, distributed),
                           :func:`read_mesh_arrays` (meshio, serial numpy arrays)
surfaces ``.vtp`` / .stl   :func:`write_surface`, :func:`read_surface` (pyvista / VTK)
gmsh model in memory       :func:`gmsh_mesh_arrays` (model -> arrays),
                           :func:`arrays_to_gmsh` (arrays -> discrete model)
=========================  ==================================================================

The tagged XDMF holds three grids named after :mod:`twinflow.geometry.tags` — the mesh
``mesh``, the facet tags ``facet_tags`` and the cell tags ``cell_tags`` — readable on any
number of MPI ranks.

What meshio does and why the rest does not use it. meshio (``read_mesh_arrays``) reads the
gmsh files serially into numpy arrays with their physical tags, e.g. for the quality of the
LV mesh; it replaces walking gmsh's entity API by hand where a file exists. The XDMF pair
stays on DOLFINx: a solver reads it distributed (``XDMFFile.read_mesh`` /
``read_meshtags``), which needs DOLFINx's layout (the tag grids refer to the mesh's
geometry by ``xi:include``), and meshio 5.3 reads only single-grid XDMF files ("Only supports
one grid right now") and writes no mesh tags in that layout. Surfaces stay on pyvista:
``.vtp`` (with the ``facet_tag`` cell array) is not a meshio format, and the surfaces are
pyvista objects already (VTK filters build them). The in-memory gmsh conversions stay on
gmsh's API: the carotid wall is extruded from the fluid mesh before anything is written,
and its vertex order (gmsh's node order) decides the prism splits, so it must come
straight from the model; the wall mesh goes back through a discrete gmsh model so that
DOLFINx's ``model_to_mesh`` distributes it exactly as it does the fluid mesh.

Writes are atomic (:mod:`twinflow.io`): a failed step leaves no file that looks finished.
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.io import atomic_path, write_text_atomic


# ------------------------------------------------------------------ arrays


@dataclass(slots=True)
class MeshArrays:
    """A linear tetrahedral mesh as numpy arrays (serial, one process).

    ``points`` (n, 3); ``tets`` (m, 4) indices into ``points``; ``facets``: the triangles
    (k, 3) of each facet tag; ``cell_values``: the cell tag of each tetrahedron (or None).
    """

    points: np.ndarray
    tets: np.ndarray
    facets: dict[int, np.ndarray] = field(default_factory=dict)
    cell_values: np.ndarray | None = None


def gmsh_node_index(node_tags: np.ndarray) -> np.ndarray:
    """Map gmsh node tags to positions: ``index[tag]`` is the row of that node's coordinates
    in ``gmsh.model.mesh.getNodes()`` order."""
    index = np.zeros(int(node_tags.max()) + 1, np.int64)
    index[node_tags.astype(np.int64)] = np.arange(len(node_tags))
    return index


def gmsh_mesh_arrays(gmsh: ModuleType) -> MeshArrays:
    """Nodes (gmsh order), tetrahedra and the triangles of each 2D physical group of the
    current (meshed, linear) gmsh model."""
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    index = gmsh_node_index(node_tags)
    _, _, enodes = gmsh.model.mesh.getElements(3)
    tris: dict[int, np.ndarray] = {}
    for dim, tag in gmsh.model.getPhysicalGroups(2):
        parts = []
        for ent in gmsh.model.getEntitiesForPhysicalGroup(dim, tag):
            _, _, en = gmsh.model.mesh.getElements(2, ent)
            parts += [index[np.asarray(e, np.int64)].reshape(-1, 3) for e in en]
        tris[int(tag)] = np.concatenate(parts)
    return MeshArrays(coords.reshape(-1, 3), index[np.asarray(enodes[0], np.int64)].reshape(-1, 4),
                      tris)


def arrays_to_gmsh(gmsh: ModuleType, mesh: MeshArrays, cell_tag: tuple[int, str],
                   facet_names: dict[int, str]) -> None:
    """Put ``mesh`` into the current gmsh model as discrete entities: one volume (physical
    group ``cell_tag`` = (tag, name)) and one surface per facet tag, in ``mesh.facets``
    order (physical group named ``facet_names[tag]``)."""
    vol = gmsh.model.addDiscreteEntity(3)
    gmsh.model.mesh.addNodes(3, vol, np.arange(1, len(mesh.points) + 1), mesh.points.ravel())
    gmsh.model.mesh.addElementsByType(vol, 4, [], (mesh.tets + 1).ravel())
    gmsh.model.addPhysicalGroup(3, [vol], cell_tag[0], name=cell_tag[1])
    for tag, tris in mesh.facets.items():
        surf = gmsh.model.addDiscreteEntity(2)
        gmsh.model.mesh.addElementsByType(surf, 2, [], (tris + 1).ravel())
        gmsh.model.addPhysicalGroup(2, [surf], tag, name=facet_names[tag])


def read_mesh_arrays(path: str | os.PathLike[str]) -> MeshArrays:
    """Read a tetrahedral mesh file (gmsh ``.msh`` or any meshio format) with meshio.

    Facets and cells are grouped by their gmsh physical tag (``gmsh:physical``) when the file
    has them; points and cells keep the file's order.
    """
    import meshio

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: mesh file not found")
    try:
        m = meshio.read(path)
    except meshio.ReadError as err:
        raise InputError(f"{path}: cannot read the mesh ({err})") from None
    physical = m.cell_data.get("gmsh:physical")
    tets, cell_values, facets = [], [], {}
    for k, block in enumerate(m.cells):
        values = (np.asarray(physical[k], np.int64) if physical is not None
                  else np.zeros(len(block.data), np.int64))
        if block.type == "tetra":
            tets.append(block.data)
            cell_values.append(values)
        elif block.type == "triangle":
            for t in np.unique(values):
                facets[int(t)] = np.concatenate([facets.get(int(t), np.empty((0, 3), int)),
                                                 block.data[values == t]])
    if not tets:
        raise InputError(f"{path}: no tetrahedra in the mesh")
    return MeshArrays(np.asarray(m.points, float), np.concatenate(tets), facets,
                      np.concatenate(cell_values) if physical is not None else None)


# ------------------------------------------------------------------ DOLFINx


@dataclass(slots=True)
class TaggedMesh:
    """A DOLFINx mesh with its facet tags (and cell tags when read)."""

    mesh: Any
    facet_tags: Any
    cell_tags: Any | None = None


def gmsh_to_dolfinx(gmsh: ModuleType, comm: Any) -> Any:
    """The current gmsh model (meshed on rank 0) as a distributed DOLFINx ``MeshData``."""
    import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
    from dolfinx.io import gmsh as gmshio

    return gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)


def write_tagged_mesh(data: Any, out_path: Path, comm: Any) -> Path:
    """Write a gmshio ``MeshData`` (mesh, cell and facet tags) as XDMF + HDF5, atomically.

    The grids are named after :mod:`twinflow.geometry.tags`; both files appear under their
    final names only after a successful write (an XDMF names its HDF5 file, so the pair is
    written under a temporary stem and the reference is rewritten before the rename).
    """
    import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
    from dolfinx.io import XDMFFile

    out_path = Path(out_path)
    mesh, cell_tags, facet_tags = data.mesh, data.cell_tags, data.facet_tags
    mesh.name = tags.MESH_NAME
    cell_tags.name = tags.CELL_TAGS_NAME
    facet_tags.name = tags.FACET_TAGS_NAME
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.tmp.xdmf")
    mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
    with XDMFFile(comm, tmp, "w") as xdmf:
        xdmf.write_mesh(mesh)
        xdmf.write_meshtags(facet_tags, mesh.geometry)
        xdmf.write_meshtags(cell_tags, mesh.geometry)
    comm.barrier()
    if comm.rank == 0:
        text = tmp.read_text().replace(tmp.with_suffix(".h5").name,
                                       out_path.with_suffix(".h5").name)
        tmp.with_suffix(".h5").replace(out_path.with_suffix(".h5"))
        write_text_atomic(out_path, text)  # the .xdmf last: a kill leaves no pair
        tmp.unlink()
    comm.barrier()
    return out_path


def read_tagged_mesh(path: str | os.PathLike[str], comm: Any = None,
                     cell_tags: bool = False) -> TaggedMesh:
    """Read a file of :func:`write_tagged_mesh` on ``comm`` (default COMM_WORLD): the mesh,
    its facet tags (facet-to-cell connectivity created) and, with ``cell_tags``, the cell
    tags. A missing or unreadable file is an :class:`InputError`."""
    import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
    from dolfinx.io import XDMFFile
    from mpi4py import MPI

    path = Path(path)
    comm = MPI.COMM_WORLD if comm is None else comm
    if not path.is_file():
        raise InputError(f"{path}: mesh file not found")
    grids = [tags.FACET_TAGS_NAME] + ([tags.CELL_TAGS_NAME] if cell_tags else [])
    try:
        with XDMFFile(comm, str(path), "r") as xdmf:
            mesh = xdmf.read_mesh(name=tags.MESH_NAME)
            mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
            found = {name: xdmf.read_meshtags(mesh, name=name) for name in grids}
    except RuntimeError as err:
        raise InputError(f"{path}: cannot read the mesh and its {', '.join(grids)} ({err})") \
            from None
    return TaggedMesh(mesh, found[tags.FACET_TAGS_NAME], found.get(tags.CELL_TAGS_NAME))


def write_msh(gmsh: ModuleType, out_path: str | os.PathLike[str]) -> Path:
    """Write the current gmsh model as a gmsh file (``.msh``), atomically (call on rank 0)."""
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        gmsh.write(str(tmp))
    return out_path


def read_msh(path: str | os.PathLike[str], comm: Any = None) -> Any:
    """Read a gmsh ``.msh`` file distributed on ``comm`` (default COMM_WORLD): DOLFINx
    ``MeshData`` with cell and facet tags and the physical-group names."""
    import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
    from dolfinx.io import gmsh as gmshio
    from mpi4py import MPI

    if not Path(path).is_file():
        raise InputError(f"{path}: mesh file not found")
    return gmshio.read_from_msh(str(path), MPI.COMM_WORLD if comm is None else comm, 0,
                                gdim=3)


# ------------------------------------------------------------------ surfaces


def write_surface(surface: Any, path: str | os.PathLike[str]) -> Path:
    """Write a pyvista surface atomically (binary; the format follows the suffix). An
    ``.stl`` holds triangles only: the surface is triangulated and its cell arrays dropped."""
    path = Path(path)
    if path.suffix == ".stl":
        surface = surface.extract_surface(algorithm=None).triangulate()
    with atomic_path(path) as tmp:
        surface.save(str(tmp), binary=True)
    return path


def read_surface(path: str | os.PathLike[str], what: str = "surface") -> Any:
    """Read a surface file with pyvista; a missing file is an :class:`InputError`."""
    import pyvista as pv

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {what} not found (run the reconstruction first)")
    return pv.read(str(path))
