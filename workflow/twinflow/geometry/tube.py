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
import math
import sys
from pathlib import Path

from twinflow.errors import InputError
from twinflow.geometry import tags


def mesh_tube(radius: float, length: float, cell_size: float, out_path: Path,
              order: int = 2, comm: object | None = None) -> Path:
    """Mesh a straight tube with gmsh and write ``out_path`` (XDMF + HDF5).

    Parameters are SI (m). ``order`` is the geometric order of the cells (1 or 2). ``comm``
    is an mpi4py communicator (default COMM_WORLD); gmsh runs on rank 0 and DOLFINx
    distributes the mesh before writing. Returns ``out_path``.
    """
    import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
    from dolfinx.io import gmsh as gmshio
    from mpi4py import MPI

    from twinflow.geometry.gmsh_loader import load_gmsh

    gmsh = load_gmsh()

    if not (radius > 0 and length > 0 and cell_size > 0):
        raise InputError(f"{out_path}: tube radius, length and cell size must be > 0 "
                         f"(got {radius}, {length}, {cell_size})")
    if order not in (1, 2):
        raise InputError(f"{out_path}: mesh order must be 1 or 2 (got {order})")
    if cell_size > radius:
        raise InputError(f"{out_path}: cell size {cell_size} m exceeds the radius {radius} m")
    comm = MPI.COMM_WORLD if comm is None else comm
    out_path = Path(out_path)

    initialised_here = not gmsh.isInitialized()
    if initialised_here:
        gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("tube")
        if comm.rank == 0:
            _build_tube_model(gmsh, radius, length, cell_size, order)
        data = gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)
    finally:
        gmsh.model.remove() if gmsh.model.list() else None
        if initialised_here:
            gmsh.finalize()

    return write_tagged_mesh(data, out_path, comm)


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
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.option.setNumber("Mesh.RandomSeed", 1)  # reproducible meshes
    gmsh.model.mesh.generate(3)
    if order == 2:
        gmsh.model.mesh.setOrder(2)


def main(argv: list[str] | None = None) -> int:
    """``python -m twinflow.geometry.tube --radius R --length L --cell-size H --out mesh.xdmf``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--radius", type=float, required=True, help="m")
    parser.add_argument("--length", type=float, required=True, help="m")
    parser.add_argument("--cell-size", type=float, required=True, help="m")
    parser.add_argument("--order", type=int, default=2, choices=(1, 2))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        mesh_tube(args.radius, args.length, args.cell_size, args.out, order=args.order)
    except InputError as err:
        print(err, file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())


def write_tagged_mesh(data: object, out_path: Path, comm: object) -> Path:
    """Write a gmshio ``MeshData`` (mesh, cell and facet tags) as XDMF + HDF5, atomically.

    The grids are named after :mod:`twinflow.geometry.tags`; both files appear under their
    final names only after a successful write (shared by tube and Y-branch meshes).
    """
    from dolfinx.io import XDMFFile

    mesh, cell_tags, facet_tags = data.mesh, data.cell_tags, data.facet_tags
    mesh.name = tags.MESH_NAME
    cell_tags.name = tags.CELL_TAGS_NAME
    facet_tags.name = tags.FACET_TAGS_NAME
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # XDMF + HDF5 is a pair of files; write both under the final names only after success.
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
        out_path.write_text(text)
        tmp.unlink()
    comm.barrier()
    return out_path
