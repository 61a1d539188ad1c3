"""The inflation study: passive P-V curve, then isovolumic activation."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import drug_effects_of
from twinflow.artifacts.cycle import InflationSummary

MMHG = 133.322387415  # Pa


def test_inflation_study(coarse_lv, tmp_path):
    from twinflow.physics.heart.cycle import run_cycle
    from twinflow.physics.heart.settings import CycleSettings

    mesh, case = coarse_lv
    d = json.loads(case.read_text())
    d["physics"]["study"] = "inflation"
    c2 = tmp_path / "case.json"
    c2.write_text(json.dumps(d))
    s = InflationSummary.read(run_cycle(mesh, c2, drug_effects_of(case), tmp_path / "o",
                                        CycleSettings(0.005, 1)))
    assert s.study == "inflation" and s.scenario == "baseline"
    assert s.edv_m3 > s.unloaded_cavity_volume_m3
    assert s.isovolumic_peak_pressure_pa > 20 * MMHG
    assert s.end_diastolic_pressure_pa == pytest.approx(8 * 133.322387415)  # the default EDP
    rows = list(csv.DictReader((tmp_path / "o" / "series.csv").open()))
    assert len(rows) == 17 and s.newton_iterations.total > 0
    v = [float(r["V_LV_mL"]) for r in rows if r["phase"] == "passive"]
    assert all(b > a for a, b in zip(v, v[1:], strict=False))  # monotone passive P-V curve
    assert v[-1] * 1e-6 == pytest.approx(s.edv_m3, rel=1e-7)  # series in mL, summary SI
