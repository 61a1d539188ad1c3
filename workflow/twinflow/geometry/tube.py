"""Straight circular tube meshes (gmsh) for the verification of the flow solver.

A cylinder of radius ``R`` and length ``L`` along +z, inlet disc at ``z = 0``, outlet disc at
``z = L``. Facet tags follow :mod:`twinflow.geometry.tags` (INLET=1, OUTLET=2, WALL=4), the
cells carry FLUID=1. By default the mesh is second order (10-node tetrahedra, curved faces on
the wall): with straight-sided tetrahedra the polygonal cross-section of a coarse mesh loses
``1 - n sin(2 pi/n)/(2 pi)`` of its area (1.1 % for n = 24 segments), which alone would eat
the 1 % budget of the Poiseuille check; quadratic geometry makes that error O(h^3)
(Ciarlet & Raviart 1972, isoparametric elements).

The file is an XDMF (+ HDF5) with the mesh ``mesh``, the facet tags ``facet_tags`` and the cell
tags ``cell_tags`` (names in :mod:`twinflow.geometry.tags`), readable on any number of MPI
ranks with ``dolfinx.io.XDMFFile.read_mesh`` / ``read_meshtags``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from twinflow.artifacts.mesh import MeshQuality
from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.geometry.gmsh_session import gmsh_session
from twinflow.geometry.mesh_io import gmsh_mesh_arrays, gmsh_to_dolfinx, write_tagged_mesh
from twinflow.geometry.quality import cell_quality, edge_quality
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

#: Default cell size: the lumen radius over this (as the carotid lumen mesher's default).
DEFAULT_CELLS_PER_RADIUS = 6.0


def mesh_tube(settings: Path, mesh: Path, quality: Path) -> Path:
    """Stage ``mesh_tube``: the case's ``geometry.tube`` meshed at ``mesh.cell_size``
    (default radius / 6, as the carotid lumen), second-order cells; returns ``mesh``."""
    case = read_stage_settings(settings, "mesh_tube")
    tube = case["geometry"]["tube"]
    cell_size = case["mesh"]["cell_size"] or tube["radius"] / DEFAULT_CELLS_PER_RADIUS
    return tube_mesh(tube["radius"], tube["length"], cell_size, Path(mesh),
                     quality_json=Path(quality))


def tube_mesh(radius: float, length: float, cell_size: float, out_path: Path,
              order: int = 2, comm: object | None = None,
              quality_json: Path | None = None) -> Path:
    """Mesh a straight tube with gmsh and write ``out_path`` (XDMF + HDF5).

    Parameters are SI (m). ``order`` is the geometric order of the cells (1 or 2). ``comm``
    is an mpi4py communicator (default COMM_WORLD); gmsh runs on rank 0 and DOLFINx
    distributes the mesh before writing. With ``quality_json``, the quality of the linear
    mesh (before the curved second-order nodes are added) is written there
    (:class:`~twinflow.artifacts.mesh.MeshQuality`). Returns ``out_path``.
    """
    from mpi4py import MPI

    if not (radius > 0 and length > 0 and cell_size > 0):
        raise InputError(f"{out_path}: tube radius, length and cell size must be > 0 "
                         f"(got {radius}, {length}, {cell_size})")
    if order not in (1, 2):
        raise InputError(f"{out_path}: mesh order must be 1 or 2 (got {order})")
    if cell_size > radius:
        raise InputError(f"{out_path}: cell size {cell_size} m exceeds the radius {radius} m")
    comm = MPI.COMM_WORLD if comm is None else comm
    quality = None
    with gmsh_session("tube") as gmsh:
        if comm.rank == 0:
            quality = _build_tube_model(gmsh, radius, length, cell_size, order)
        data = gmsh_to_dolfinx(gmsh, comm)
    out = write_tagged_mesh(data, Path(out_path), comm)
    if quality_json is not None and comm.rank == 0:
        quality.write(quality_json)
    log.info("wrote %s (%d cells)", out, data.mesh.topology.index_map(3).size_global)
    return out


def _build_tube_model(gmsh: object, radius: float, length: float, cell_size: float,
                      order: int) -> MeshQuality:
    """Create the OpenCASCADE cylinder, its physical groups and the mesh (rank 0 only);
    returns the quality of the linear mesh."""
    occ = gmsh.model.occ
    volume = occ.addCylinder(0.0, 0.0, 0.0, 0.0, 0.0, length, radius)
    occ.synchronize()
    inlet, outlet, wall = [], [], []
    for dim, surface in gmsh.model.getBoundary([(3, volume)], oriented=False):
        com = occ.getCenterOfMass(dim, surface)
        if math.isclose(com[2], 0.0, abs_tol=1e-9 * length):
            inlet.append(surface)
        elif math.isclose(com[2], length, rel_tol=1e-9):
            outlet.append(surface)
        else:
            wall.append(surface)
    gmsh.model.addPhysicalGroup(3, [volume], tags.FLUID, name="fluid")
    gmsh.model.addPhysicalGroup(2, inlet, tags.INLET, name="inlet")
    gmsh.model.addPhysicalGroup(2, outlet, tags.OUTLET, name="outlet")
    gmsh.model.addPhysicalGroup(2, wall, tags.WALL, name="wall")
    gmsh.option.setNumber("Mesh.CharacteristicLengthMin", cell_size)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", cell_size)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)  # Delaunay
    gmsh.model.mesh.generate(3)
    arrays = gmsh_mesh_arrays(gmsh)
    quality = MeshQuality(**cell_quality(arrays.points, arrays.tets),
                          **edge_quality(arrays.points, arrays.tets))
    if order == 2:
        gmsh.model.mesh.setOrder(2)
    return quality
