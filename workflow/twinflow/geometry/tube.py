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

import argparse
import logging
import math
import sys
from pathlib import Path

from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.geometry.command import run_command
from twinflow.geometry.gmsh_session import gmsh_session
from twinflow.geometry.mesh_io import gmsh_to_dolfinx, write_tagged_mesh

log = logging.getLogger(__name__)


def mesh_tube(radius: float, length: float, cell_size: float, out_path: Path,
              order: int = 2, comm: object | None = None) -> Path:
    """Mesh a straight tube with gmsh and write ``out_path`` (XDMF + HDF5).

    Parameters are SI (m). ``order`` is the geometric order of the cells (1 or 2). ``comm``
    is an mpi4py communicator (default COMM_WORLD); gmsh runs on rank 0 and DOLFINx
    distributes the mesh before writing. Returns ``out_path``.
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
    with gmsh_session("tube") as gmsh:
        if comm.rank == 0:
            _build_tube_model(gmsh, radius, length, cell_size, order)
        data = gmsh_to_dolfinx(gmsh, comm)
    out = write_tagged_mesh(data, Path(out_path), comm)
    log.info("wrote %s (%d cells)", out, data.mesh.topology.index_map(3).size_global)
    return out


def _build_tube_model(gmsh: object, radius: float, length: float, cell_size: float,
                      order: int) -> None:
    """Create the OpenCASCADE cylinder, its physical groups and the mesh (rank 0 only)."""
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
    if order == 2:
        gmsh.model.mesh.setOrder(2)


def main(argv: list[str] | None = None) -> int:
    """``python -m twinflow.geometry.tube --radius R --length L --cell-size H --out mesh.xdmf``."""
    parser = argparse.ArgumentParser(prog="python -m twinflow.geometry.tube",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--radius", type=float, required=True, help="m")
    parser.add_argument("--length", type=float, required=True, help="m")
    parser.add_argument("--cell-size", type=float, required=True, help="m")
    parser.add_argument("--order", type=int, default=2, choices=(1, 2))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    return run_command(lambda: mesh_tube(args.radius, args.length, args.cell_size, args.out,
                                         order=args.order), log)


if __name__ == "__main__":
    sys.exit(main())
