"""Idealised Y-bifurcation meshes (gmsh OpenCASCADE) for verifying two-outlet flow models.

Three straight circular cylinders fused into one volume: the common carotid (CCA, radius
``r_cca``, along +z from ``z = 0`` to ``z = l_cca``), and from the point ``(0, 0, l_cca)`` the
internal (ICA, radius ``r_ica``, tilted by ``+angle_ica`` in the x-z plane) and external
carotid (ECA, radius ``r_eca``, tilted by ``-angle_eca``) branches of length ``l_branch``; a
sphere of radius ``r_cca`` at the branch point rounds the junction. Default ratios follow the
generic bifurcation of Bharadvaj et al. 1982 (J Biomech 15:349): ICA ~ 0.7 D, ECA ~ 0.58 D,
ICA-ECA angle ~ 50 deg (split here 25/25 deg).

**Simplification**: this is a verification geometry (no carotid sinus, no curvature); patient
or template geometries come from :mod:`twinflow.geometry.carotid`.

Facet tags (:mod:`twinflow.geometry.tags`): INLET (CCA end), OUTLET_ICA, OUTLET_ECA, WALL;
cell tag FLUID. Output like :func:`twinflow.geometry.tube.mesh_tube` (XDMF + HDF5, written by
:func:`twinflow.geometry.mesh_io.write_tagged_mesh`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.geometry.gmsh_session import gmsh_session
from twinflow.geometry.mesh_io import gmsh_to_dolfinx, write_tagged_mesh


@dataclass(slots=True)
class YBranch:
    """Dimensions (m, rad) of the idealised bifurcation (module docstring)."""

    r_cca: float = 3.0e-3
    r_ica: float = 2.1e-3  # 0.7 x CCA (Bharadvaj et al. 1982)
    r_eca: float = 1.75e-3  # ~0.58 x CCA (Bharadvaj et al. 1982)
    l_cca: float = 15.0e-3
    l_branch: float = 15.0e-3
    angle_ica: float = math.radians(25.0)
    angle_eca: float = math.radians(25.0)

    def end(self, branch: str) -> np.ndarray:
        """Centre of the outlet disc of ``ica`` or ``eca``."""
        ang = self.angle_ica if branch == "ica" else -self.angle_eca
        return np.array([self.l_branch * math.sin(ang), 0.0,
                         self.l_cca + self.l_branch * math.cos(ang)])


def mesh_ybranch(geo: YBranch, cell_size: float, out_path: Path, order: int = 1,
                 comm: object | None = None) -> Path:
    """Mesh the Y-bifurcation ``geo`` and write ``out_path`` (XDMF + HDF5); returns it."""
    from mpi4py import MPI

    if not cell_size > 0 or cell_size > min(geo.r_ica, geo.r_eca):
        raise InputError(f"{out_path}: cell size must be > 0 and below the branch radii")
    comm = MPI.COMM_WORLD if comm is None else comm
    with gmsh_session("ybranch") as gmsh:
        if comm.rank == 0:
            _build(gmsh, geo, cell_size, order)
        data = gmsh_to_dolfinx(gmsh, comm)
    return write_tagged_mesh(data, Path(out_path), comm)


def _build(gmsh: object, geo: YBranch, cell_size: float, order: int) -> None:
    occ = gmsh.model.occ
    cca = occ.addCylinder(0, 0, 0, 0, 0, geo.l_cca, geo.r_cca)
    vols = [(3, cca), (3, occ.addSphere(0, 0, geo.l_cca, geo.r_cca))]
    for branch, radius in (("ica", geo.r_ica), ("eca", geo.r_eca)):
        d = geo.end(branch) - np.array([0, 0, geo.l_cca])
        vols.append((3, occ.addCylinder(0, 0, geo.l_cca, *d, radius)))
    fused, _ = occ.fuse(vols[:1], vols[1:])
    occ.synchronize()
    volume = fused[0][1]
    ends = {tags.INLET: np.zeros(3), tags.OUTLET_ICA: geo.end("ica"),
            tags.OUTLET_ECA: geo.end("eca")}
    groups: dict[int, list[int]] = {t: [] for t in (*ends, tags.WALL)}
    for _, surface in gmsh.model.getBoundary(fused, oriented=False):
        com = np.array(occ.getCenterOfMass(2, surface))
        hit = [t for t, c in ends.items() if np.linalg.norm(com - c) < 1e-6 * geo.l_cca]
        groups[hit[0] if hit else tags.WALL].append(surface)
    if any(not groups[t] for t in ends):
        raise InputError("ybranch: an opening of the fused geometry was not found")
    gmsh.model.addPhysicalGroup(3, [volume], tags.FLUID, name="fluid")
    for name, tag in tags.LUMEN_FACET_TAGS.items():
        gmsh.model.addPhysicalGroup(2, groups[tag], tag, name=name)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMin", cell_size)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", cell_size)
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.model.mesh.generate(3)
    if order == 2:
        gmsh.model.mesh.setOrder(2)
