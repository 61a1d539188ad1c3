"""The stage contract (twinflow.stages): settings slices change exactly when a value their
stage reads changes, and each stage's code is the import closure of its module."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import ROOT
from twinflow.case import load_case, to_canonical
from twinflow.errors import InputError
from twinflow.stages import (
    STAGES,
    case_stages,
    code_files,
    read_stage_settings,
    settings_path,
    write_stage_settings,
)


def _write(tmp_path: Path, name: str, text: str) -> dict:
    case = tmp_path / name
    case.write_text(text)
    return to_canonical(load_case(case, check_paths=False))


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*.json"))}


LV = """anatomy: left-ventricle
mesh: {cell_size: 12 mm}
scenarios:
  - id: baseline
  - {id: entresto, drug: sacubitril-valsartan, dose: 97 mg + 103 mg, frequency: 2 /day,
     duration: 8 month}
"""


def _changed(tmp_path: Path, before: str, after: str) -> set[str]:
    """Settings files rewritten when the case text changes from ``before`` to ``after``."""
    out = tmp_path / "results"
    write_stage_settings(_write(tmp_path, "a.yaml", before), out)
    old = _snapshot(out)
    written = write_stage_settings(_write(tmp_path, "a.yaml", after), out)
    new = _snapshot(out)
    changed = {k for k in new if new[k] != old.get(k)}
    assert changed == {p.relative_to(out).as_posix() for p in written}
    return changed


def test_reformatting_rewrites_no_settings_file(tmp_path: Path) -> None:
    reformatted = """# same values, other spelling and order
scenarios:
  - {id: baseline}
  - id: entresto
    duration: 8 month
    frequency: 2 / day
    dose: 200 mg
    drug: sacubitril-valsartan
mesh:
  cell_size: 1.2 cm
anatomy: left-ventricle
"""
    assert _changed(tmp_path, LV, reformatted) == set()


def test_mesh_size_rewrites_only_the_meshing_settings(tmp_path: Path) -> None:
    assert _changed(tmp_path, LV, LV.replace("12 mm", "10 mm")) == {
        "settings/baseline/mesh_lv.json", "settings/entresto/mesh_lv.json"}


def test_a_measurement_rewrites_the_calibration_and_the_arms(tmp_path: Path) -> None:
    measured = LV + "measurements:\n  blood_pressure: {systolic: 130 mmHg, diastolic: 80 mmHg}\n"
    assert _changed(tmp_path, measured, measured + "  end_diastolic_pressure: 10 mmHg\n") == {
        "settings/personalise_lv.json", "settings/baseline/simulate_heart.json",
        "settings/entresto/simulate_heart.json"}


def test_one_arm_dose_rewrites_only_that_arm(tmp_path: Path) -> None:
    assert _changed(tmp_path, LV, LV.replace("97 mg + 103 mg", "49 mg + 51 mg")) == {
        "settings/entresto/drug_effects.json", "settings/report.json",
        "settings/compare_arms.json"}


def test_the_graph_of_each_kind_of_case() -> None:
    stages = {name: case_stages(to_canonical(load_case(ROOT / "cases" / name)))
              for name in ("lv-demo.yaml", "carotid-demo.yaml", "minimal.yaml",
                           "verification/poiseuille.yaml",
                           "verification/land2015-problem1.yaml")}
    assert stages["lv-demo.yaml"] == ["ingest", "segment", "reconstruct_lv", "drug_effects",
                                      "mesh_lv", "personalise_lv", "simulate_heart",
                                      "compare_arms", "report", "provenance"]
    assert stages["carotid-demo.yaml"] == ["ingest", "segment", "reconstruct_carotid",
                                           "mesh_carotid", "simulate_flow", "report",
                                           "provenance"]
    assert stages["minimal.yaml"] == ["reconstruct_lv", "drug_effects", "mesh_lv",
                                      "simulate_heart", "report", "provenance"]
    assert stages["verification/poiseuille.yaml"] == ["mesh_tube", "simulate_flow", "report",
                                                      "provenance"]
    assert stages["verification/land2015-problem1.yaml"] == ["land2015", "provenance"]


def test_settings_are_validated_and_hold_only_the_slice(tmp_path: Path) -> None:
    case = _write(tmp_path, "a.yaml", LV)
    write_stage_settings(case, tmp_path / "r")
    assert set(read_stage_settings(settings_path(tmp_path / "r", "drug_effects", "entresto"),
                                   "drug_effects")) == {"anatomy", "scenario"}
    path = settings_path(tmp_path / "r", "mesh_lv", "entresto")
    data = read_stage_settings(path, "mesh_lv")
    assert set(data) == {"anatomy", "mesh"} and data["mesh"]["cell_size"] == 0.012
    data["physics"] = case["physics"]  # a key outside the stage's slice
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="mesh_lv.json: physics: Extra inputs"):
        read_stage_settings(path, "mesh_lv")
    del data["physics"]
    data["mesh"]["element_degree"] = 7
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="mesh.element_degree"):
        read_stage_settings(path, "mesh_lv")


def _relative(files: tuple[str, ...]) -> set[str]:
    base = ROOT / "workflow" / "twinflow"
    return {Path(f).relative_to(base).as_posix() for f in files}


def test_code_of_a_stage_is_the_import_closure_of_its_module() -> None:
    mesh = _relative(code_files(STAGES["mesh_lv"].module))
    assert "geometry/lv/mesh.py" in mesh and "io.py" in mesh and "__init__.py" in mesh
    assert not any(f.startswith(("physics/", "segmentation/", "report/")) for f in mesh)
    report = _relative(code_files(STAGES["report"].module))
    assert "geometry/lv/mesh.py" not in report
    for stage in STAGES.values():  # every stage's module exists
        files = _relative(code_files(stage.module))
        module_file = stage.module.removeprefix("twinflow.").replace(".", "/")
        assert f"{module_file}.py" in files or f"{module_file}/__init__.py" in files, stage


def test_every_stage_function_exists_under_its_name() -> None:
    """rule name = sub-command = function (imports the stage modules: DOLFINx included)."""
    import importlib

    from twinflow.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    for stage in STAGES.values():
        assert callable(getattr(importlib.import_module(stage.module), stage.name)), stage
        assert stage.command in commands, stage
    rules = "".join(p.read_text() for p in (ROOT / "rules").glob("*.smk"))
    for stage in STAGES.values():
        assert f"rule {stage.name}:" in rules
        assert (f"{{TWINFLOW}} {stage.command}" in rules  # provenance: not recorded itself
                or f"{{TWINFLOW}} {{params.record}} {stage.command}" in rules), stage


def test_unchanged_settings_keep_their_modification_time(tmp_path: Path) -> None:
    case = _write(tmp_path, "a.yaml", LV)
    write_stage_settings(case, tmp_path / "r")
    path = settings_path(tmp_path / "r", "report")
    os.utime(path, ns=(1, 1))
    assert write_stage_settings(case, tmp_path / "r") == []
    assert path.stat().st_mtime_ns == 1
