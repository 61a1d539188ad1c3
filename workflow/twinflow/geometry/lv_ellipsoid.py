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
Tags: :mod:`twinflow.geometry.lv_tags`. Units: whatever length unit the radii are given in
(twinflow passes metres; the Land benchmark passes millimetres).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinflow.errors import InputError
from twinflow.geometry import lv_tags
from twinflow.geometry.gmsh_loader import load_gmsh
from twinflow.io import atomic_path

gmsh = load_gmsh()


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
    tags: dict[int, list[int]] = {lv_tags.BASE: [], lv_tags.ENDO: [], lv_tags.EPI: []}
    for dim, s in gmsh.model.getBoundary(vol, oriented=False):
        com = np.array(occ.getCenterOfMass(dim, s))
        bb = gmsh.model.getBoundingBox(dim, s)
        if abs(com[2] - geo.z_base) < 1e-6 * pad and (bb[5] - bb[2]) < 1e-3 * pad:
            tags[lv_tags.BASE].append(s)
            continue
        # a point on the surface: the parametric centre
        lo, hi = gmsh.model.getParametrizationBounds(dim, s)
        p = np.array(gmsh.model.getValue(dim, s, 0.5 * (np.array(lo) + np.array(hi))))
        d_endo = _on_ellipsoid(p, geo.r_short_endo, geo.r_long_endo)
        d_epi = _on_ellipsoid(p, geo.r_short_epi, geo.r_long_epi)
        tags[lv_tags.ENDO if d_endo < d_epi else lv_tags.EPI].append(s)
    for name, (tag, dim) in lv_tags.PHYSICAL_GROUPS.items():
        if dim == 2:
            if not tags[tag]:
                raise InputError(f"lv_ellipsoid: no {name} surface found")
            gmsh.model.addPhysicalGroup(2, tags[tag], tag, name=name)
    gmsh.model.addPhysicalGroup(3, [vtag], lv_tags.MYOCARDIUM, name="MYOCARDIUM")
    apex_points: list[int] = []
    for name, z in (("ENDOPT", -geo.r_long_endo), ("EPIPT", -geo.r_long_epi)):
        pts = [t for _, t in gmsh.model.getEntities(0)
               if np.allclose(gmsh.model.getValue(0, t, []), [0.0, 0.0, z], atol=1e-6 * pad)]
        if pts:
            gmsh.model.addPhysicalGroup(0, pts[:1], lv_tags.PHYSICAL_GROUPS[name][0], name=name)
        apex_points += pts
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", cell_size)
    gmsh.option.setNumber("Mesh.CharacteristicLengthMin", 0.25 * cell_size)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 12)
    gmsh.option.setNumber("Mesh.Optimize", 1)
    gmsh.option.setNumber("General.NumThreads", 1)
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
    ``out_path``; read it with :func:`read_lv_mesh`.
    """
    geo = EllipsoidLV(r_short_endo, r_long_endo, r_short_epi, r_long_epi, z_base)
    out = Path(out_path)
    if out.suffix != ".msh":
        raise InputError(f"{out}: LV mesh must be written as .msh")
    gmsh.initialize(["-noenv"], readConfigFiles=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        build_lv_ellipsoid_model(geo, cell_size, order=order)
        with atomic_path(out) as tmp:
            gmsh.write(str(tmp))
    finally:
        gmsh.finalize()
    return out


def create_lv_mesh(comm, geo: EllipsoidLV, cell_size: float, order: int = 1,
                   apex_cell_size: float | None = None):
    """Mesh in memory on rank 0 and distribute: returns ``dolfinx.io.gmsh.MeshData``."""
    import dolfinx_solver  # noqa: F401  (must precede dolfinx)
    from dolfinx.io import gmsh as dgmsh

    if not gmsh.isInitialized():
        gmsh.initialize(["-noenv"], readConfigFiles=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        if comm.rank == 0:
            build_lv_ellipsoid_model(geo, cell_size, order=order, apex_cell_size=apex_cell_size)
        return dgmsh.model_to_mesh(gmsh.model, comm, 0, gdim=3)
    finally:
        gmsh.finalize()


def read_lv_mesh(comm, path: str | os.PathLike[str]):
    """Read a mesh written by :func:`mesh_lv_ellipsoid` (``MeshData`` with facet tags)."""
    import dolfinx_solver  # noqa: F401
    from dolfinx.io import gmsh as dgmsh

    if not Path(path).is_file():
        raise InputError(f"{path}: LV mesh not found")
    return dgmsh.read_from_msh(str(path), comm, 0, gdim=3)
