"""Cardiac cycle: 0D pieces, calcium/activation, and a short coupled run."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from twinflow.errors import InputError
from twinflow.physics.circulation0d import (
    DEFAULT_TOTAL_VOLUME_ML,
    Circulation0D,
    initial_state,
    parameter_path,
    periodic_0d_state,
    regazzoni_parameters,
    total_volume,
)


def test_parameter_paths():
    assert parameter_path("R_AR_SYS") == ("circulation", "SYS", "R_AR")
    assert parameter_path("EA_LV") == ("chambers", "LV", "EA")
    assert parameter_path("Rmin_AV") == ("valves", "AV", "Rmin")
    with pytest.raises(KeyError):
        parameter_path("R_FOO_SYS")


def test_overrides_and_drug_factors():
    p = regazzoni_parameters(1.25, {"R_AR_SYS": "1.0 mmHg*s/mL", "C_AR_SYS": "2e-9 m**3/Pa"},
                             {"R_AR_SYS": 0.9})
    assert p["circulation"]["SYS"]["R_AR"] == pytest.approx(0.9)
    # 2e-9 m^3/Pa = 2e3 mL / 133.322 mmHg
    assert p["circulation"]["SYS"]["C_AR"] == pytest.approx(2e3 * 133.322387415 / 1e6 * 1e0,
                                                            rel=1e-6)
    with pytest.raises(InputError):
        regazzoni_parameters(1.25, {"NOPE_SYS": "1 mmHg"}, {})


def test_total_blood_volume_override_is_conserved():
    """V_TOT sets the loop volume; the closed loop keeps it; a compliance change does not."""
    assert DEFAULT_TOTAL_VOLUME_ML == pytest.approx(1617.876, abs=1e-2)  # package IC
    p = regazzoni_parameters(1.25, {"V_TOT": "1.2 L"}, {"C_VEN_SYS": 1.1})
    y = initial_state(p)
    assert total_volume(p, y) == pytest.approx(1200.0, rel=1e-12)
    y_per, _, _ = periodic_0d_state(p, dt=1e-3, max_beats=3, tol=1e-12)
    assert total_volume(p, y_per) == pytest.approx(1200.0, rel=1e-9)
    c = Circulation0D(p)
    assert total_volume(p, c.advance(0.0, 5e-3, 10.0)) == pytest.approx(1200.0, rel=1e-9)
    # without V_TOT a drug's venodilation keeps the package's volume (no blood is added)
    q = regazzoni_parameters(1.25, {}, {"C_VEN_SYS": 1.1})
    assert total_volume(q, initial_state(q)) == pytest.approx(DEFAULT_TOTAL_VOLUME_ML)
    # less volume, lower venous pressure
    assert initial_state(p)[5] < initial_state(q)[5]
    with pytest.raises(InputError):
        regazzoni_parameters(1.25, {"V_TOT": "3 mmHg"}, {})
    with pytest.raises(InputError):
        regazzoni_parameters(1.25, {"V_TOT": "-3 mL"}, {})


def test_0d_alone_reaches_periodicity_and_reference_pressures():
    """Regazzoni defaults: ~120/80 mmHg class pressures (reference-data.md)."""
    p = regazzoni_parameters(1.25, {}, {})
    y, beats, err = periodic_0d_state(p, dt=1e-3, max_beats=40, tol=1e-3)
    assert err < 1e-3 and beats < 40
    c = Circulation0D(p)
    # one beat with the elastance LV recorded through the coupled stepping API
    from circulation.regazzoni2020 import Regazzoni2020  # noqa: F401
    assert 60 < y[4] < 130  # aortic pressure at beat start, mmHg
    # advance with a prescribed LV pressure: a higher p_LV empties the LV faster
    y1 = c.advance(0.0, 2e-3, 200.0, y)
    y0 = c.advance(0.0, 2e-3, 0.0, y)
    assert y1[1] < y0[1]
    assert np.isclose(np.sum(y1[:4]) + 0, np.sum(y1[:4]))


def test_calcium_and_tension():
    from twinflow.physics.cardiac_cycle import Activation, CalciumTransient
    from twinflow.physics.heart.mechanics.active_stress import HunterMcCullochTerKeurs1998

    ca = CalciumTransient(0.1, 1.0, 0.5, 0.05, 0.2, 0.8)
    ts = np.linspace(0, 0.8, 4001)
    vals = np.array([ca(t) for t in ts])
    assert vals.max() == pytest.approx(1.0, rel=1e-4)
    assert vals.min() >= 0.1 - 1e-12
    assert ca(0.5) == pytest.approx(0.1)
    s_pk = math.log(0.2 / 0.05) * 0.05 * 0.2 / 0.15  # analytic time to peak
    assert ts[np.argmax(vals)] - 0.5 == pytest.approx(s_pk, abs=2e-4)
    act = Activation(ca, HunterMcCullochTerKeurs1998(t_ref=1e5), 0.0)
    tim = act.timing()
    assert 0.5 < tim["tC"] < 0.55 and tim["TC"] > 0 and tim["TR"] > tim["TC"]
    # HMT: [Ca]=1 uM, C50=0.631 uM, n=6.9 -> T/Tref = 1/(1+0.631^6.9)
    assert tim["peak"] == pytest.approx(1e5 / (1 + 10 ** (-0.2 * 6.9)), rel=1e-3)


def test_short_coupled_run_outputs(coarse_lv, tmp_path):
    from twinflow.physics.cardiac_cycle import CycleSettings, run_cycle

    mesh, case = coarse_lv
    out = run_cycle(mesh, case, "baseline", tmp_path / "o",
                    CycleSettings(time_step=0.005, max_beats=1, max_steps=8, output_every=4))
    s = json.loads(out.read_text())
    assert s["beats_run"] == 1 and s["newton_iterations"]["total"] > 0
    assert any("unloaded reference" in x for x in s["simplifications"])
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
    assert (tmp_path / "o" / "pv_loop.png").stat().st_size > 1000
    assert (tmp_path / "o" / "fields.xdmf").is_file()


def test_inflation_study(coarse_lv, tmp_path):
    from twinflow.physics.cardiac_cycle import CycleSettings, run_cycle

    mesh, case = coarse_lv
    d = json.loads(case.read_text())
    d["physics"]["study"] = "inflation"
    c2 = tmp_path / "case.json"
    c2.write_text(json.dumps(d))
    s = json.loads(run_cycle(mesh, c2, "baseline", tmp_path / "o",
                             CycleSettings(0.005, 1)).read_text())
    assert s["EDV_mL"] > s["unloaded_cavity_volume_mL"]
    assert s["isovolumic_peak_pressure_mmHg"] > 20
    rows = list(csv.DictReader((tmp_path / "o" / "series.csv").open()))
    v = [float(r["V_LV_mL"]) for r in rows if r["phase"] == "passive"]
    assert all(b > a for a, b in zip(v, v[1:], strict=False))  # monotone passive P-V curve


def test_cycle_uses_unit_fibres_at_quadrature_points(coarse_lv):
    """The cycle's material and active stress see unit fibres at every quadrature point
    (a P1 interpolant of the LDRB fibres averages |f0|^2 ~ 0.5-0.6 there on these meshes)."""
    import dolfinx
    import ufl
    from mpi4py import MPI

    from twinflow.physics.cardiac_cycle import QUADRATURE_DEGREE, build_lv

    mesh, case = coarse_lv
    model = build_lv(mesh, json.loads(case.read_text()), MPI.COMM_WORLD)
    pb = model.problem
    assert pb.quadrature_degree == QUADRATURE_DEGREE == model.fibres.quadrature_degree
    vol = dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * pb.dx))
    for f in (pb.material.f0, pb.active.f0, pb.active.s0, pb.active.n0):
        form = dolfinx.fem.form(ufl.inner(f, f) * pb.dx)
        assert dolfinx.fem.assemble_scalar(form) / vol == pytest.approx(1.0, abs=1e-10)
        dev = dolfinx.fem.form((ufl.inner(f, f) - 1.0) ** 2 * pb.dx)
        assert dolfinx.fem.assemble_scalar(dev) / vol < 1e-20
    # the nodal P1 fibres (ParaView output) would not pass: they shrink between the nodes
    f1 = model.fibres.f0
    mean_p1 = dolfinx.fem.assemble_scalar(dolfinx.fem.form(ufl.inner(f1, f1) * pb.dx)) / vol
    assert mean_p1 < 0.95


def test_beat_linearised_lv_reproduces_the_beat_and_its_slopes():
    """The 0D LV law linearised about a beat returns the beat's pressure on its trajectory,
    and a known elastance's slopes (synthetic beat p = (E_A a(t) + E_B)(V - V_0))."""
    from circulation.time_varying_elastance import blanco_ventricle

    from twinflow.physics.cardiac_cycle import StepRecord, beat_linearised_lv

    rr, lv = 0.8, {"tC": 0.1, "TC": 0.2, "TR": 0.25}
    a = blanco_ventricle(EA=1.0, EB=0.0, RR=rr, **lv)
    ea, eb, v0 = 4.0, 0.3, 20.0
    ts = np.linspace(0.0, rr, 161)
    vol = 120.0 + 40.0 * np.cos(2 * np.pi * ts / rr)
    rows = [StepRecord(t, 0, (ea * a(t) + eb) * (v - v0), v, v, 0, 0, 0, 0, 0,
                       100.0 * a(t), 0) for t, v in zip(ts, vol, strict=True)]
    p_lv, fit = beat_linearised_lv(rows, lv, rr)
    assert fit["EA"] == pytest.approx(ea, rel=1e-3)
    assert fit["EB"] == pytest.approx(eb, rel=1e-3)
    for r in rows[::10]:
        assert p_lv(r.v_lv, r.t + rr) == pytest.approx(r.p_lv, abs=1e-9)  # periodic in RR
    assert p_lv(rows[5].v_lv + 1.0, rows[5].t) > rows[5].p_lv
