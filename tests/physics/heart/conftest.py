"""Shared fixture of the heart tests: a coarse demo LV (settings + mesh), built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def coarse_lv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(mesh.xdmf, baseline ``simulate_heart`` settings): the demo case as the exact ellipsoid
    of its measurements, meshed at 15 mm (713 tets), through the workflow's stage functions;
    the entresto arm's settings lie beside (``../entresto/simulate_heart.json``). Shared by
    the session: tests must not modify the files."""
    from twinflow.case import load_case, to_canonical
    from twinflow.geometry.lv.mesh import mesh_lv
    from twinflow.geometry.lv.reconstruct import reconstruct_lv
    from twinflow.stages import settings_path, write_stage_settings

    tmp = tmp_path_factory.mktemp("lvcoarse")
    case = to_canonical(load_case(ROOT / "cases" / "lv-demo.yaml"))
    case["mesh"]["cell_size"] = 0.015
    case["geometry"]["source"] = "measurements"  # the exact ellipsoid: no images needed
    write_stage_settings(case, tmp)
    measurements = reconstruct_lv(settings_path(tmp, "reconstruct_lv"), None, None,
                                  tmp / "geo" / "measurements.json")
    mesh = mesh_lv(settings_path(tmp, "mesh_lv", "baseline"), measurements,
                   tmp / "mesh" / "mesh.xdmf", tmp / "mesh" / "mesh.json")
    return mesh, settings_path(tmp, "simulate_heart", "baseline")
