"""LV meshes: XDMF readable by DOLFINx, BASE/ENDO/EPI tags, cavity volume of the ENDO facets.

The cavity volume is computed here independently of twinflow's own helper, from the facet
tags read back from the file: V = -int_ENDO (z - z_base) n_z ds (the base closure adds
nothing because z - z_base vanishes there).
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import json
from pathlib import Path

import dolfinx_solver  # noqa: F401
import dolfinx
import numpy as np
import pytest
import ufl
from lv_synth_cases import measurements_case, write_case
from mpi4py import MPI

from twinflow.artifacts.mesh import LVMeshInfo
from twinflow.geometry import tags
from twinflow.geometry.lv.ellipsoid import EllipsoidLV
from twinflow.geometry.lv.surfaces import read_surfaces
from twinflow.geometry.mesh_io import read_msh, read_tagged_mesh


def _read_and_check(xdmf: Path, z_base: float) -> tuple[float, float, int]:
    tagged = read_tagged_mesh(xdmf, MPI.COMM_WORLD, cell_tags=True)
    mesh, facets, cells = tagged.mesh, tagged.facet_tags, tagged.cell_tags
    assert set(np.unique(facets.values)) == {tags.BASE, tags.ENDO, tags.EPI}
    assert set(np.unique(cells.values)) == {tags.MYOCARDIUM}
    # every boundary facet is tagged, and only boundary facets are
    boundary = dolfinx.mesh.exterior_facet_indices(mesh.topology)
    assert np.array_equal(np.sort(facets.indices), np.sort(boundary))
    x = ufl.SpatialCoordinate(mesh)
    n = ufl.FacetNormal(mesh)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facets)
    cavity = dolfinx.fem.assemble_scalar(dolfinx.fem.form(-(x[2] - z_base) * n[2]
                                                          * ds(tags.ENDO)))
    base_z = dolfinx.fem.assemble_scalar(dolfinx.fem.form(abs(x[2] - z_base) * ds(tags.BASE)))
    assert base_z < 1e-9          # BASE facets lie in the base plane
    one = dolfinx.fem.Constant(mesh, 1.0)
    wall = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ufl.dx(domain=mesh)))
    return float(cavity), float(wall), mesh.topology.index_map(3).size_global


@pytest.mark.parametrize("source", ["images", "volume"])
def test_reconstructed_mesh_reads_in_dolfinx(tmp_path: Path, source: str) -> None:
    case = write_case(tmp_path, 1, 7, source, cell_size=6e-3)
    meas = case.reconstruct(tmp_path / "geo")
    xdmf = case.mesh(tmp_path / "geo", tmp_path / "mesh")
    assert xdmf == tmp_path / "mesh" / "mesh.xdmf" and xdmf.with_suffix(".h5").is_file()
    cavity, wall, n_cells = _read_and_check(xdmf, 0.0)
    surfaces = read_surfaces(tmp_path / "geo")
    assert cavity == pytest.approx(surfaces.cavity_volume, rel=0.02)
    assert wall == pytest.approx(surfaces.wall_volume, rel=0.03)
    info = LVMeshInfo.read(tmp_path / "mesh" / "mesh.json")
    assert info.cells == n_cells and info.z_base_m == 0.0
    assert info.cavity_volume_mesh_m3 == pytest.approx(cavity, rel=1e-9)
    # quality measured on mesh.msh: the same cells and volume as the XDMF mesh
    assert info.quality.cells == n_cells and info.quality.inverted_cells == 0
    assert info.quality.mesh_volume_m3 == pytest.approx(wall, rel=1e-9)
    m = json.loads(meas.read_text())
    assert cavity == pytest.approx(case.truth["edv_m3"], rel=0.05)
    assert m["end_diastolic_volume_m3"] == pytest.approx(case.truth["edv_m3"], rel=0.05)
    # the gmsh file carries the same tags (mesh_io.read_msh reads it)
    data = read_msh(tmp_path / "mesh" / "mesh.msh", MPI.COMM_WORLD)
    assert set(np.unique(data.facet_tags.values)) == {tags.BASE, tags.ENDO, tags.EPI}


def test_measurements_mesh_is_the_ellipsoid(tmp_path: Path) -> None:
    meas = {"endo_short_radius": 0.025, "endo_long_radius": 0.055, "epi_short_radius": 0.036,
            "epi_long_radius": 0.063, "base_height": 0.01}
    case = measurements_case(tmp_path, meas, cell_size=0.006)
    case.reconstruct(tmp_path / "geo")
    xdmf = case.mesh(tmp_path / "geo", tmp_path / "mesh")
    cavity, _, _ = _read_and_check(xdmf, 0.01)
    exact = EllipsoidLV(0.025, 0.055, 0.036, 0.063, 0.01).cavity_volume()
    assert cavity == pytest.approx(exact, rel=0.02)


@pytest.mark.slow
@pytest.mark.mpi
def test_mesh_cli_under_mpirun(tmp_path: Path) -> None:
    """gmsh on rank 0, DOLFINx distributes and writes collectively (2 ranks)."""
    import subprocess
    import sys

    case = write_case(tmp_path, 2, 7, "images")
    case.reconstruct(tmp_path / "geo")
    mpirun = Path(sys.executable).parent / "mpirun"
    proc = subprocess.run([str(mpirun), "-n", "2", sys.executable, "-m", "twinflow", "mesh-lv",
                           "--settings", str(case.settings("mesh_lv")), "--measurements",
                           str(tmp_path / "geo" / "measurements.json"), "--drug-effects",
                           str(case.effects()), "--mesh",
                           str(tmp_path / "mesh" / "mesh.xdmf"), "--info",
                           str(tmp_path / "mesh" / "mesh.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = LVMeshInfo.read(tmp_path / "mesh" / "mesh.json")
    assert abs(info.cavity_volume_relative_difference) < 0.02
    cavity, _, n_cells = _read_and_check(tmp_path / "mesh" / "mesh.xdmf", 0.0)
    assert n_cells == info.cells == info.quality.cells
    assert cavity == pytest.approx(info.cavity_volume_mesh_m3, rel=1e-9)
