"""The case report reads the typed artifacts the stages really write: here the outputs of
short real runs of the LV cycle and of the flow solver, so a producer that renames a field
fails this test instead of leaving an empty cell ("—") in report.html."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, drug_effects_of, run_navier_stokes
from twinflow.case import load_case, to_canonical
from twinflow.report.case_report import (
    CAROTID_GEOMETRY_ROWS,
    FLOW_RESULT_ROWS,
    LV_GEOMETRY_ROWS,
    LV_RESULT_ROWS,
    display,
    report,
)
from twinflow.stages import settings_path, write_stage_settings

pytestmark = pytest.mark.slow


def _row(text: str, label: str) -> str:
    cell = f"<td>{html.escape(label)}</td>"
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", text) if cell in r]
    assert len(rows) == 1, label
    return rows[0]


def _assert_numbers(text: str, rows: list, artifacts: list) -> None:
    """Every headline row whose value the producer wrote shows a number, not '—'."""
    for label, get, _unit in rows:
        cells = re.findall(r"<td>(.*?)</td>", _row(text, label))[1:-1]
        for artifact, cell in zip(artifacts, cells, strict=True):
            if get(artifact) is not None:
                assert cell != "—" and re.search(r"\d", cell), (label, cell)


def test_display_units() -> None:
    assert display(1.6e-4, "mL") == "160"
    assert display(0.534, "%") == "53.4"
    assert display(16000.0, "mmHg") == "120"
    assert display(None, "mL") == "—"
    assert display(4, "") == "4"


def test_lv_report_shows_every_headline_number_of_both_arms(coarse_lv, tmp_path: Path) -> None:
    from twinflow.artifacts.cycle import CycleSummary
    from twinflow.artifacts.geometry import LVMeasurements
    from twinflow.physics.heart.cycle import run_cycle
    from twinflow.physics.heart.settings import CycleSettings, read_case

    mesh, baseline = coarse_lv
    work = baseline.parents[2]  # the fixture's case folder: settings/, geo/, mesh/
    summaries = []
    for arm in ("baseline", "entresto"):
        settings = settings_path(work, "simulate_heart", arm)
        st = CycleSettings.from_case(read_case(settings), 0.01, 1, max_steps=30,
                                     output_every=0)
        out = tmp_path / "lv" / arm
        summaries.append(run_cycle(mesh, settings, drug_effects_of(settings), out, st))
    # the arm comparison from the same outputs (the fixture meshes the baseline only: both
    # arms share its mesh here, so the LV mass does not change)
    from twinflow.artifacts.comparison import ArmComparison
    from twinflow.report.compare import compare_arms

    effects = [drug_effects_of(settings_path(work, "simulate_heart", a))
               for a in ("baseline", "entresto")]
    comparison = compare_arms(settings_path(work, "compare_arms"), summaries, effects,
                              [work / "mesh" / "mesh.json"] * 2,
                              tmp_path / "lv" / "comparison" / "comparison.json")
    arms = ArmComparison.read(comparison)
    assert [a.scenario for a in arms.arms] == ["entresto"] and arms.baseline == "baseline"
    values = {v.quantity: v for v in arms.arms[0].values}
    cycles = [CycleSummary.read(p) for p in summaries]
    assert values["ejection_fraction"].value == pytest.approx(
        100 * cycles[1].ejection_fraction)
    assert values["systolic_pressure"].trial_direction == "down"
    assert values["lv_mass"].change == 0 and values["lv_mass"].value > 50
    assert (comparison.parent / "pv_loops.png").stat().st_size > 1000
    assert "| Ejection fraction (%) |" in (comparison.parent / "comparison.md").read_text()
    out = report(settings_path(work, "report"), tmp_path / "lv" / "report.html",
                 measurements=work / "geo" / "measurements.json", summaries=summaries,
                 comparison=comparison)
    text = out.read_text()
    assert "Drug arms against the baseline" in text and "PARAMOUNT" in text
    _assert_numbers(text, LV_RESULT_ROWS, cycles)
    _assert_numbers(text, LV_GEOMETRY_ROWS, [LVMeasurements.read(work / "geo" /
                                                                 "measurements.json")])
    assert f"{100 * cycles[0].ejection_fraction:.3g}" in _row(text, "Ejection fraction")
    assert "Pressure–volume loops" in text and "data:image/png;base64," in text
    for simplification in cycles[1].simplifications:  # the drug arm's are repeated
        assert simplification.split("(")[0][:60] in text.replace("&#x27;", "'")


def test_carotid_report_shows_every_headline_number(tmp_path: Path) -> None:
    """A Y-branch (CCA -> ICA/ECA tags) run of the flow solver, a few steps."""
    from twinflow.artifacts.flow import FlowSummary
    from twinflow.artifacts.geometry import CarotidMeasurements
    from twinflow.geometry.ybranch import YBranch, mesh_ybranch

    mesh = mesh_ybranch(YBranch(), 1.5e-3, tmp_path / "y.xdmf")
    solver = {"time_step": 0.01, "period": 0.92, "cycles": 1, "max_steps": 4, "render": False,
              "inflow": {"type": "holdsworth1999"},
              "outlets": {"2": {"model": "pressure", "value": 0.0},
                          "3": {"model": "flow_split", "fraction": 0.4}}}
    run_navier_stokes(mesh, solver, tmp_path / "run")
    measurements = _carotid_measurements(tmp_path)
    case = to_canonical(load_case(ROOT / "cases" / "carotid-demo.yaml", root=ROOT))
    write_stage_settings(case, tmp_path / "carotid")
    folder = tmp_path / "carotid" / "baseline"
    shutil.copytree(tmp_path / "run" / "result", folder)
    out = report(settings_path(tmp_path / "carotid", "report"),
                 tmp_path / "carotid" / "report.html",
                 measurements=measurements,
                 summaries=[folder / "summary.json"])
    text = out.read_text()
    _assert_numbers(text, FLOW_RESULT_ROWS, [FlowSummary.read(folder / "summary.json")])
    assert "—" not in "".join(_row(text, label) for label, _, _ in FLOW_RESULT_ROWS)
    _assert_numbers(text, CAROTID_GEOMETRY_ROWS, [CarotidMeasurements.read(measurements)])


def _carotid_measurements(tmp_path: Path) -> Path:
    """Reconstruction of one synthetic patient from its ground-truth masks."""
    from twinflow.geometry.carotid.model import Template
    from twinflow.geometry.carotid.reconstruct import VIEWS, reconstruct_from_masks
    from twinflow.imaging.synth.dataset import write_dataset

    patient = write_dataset("carotid", 3, 0, tmp_path / "synth").parent / "carotid-000"
    return reconstruct_from_masks([(v, patient / f"{v}.mask.nii.gz") for v in VIEWS],
                                  Template(), tmp_path / "geometry")
