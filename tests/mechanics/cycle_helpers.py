"""Shared helper of the cardiac-cycle tests: a coarse demo LV (case.json + mesh)."""

from __future__ import annotations

import json
from pathlib import Path


def coarse_case(tmp: Path) -> tuple[Path, Path]:
    from twinflow.geometry.lv.mesh import mesh_lv
    from twinflow.geometry.lv.reconstruct import reconstruct_lv

    root = Path(__file__).resolve().parents[2]
    from twinflow.case.load import write_canonical

    case = tmp / "case.json"
    write_canonical(root / "cases" / "lv-demo.yaml", case)
    d = json.loads(case.read_text())
    d["mesh"]["cell_size"] = 0.015
    d["geometry"]["source"] = "measurements"  # the exact ellipsoid: no images needed
    case.write_text(json.dumps(d))
    reconstruct_lv(case, tmp / "masks", tmp / "images", tmp / "geo")
    mesh_lv(tmp / "geo", case, tmp / "mesh")
    return tmp / "mesh" / "mesh.xdmf", case


