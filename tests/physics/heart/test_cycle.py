"""A short coupled 3D-0D run: series, typed summary, plot and fields."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import drug_effects_of
from twinflow.artifacts.cycle import CycleSummary

MMHG, ML = 133.322387415, 1e-6  # Pa, m^3


def test_short_coupled_run_outputs(coarse_lv, tmp_path):
    from twinflow.physics.heart.cycle import run_cycle
    from twinflow.physics.heart.settings import CycleSettings

    mesh, case = coarse_lv
    out = run_cycle(mesh, case, drug_effects_of(case), tmp_path / "o",
                    CycleSettings(time_step=0.005, max_beats=1, max_steps=8, output_every=4))
    s = CycleSummary.read(out)
    assert s.beats_run == 1 and s.newton_iterations.total > 0 and not s.periodic
    assert any("unloaded reference" in x for x in s.simplifications)
    assert s.personalisation is None  # run without the case's personalisation
    assert s.initialisation.start == "probes"
    assert s.initialisation.refit_after_first_beat is None  # stopped within beat 1
    rows = list(csv.DictReader((tmp_path / "o" / "series.csv").open()))
    assert len(rows) == 9
    # the 3D cavity volume equals the 0D LV volume at every step (the coupling constraint)
    for r in rows:
        assert float(r["V_LV_mL"]) == pytest.approx(float(r["V_LV_0D_mL"]), rel=1e-6)
    # end-diastole (calcium onset 0.1 s): no active tension yet, aortic valve shut, LV below
    # the aorta; the mitral valve does not leak backwards
    last = rows[-1]
    assert float(last["Ta_kPa"]) < 1.0
    assert float(last["Q_AV_mL_per_s"]) < 1.0
    assert float(last["p_LV_mmHg"]) < float(last["p_AR_SYS_mmHg"])
    assert float(last["Q_MV_mL_per_s"]) > -1.0
    # the summary's metrics are the series' (SI there, mmHg and mL here), at the top level
    # for the last beat
    v = [float(r["V_LV_mL"]) for r in rows]
    p = [float(r["p_LV_mmHg"]) for r in rows]
    assert s.edv_m3 == pytest.approx(max(v) * ML, rel=1e-7)
    assert s.esv_m3 == pytest.approx(min(v) * ML, rel=1e-7)
    assert s.peak_systolic_pressure_pa == pytest.approx(max(p) * MMHG, rel=1e-7)
    # (EF from the summary's own volumes: the filling of 8 steps is below series.csv's digits)
    assert s.stroke_volume_m3 == pytest.approx(s.edv_m3 - s.esv_m3, abs=1e-12 * s.edv_m3)
    assert s.ejection_fraction == pytest.approx(s.stroke_volume_m3 / s.edv_m3, rel=1e-9)
    assert s.beats[-1].edv_m3 == s.edv_m3 and s.beats[-1].steps == 8
    # the aortic valve stays shut in filling: no ejection gradient
    assert s.peak_lv_aortic_gradient_pa is None
    assert (tmp_path / "o" / "pv_loop.png").stat().st_size > 1000
    assert (tmp_path / "o" / "fields.xdmf").is_file()


def test_ejection_gradient_of_a_coupled_run(coarse_lv, tmp_path):
    """Through the first ejection (calcium onset 0.1 s; 46 steps of 5 ms): the summary's
    peak LV-aortic pressure difference is that of the series' samples with forward aortic
    flow; with the HMT length and velocity dependence of the tension (the case defaults)
    the ejection is physiological: peak aortic flow < 1 L/s and a gradient of a few mmHg
    (the constant tension ejected at ~4 L/s with a 33 mmHg gradient, docs/lv-cycle.md)."""
    from twinflow.physics.heart.cycle import run_cycle
    from twinflow.physics.heart.settings import CycleSettings

    mesh, case = coarse_lv
    out = run_cycle(mesh, case, drug_effects_of(case), tmp_path / "o",
                    CycleSettings(time_step=0.005, max_beats=1, max_steps=46, output_every=0))
    s = CycleSummary.read(out)
    assert s.activation.length_dependence == 1.45
    assert s.activation.velocity_dependence_s == pytest.approx(0.407)
    rows = list(csv.DictReader((tmp_path / "o" / "series.csv").open()))
    ejecting = [r for r in rows if float(r["Q_AV_mL_per_s"]) > 0]
    assert len(ejecting) >= 5
    gradient = max(float(r["p_LV_mmHg"]) - float(r["p_AR_SYS_mmHg"]) for r in ejecting)
    assert s.peak_lv_aortic_gradient_pa == pytest.approx(gradient * MMHG, rel=1e-6)
    assert s.beats[-1].peak_lv_aortic_gradient_pa == s.peak_lv_aortic_gradient_pa
    assert 0 < gradient < 8.0
    assert max(float(r["Q_AV_mL_per_s"]) for r in rows) < 1000.0
