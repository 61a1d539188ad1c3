r"""Truncated prolate ellipsoid left ventricle, meshed with gmsh.

The wall is the region between two ellipsoids of revolution about the ``z`` axis,

.. math::
    \frac{x^2 + y^2}{r_{s}^2} + \frac{z^2}{r_{l}^2} = 1,

with short/long radii ``(r_short_endo, r_long_endo)`` inside and
``(r_short_epi, r_long_epi)`` outside, cut by the basal plane ``z = z_base`` (apex at
``-z``). Land et al. 2015 (Proc R Soc A 471:20150641, problem 2) use endo radii 7/17 mm,
epi radii 10/20 mm and ``z_base = 5`` mm; :data:`LAND2015` holds those numbers.

Built with the OpenCASCADE kernel: two unit spheres dilated to the ellipsoids, their
difference intersected with a half-space box. The poles of the OCC spheres are model
vertices, so the endo and epi apex points are mesh vertices (tagged ``ENDOPT``/``EPIPT``).
Tags: the LV tags of :mod:`twinflow.geometry.tags`. Units: whatever length unit the radii are
given in (twinflow passes metres; the Land benchmark passes millimetres). gmsh runs in a
:func:`~twinflow.geometry.gmsh_session.gmsh_session`; files are written and read by
:mod:`twinflow.geometry.mesh_io`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.geometry.gmsh_session import gmsh_session, load_gmsh
from twinflow.geometry.mesh_io import gmsh_to_dolfinx, write_msh


@dataclass(frozen=True, slots=True)
class EllipsoidLV:
    """Dimensions of a truncated ellipsoidal LV (one consistent length unit)."""

    r_short_endo: float
    r_long_endo: float
    r_short_epi: float
    r_long_epi: float
    z_base: float

    def validate(self) -> None:
        if not (0 < self.r_short_endo < self.r_short_epi
                and 0 < self.r_long_endo < self.r_long_epi):
            raise InputError("lv_ellipsoid: need 0 < endo radii < epi radii")
        if not (-self.r_long_endo < self.z_base < self.r_long_endo):
            raise InputError("lv_ellipsoid: z_base must cut the endocardium "
                             "(|z_base| < r_long_endo)")

    def cavity_volume(self) -> float:
        r"""Exact cavity volume :math:`\pi r_s^2 \int_{-r_l}^{z_b} (1 - z^2/r_l^2)\,dz`."""
        rs, rl, zb = self.r_short_endo, self.r_long_endo, self.z_base
        return float(np.pi * rs**2 * ((zb + rl) - (zb**3 + rl**3) / (3 * rl**2)))


#: Land et al. 2015, problem 2/3 geometry (mm).
LAND2015 = EllipsoidLV(r_short_endo=7.0, r_long_endo=17.0, r_short_epi=10.0,
                       r_long_epi=20.0, z_base=5.0)


def _on_ellipsoid(p: np.ndarray, rs: float, rl: float) -> float:
    return abs((p[0] ** 2 + p[1] ** 2) / rs**2 + p[2] ** 2 / rl**2 - 1.0)


def build_lv_ellipsoid_model(geo: EllipsoidLV, cell_size: float, order: int = 1,
                             apex_cell_size: float | None = None) -> None:
    """Create the LV in the current gmsh model and mesh it (gmsh must be initialised).

    ``apex_cell_size`` grades the mesh towards the apex (size ``apex_cell_size`` at the apex
    points, ``cell_size`` from ``r_long_endo / 2`` away): the fibre field of Land et al. 2015
    problem 3 is singular there, and the benchmark's own meshes use half the base size at the
    apex (1.5 vs 3 mm).
    """
    geo.validate()
    gmsh = load_gmsh()
    occ = gmsh.model.occ
    gmsh.model.add("lv_ellipsoid")
    outer = occ.addSphere(0, 0, 0, 1.0)
    occ.dilate([(3, outer)], 0, 0, 0, geo.r_short_epi, geo.r_short_epi, geo.r_long_epi)
    inner = occ.addSphere(0, 0, 0, 1.0)
    occ.dilate([(3, inner)], 0, 0, 0, geo.r_short_endo, geo.r_short_endo, geo.r_long_endo)
    wall, _ = occ.cut([(3, outer)], [(3, inner)])
    pad = 2.0 * geo.r_short_epi
    zlow = -geo.r_long_epi - 1.0
    box = occ.addBox(-pad, -pad, zlow, 2 * pad, 2 * pad, geo.z_base - zlow)
    vol, _ = occ.intersect(wall, [(3, box)])
    occ.synchronize()
    if len(vol) != 1:
        raise InputError(f"lv_ellipsoid: expected one wall volume, got {len(vol)}")
    vtag = vol[0][1]
    faces: dict[int, list[int]] = {tags.BASE: [], tags.ENDO: [], tags.EPI: []}
    for dim, s in gmsh.model.getBoundary(vol, oriented=False):
        com = np.array(occ.getCenterOfMass(dim, s))
        bb = gmsh.model.getBoundingBox(dim, s)
        if abs(com[2] - geo.z_base) < 1e-6 * pad and (bb[5] - bb[2]) < 1e-3 * pad:
            faces[tags.BASE].append(s)
            continue
        # a point on the surface: the parametric centre
        lo, hi = gmsh.model.getParametrizationBounds(dim, s)
        p = np.array(gmsh.model.getValue(dim, s, 0.5 * (np.array(lo) + np.array(hi))))
        d_endo = _on_ellipsoid(p, geo.r_short_endo, geo.r_long_endo)
        d_epi = _on_ellipsoid(p, geo.r_short_epi, geo.r_long_epi)
        faces[tags.ENDO if d_endo < d_epi else tags.EPI].append(s)
    for name, (tag, dim) in tags.LV_PHYSICAL_GROUPS.items():
        if dim == 2:
            if not faces[tag]:
                raise InputError(f"lv_ellipsoid: no {name} surface found")
            gmsh.model.addPhysicalGroup(2, faces[tag], tag, name=name)
    gmsh.model.addPhysicalGroup(3, [vtag], tags.MYOCARDIUM, name="MYOCARDIUM")
    apex_points: list[int] = []
    for name, z in (("ENDOPT", -geo.r_long_endo), ("EPIPT", -geo.r_long_epi)):
        pts = [t for _, t in gmsh.model.getEntities(0)
               if np.allclose(gmsh.model.getValue(0, t, []), [0.0, 0.0, z], atol=1e-6 * pad)]
        if pts:
            gmsh.model.addPhysicalGroup(0, pts[:1], tags.LV_PHYSICAL_GROUPS[name][0], name=name)
        apex_points += pts
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", cell_size)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.25 * cell_size)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 12)
    gmsh.option.setNumber("Mesh.Optimize", 1)
    if apex_cell_size is not None and apex_cell_size < cell_size:
        field = gmsh.model.mesh.field
        dist = field.add("Distance")
        field.setNumbers(dist, "PointsList", apex_points)
        thr = field.add("Threshold")
        field.setNumber(thr, "InField", dist)
        field.setNumber(thr, "SizeMin", apex_cell_size)
        field.setNumber(thr, "SizeMax", cell_size)
        field.setNumber(thr, "DistMin", 0.0)
        field.setNumber(thr, "DistMax", 0.5 * geo.r_long_endo)
        field.setAsBackgroundMesh(thr)
        gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.25 * apex_cell_size)
    gmsh.model.mesh.generate(3)
    if order > 1:
        gmsh.model.mesh.setOrder(order)
        gmsh.model.mesh.optimize("HighOrder")


def mesh_lv_ellipsoid(r_short_endo: float, r_long_endo: float, r_short_epi: float,
                      r_long_epi: float, z_base: float, cell_size: float,
                      out_path: str | os.PathLike[str], order: int = 1) -> Path:
    """Mesh a truncated ellipsoid LV from measured radii and write it as gmsh ``.msh``.

    For the personalised LV: radii and the basal plane come from the reconstruction
    (e.g. endo radii from the cavity, epi radii = endo radii + wall thickness). Returns
    ``out_path``; read it with :func:`twinflow.geometry.mesh_io.read_msh`.
    """
    geo = EllipsoidLV(r_short_endo, r_long_endo, r_short_epi, r_long_epi, z_base)
    out = Path(out_path)
    if out.suffix != ".msh":
        raise InputError(f"{out}: LV mesh must be written as .msh")
    with gmsh_session() as gmsh:
        build_lv_ellipsoid_model(geo, cell_size, order=order)
        return write_msh(gmsh, out)


def create_lv_mesh(comm: Any, geo: EllipsoidLV, cell_size: float, order: int = 1,
                   apex_cell_size: float | None = None) -> Any:
    """Mesh in memory on rank 0 and distribute: returns ``dolfinx.io.gmsh.MeshData``."""
    with gmsh_session() as gmsh:
        if comm.rank == 0:
            build_lv_ellipsoid_model(geo, cell_size, order=order, apex_cell_size=apex_cell_size)
        return gmsh_to_dolfinx(gmsh, comm)
