"""``twinflow cohort generate``: member cases that validate, images with the sampled truth,
unchanged bytes (and modification times) when generated again, stale members removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import project_copy, run_cli
from twinflow.case.load import load_case


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file()}


def test_generate_members_and_regenerate_in_place(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    spec = project / "cohorts" / "hypertensive-lvh.yaml"
    proc = run_cli("cohort", "generate", str(spec), "--n", "2", "--seed", "5", cwd=project)
    assert proc.returncode == 0, proc.stderr
    folder = project / "cohorts" / "hypertensive-lvh"
    manifest = json.loads((folder / "cohort.json").read_text())
    assert [m["id"] for m in manifest["members"]] == ["hypertensive-lvh-001",
                                                     "hypertensive-lvh-002"]
    assert manifest["arms"] == ["baseline", "sacubitril-valsartan", "enalapril"]
    for m in manifest["members"]:
        case = load_case(folder / m["case"], root=project).root
        v = m["variables"]
        assert case.measurements.blood_pressure.systolic / 133.322387415 \
            == pytest.approx(v["systolic_pressure"])
        assert case.measurements.heart_rate * 60 == pytest.approx(v["heart_rate"])
        assert case.mesh.cell_size == pytest.approx(0.020)  # the spec's settings over the template
        assert [s.id for s in case.scenarios] == manifest["arms"]
        assert len(case.images) == 4 and case.geometry.source == "images"
        # the synthetic LV has the sampled volume, EF and wall thickness
        assert abs(m["truth"]["edv_ml"] - v["end_diastolic_volume"]) < 1e-6
        assert abs(m["truth"]["ejection_fraction"] - v["ejection_fraction"]) < 1e-9
        assert abs(m["truth"]["wall_thickness_mm"] - v["wall_thickness"]) < 1e-9
        # no identifier of the generator's scratch folders in the case
        assert ".hypertensive" not in (folder / m["case"]).read_text()

    before = _mtimes(folder)
    assert run_cli("cohort", "generate", str(spec), "--n", "2", "--seed", "5",
                   cwd=project).returncode == 0
    assert _mtimes(folder) == before  # same bytes: nothing rewritten

    spec.write_text(spec.read_text().replace("dose: 10 mg ", "dose: 5 mg "))
    assert run_cli("cohort", "generate", str(spec), "--n", "1", "--seed", "5",
                   cwd=project).returncode == 0
    after = _mtimes(folder)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {"cases/hypertensive-lvh-001.yaml", "cohort.json"}, changed
    assert not (folder / "cases" / "hypertensive-lvh-002.yaml").exists()
    assert not (folder / "data" / "hypertensive-lvh-002").exists()
    assert "dose: 5 mg" in (folder / "cases" / "hypertensive-lvh-001.yaml").read_text()


def test_generate_refuses_bad_arguments(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    spec = project / "cohorts" / "hypertensive-lvh.yaml"
    proc = run_cli("cohort", "generate", str(spec), "--n", "0", cwd=project)
    assert proc.returncode == 2 and "--n must be" in proc.stderr
    assert not (project / "cohorts" / "hypertensive-lvh").exists()
