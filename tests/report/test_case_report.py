"""The HTML report gathers stage outputs; these are small hand-made outputs, not physics."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import ROOT
from twinflow.case import load_case, to_canonical
from twinflow.io import write_json_atomic
from twinflow.report.case_report import build_report


def _fake_results(tmp_path: Path) -> Path:
    case_dir = tmp_path / "lv-demo"
    case = to_canonical(load_case(ROOT / "cases" / "lv-demo.yaml", root=ROOT))
    write_json_atomic(case_dir / "case.json", case)
    write_json_atomic(case_dir / "geometry" / "measurements.json",
                      {"end_diastolic_volume_m3": 1.3e-4, "simplifications": ["biplane"]})
    t = np.linspace(0, 0.8, 50)
    for sid, ef in (("baseline", 0.55), ("entresto", 0.6)):
        v = 120e-6 * (1 - ef * np.sin(np.pi * t / 0.8) ** 2)
        p = 16000 * np.sin(np.pi * t / 0.8) ** 2 + 1000
        (case_dir / sid).mkdir()
        pd.DataFrame({"t": t, "beat": 3, "V_LV_m3": v, "p_LV_pa": p}).to_csv(
            case_dir / sid / "series.csv", index=False)
        write_json_atomic(case_dir / sid / "summary.json", {
            "edv_m3": 120e-6, "esv_m3": 120e-6 * (1 - ef), "ejection_fraction": ef,
            "peak_systolic_pressure_pa": 17000.0, "simplifications": [f"{sid} model"]})
    return case_dir


def test_report_lists_scenarios_loops_and_simplifications(tmp_path: Path) -> None:
    text = build_report(_fake_results(tmp_path))
    assert text.startswith("<!DOCTYPE html>")
    assert "Scenario baseline" in text and "Scenario entresto" in text
    assert "55.0" in text and "60.0" in text  # EF in %
    assert "Pressure–volume loops" in text and "data:image/png;base64," in text
    for s in ("biplane", "baseline model", "entresto model"):
        assert f"<li>{s}</li>" in text
    case = json.loads((tmp_path / "lv-demo" / "case.json").read_text())
    assert case["anatomy"] == "left-ventricle"
