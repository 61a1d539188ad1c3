"""Shared geometry infrastructure: quality measures, mesh files, gmsh session, artifacts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from twinflow.artifacts.geometry import LVMeasurements
from twinflow.artifacts.mesh import MeshQuality
from twinflow.errors import InputError
from twinflow.geometry import quality, tags

#: Regular tetrahedron (edge sqrt(2)), positively oriented.
REGULAR = np.array([[1.0, 1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, -1.0, -1.0], [-1.0, -1.0, 1.0]])


def test_quality_of_regular_flat_and_inverted_tetrahedra() -> None:
    points = REGULAR
    tets = np.array([[0, 1, 2, 3], [0, 2, 1, 3]])  # regular, and the same inverted
    ang = np.rad2deg(quality.dihedral_angles(points, tets[:1]))
    assert np.allclose(ang, math.degrees(math.acos(1.0 / 3.0)))  # 70.53 deg
    vol = quality.signed_volumes(points, tets)
    assert vol[0] == pytest.approx(8.0 / 3.0) and vol[1] == pytest.approx(-8.0 / 3.0)
    q = MeshQuality(**quality.cell_quality(points, tets),
                    **quality.edge_quality(points, tets[:1]))
    assert q.cells == 2 and q.vertices == 4 and q.inverted_cells == 1
    assert q.mesh_volume_m3 == pytest.approx(0.0, abs=1e-12)
    assert q.min_edge_length_m == pytest.approx(2.0 * math.sqrt(2.0))
    ratio = quality.edge_quality(points, tets[:1], size_at=lambda x, y, z: 4.0)
    assert ratio["min_edge_to_size_ratio"] == pytest.approx(math.sqrt(2.0) / 2.0)
    # a nearly flat cell has a dihedral angle near 0 and one near 180 deg
    flat = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.3, 0.3, 1e-4]], float)
    ang = np.rad2deg(quality.dihedral_angles(flat, np.array([[0, 1, 2, 3]])))
    assert ang.min() < 0.1 and ang.max() > 179.0


def test_msh_written_in_a_session_reads_back_with_meshio_and_dolfinx(tmp_path: Path) -> None:
    from mpi4py import MPI

    from twinflow.geometry.gmsh_session import gmsh_session
    from twinflow.geometry.lv.ellipsoid import mesh_lv_ellipsoid
    from twinflow.geometry.mesh_io import read_mesh_arrays, read_msh

    path = mesh_lv_ellipsoid(0.025, 0.07, 0.035, 0.08, 0.015, 0.012, tmp_path / "lv.msh")
    with gmsh_session() as gmsh:                     # the session finalised what it opened
        assert gmsh.option.getNumber("General.Terminal") == 0
    assert not gmsh.isInitialized()
    arrays = read_mesh_arrays(path)
    assert set(arrays.facets) == {tags.BASE, tags.ENDO, tags.EPI}
    assert set(np.unique(arrays.cell_values)) == {tags.MYOCARDIUM}
    q = quality.cell_quality(arrays.points, arrays.tets)
    assert q["inverted_cells"] == 0
    data = read_msh(path, MPI.COMM_WORLD)
    assert q["cells"] == data.mesh.topology.index_map(3).size_global
    with pytest.raises(InputError, match="not found"):
        read_mesh_arrays(tmp_path / "missing.msh")


def test_artifacts_keep_key_names_and_omit_absent_values(tmp_path: Path) -> None:
    phase = {"cavity_volume_m3": 1e-4, "cavity_volume_surface_m3": 1e-4,
             "epicardial_volume_m3": 2e-4, "wall_volume_m3": 1e-4, "lv_mass_kg": 0.105,
             "wall_thickness_m": 8e-3, "endo_long_axis_m": 0.07, "epi_long_axis_m": 0.08,
             "endo_n_points": 10, "epi_n_points": 12,
             "surfaces": {"endo": "endo.vtp", "epi": "epi.vtp"}}
    data = {"source": "images", "z_base_m": 0.0, "end_diastolic_volume_m3": 1e-4,
            "cavity_volume_surface_m3": 1e-4, "wall_volume_m3": 1e-4, "lv_mass_kg": 0.105,
            "myocardial_density_kg_m3": 1050.0, "wall_thickness_m": 8e-3,
            "surfaces": {"endo": "endo.vtp", "epi": "epi.vtp"}, "references": [],
            "frame": "LV frame", "end-diastole": phase, "method": "test",
            "simplifications": []}
    path = tmp_path / "measurements.json"
    path.write_text(json.dumps(data))
    meas = LVMeasurements.read(path)
    assert meas.end_systole is None and meas.end_diastole.cavity_volume_simpson_m3 is None
    meas.write(path)
    assert json.loads(path.read_text()) == data      # no nulls, hyphenated phase keys kept
    path.write_text(json.dumps({**data, "volume": 1.0}))
    with pytest.raises(InputError, match="not a valid LVMeasurements"):
        LVMeasurements.read(path)
