"""Shared fixture of the heart tests: a coarse demo LV (case.json + mesh), built once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def coarse_lv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(mesh.xdmf, case.json): the demo case as the exact ellipsoid of its measurements,
    meshed at 15 mm (713 tets). Shared by the session: tests must not modify the files."""
    from twinflow.case.load import write_canonical
    from twinflow.geometry.lv.mesh import mesh_lv
    from twinflow.geometry.lv.reconstruct import reconstruct_lv

    tmp = tmp_path_factory.mktemp("lvcoarse")
    case = tmp / "case.json"
    write_canonical(ROOT / "cases" / "lv-demo.yaml", case)
    d = json.loads(case.read_text())
    d["mesh"]["cell_size"] = 0.015
    d["geometry"]["source"] = "measurements"  # the exact ellipsoid: no images needed
    case.write_text(json.dumps(d))
    reconstruct_lv(case, tmp / "masks", tmp / "images", tmp / "geo")
    mesh_lv(tmp / "geo", case, tmp / "mesh")
    return tmp / "mesh" / "mesh.xdmf", case
