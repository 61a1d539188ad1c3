"""Implicit 0D outlets, the flow split on a Y-bifurcation, and the case -> settings mapping.

- Windkessel outlet on a tube, realistic carotid resistances (R_p + R_d = 2.3e9 Pa s/m^3,
  ~ 50 x rho L / (A dt) where the old explicit coupling diverged): the outlet pressure reaches
  the analytic 0D value (R_p + R_d) Q within 1 % for steady flow; run through the
  ``--case`` CLI (canonical case JSON -> carotid_flow_settings).
- Pulsatile Windkessel (slow): stays bounded, mean outlet pressure near (R_p + R_d) Q_mean.
- Y-bifurcation (slow): flow_split ECA outlet, the ICA share reaches ica_fraction within 1 %;
  two resistance outlets: P = R Q at every step and a stable solution.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twinflow.errors import CaseError
from twinflow.geometry.tube import tube_mesh
from twinflow.physics.flow.outlets import ResistanceOutlet, WindkesselOutlet
from twinflow.physics.flow.settings import carotid_flow_settings, rounded_time_step

ROOT = Path(__file__).resolve().parents[3]
RP, C, RD, Q = 3.0e8, 1.0e-11, 2.0e9, 6.0e-6  # Pa s/m^3, m^3/Pa, Pa s/m^3, m^3/s


def _csv(path: Path) -> np.ndarray:
    return np.genfromtxt(path, delimiter=",", names=True)


def _case(**physics: dict) -> dict:
    base = {"anatomy": "carotid", "geometry": {"kind": "bifurcation"},
            "physics": {"blood": {"density": 1050.0, "viscosity": 0.0035},
                        "inflow": {"waveform": "holdsworth1999", "mean_flow": 6e-6,
                                   "amplitude": 0.0, "period": 0.92, "table": None,
                                   "profile": "womersley"},
                        "outlets": {"model": "flow-split", "ica_fraction": 0.6,
                                    "resistance": {}, "windkessel": {}, "pressure": 0.0}},
            "simulation": {"time_step": 0.003, "cycles": 3}}
    for key, value in physics.items():
        base["physics"][key].update(value)
    return base


@pytest.mark.parametrize("model", [WindkesselOutlet(RP, C, RD, 1000.0, 1234.0),
                                   ResistanceOutlet(RD, 500.0)])
def test_affine_law_matches_the_committed_step(model) -> None:
    a, b = model.affine(1e-3)
    assert model.advance(Q, 1e-3) == pytest.approx(a * Q + b, rel=1e-12)


def test_settings_mapping() -> None:
    s = carotid_flow_settings(_case())
    assert s["time_step"] == pytest.approx(0.92 / 307)  # 0.92 / 0.003 = 306.7 -> 307 steps
    assert round(s["period"] / s["time_step"]) * s["time_step"] == pytest.approx(0.92)
    assert s["outlets"] == {"2": {"model": "pressure", "value": 0.0},
                            "3": {"model": "flow_split", "fraction": pytest.approx(0.4)}}
    assert s["inflow"]["peak"] == pytest.approx(23.5e-6)
    wk = {"ica": {"proximal_resistance": 1e9, "compliance": 1e-10, "distal_resistance": 9e9},
          "eca": {"proximal_resistance": 2e9, "compliance": 5e-11, "distal_resistance": 1.3e10}}
    s = carotid_flow_settings(_case(outlets={"model": "windkessel", "windkessel": wk,
                                             "pressure": 100.0}),
                              {"facet_tags": {"inlet": 1, "outlet_ica": 2, "outlet_eca": 3,
                                              "wall": 4}})
    ica, eca = s["outlets"]["2"], s["outlets"]["3"]
    assert ica["capacitance"] == 1e-10 and eca["distal_resistance"] == 1.3e10
    # initial capacitor pressures: the parallel-resistance split of the mean flow (0.6 / 0.4)
    assert ica["initial_pressure"] == pytest.approx(100.0 + 9e9 * 0.6 * 6e-6)
    assert eca["initial_pressure"] == pytest.approx(100.0 + 1.3e10 * 0.4 * 6e-6)
    s = carotid_flow_settings(_case(inflow={"waveform": "sinusoidal", "amplitude": 3e-6}))
    assert s["inflow"] == {"type": "fourier", "mean": 6e-6, "cos": [3e-6], "sin": [0.0]}
    tube = _case() | {"geometry": {"kind": "tube"}}
    assert carotid_flow_settings(tube)["outlets"] == {"2": {"model": "pressure", "value": 0.0}}
    with pytest.raises(CaseError):
        carotid_flow_settings(_case(outlets={"model": "resistance", "resistance": {"ica": 1e9}}))
    with pytest.raises(CaseError):
        rounded_time_step(1.0, 0.0)


def test_verification_cases_map_to_valid_settings() -> None:
    from twinflow.case.load import load_case, to_canonical
    from twinflow.physics.flow.settings import FlowSettings

    for name, waveform in (("poiseuille", "steady"), ("womersley", "fourier")):
        case = to_canonical(load_case(ROOT / "cases" / "verification" / f"{name}.yaml"))
        cfg = FlowSettings.from_dict(carotid_flow_settings(case))
        assert cfg.raw["inflow"]["type"] == waveform
        assert list(cfg.outlets) == [2]
    case = to_canonical(load_case(ROOT / "cases" / "verification" / "womersley.yaml"))
    cfg = FlowSettings.from_dict(carotid_flow_settings(case))
    assert cfg.steps_per_cycle == 50


def test_windkessel_tube_reaches_the_0d_pressure(tmp_path: Path) -> None:
    mesh = tube_mesh(3.0e-3, 12.0e-3, 1.0e-3, tmp_path / "tube.xdmf")
    case = _case(inflow={"waveform": "steady", "mean_flow": Q, "period": 0.2,
                         "profile": "parabolic"},
                 blood={"viscosity": 0.035},
                 outlets={"model": "windkessel", "windkessel": {"ica": {
                     "proximal_resistance": RP, "compliance": C, "distal_resistance": RD}}})
    case["geometry"] = {"kind": "tube"}
    case["simulation"] = {"time_step": 0.01, "cycles": 2}
    path = tmp_path / "simulate_flow.json"  # the stage's settings, as the workflow writes them
    path.write_text(json.dumps(case))
    proc = subprocess.run([sys.executable, "-m", "twinflow", "simulate-flow", "--settings",
                           str(path), "--mesh", str(mesh), "--summary",
                           str(tmp_path / "res" / "summary.json")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    series = _csv(tmp_path / "res" / "series.csv")
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    rho_l_a_dt = 1050.0 * 12e-3 / (math.pi * 9e-6 * 0.01)
    assert RP + RD > 40 * rho_l_a_dt  # the regime where the explicit coupling diverged
    assert series["p_outlet_2"][-1] == pytest.approx((RP + RD) * Q, rel=0.01)
    assert summary["outlet_models"] == {"2": "WindkesselOutlet"}
    assert summary["tawss_pa"]["p50"] > 0 and summary["reynolds_inlet"]["mean"] > 0
    assert summary["tawss_cca_segment_pa"]["mean"] > 0
    assert json.loads((tmp_path / "res" / "settings.json").read_text())["time_step"] == 0.01


def _solve(mesh: Path, settings: dict, out: Path) -> tuple[dict, np.ndarray]:
    from twinflow.physics.flow.loop import solve_flow

    summary = json.loads(solve_flow(mesh, settings, out).read_text())
    return summary, _csv(out / "series.csv")


@pytest.fixture(scope="module")
def ybranch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from twinflow.geometry.ybranch import YBranch, mesh_ybranch

    return mesh_ybranch(YBranch(), 1.0e-3, tmp_path_factory.mktemp("y") / "y.xdmf")


def _y_settings(outlets: dict) -> dict:
    return {"density": 1050.0, "viscosity": 0.035, "time_step": 0.01, "period": 0.1,
            "cycles": 2, "inflow": {"type": "steady", "flow": Q}, "render": False,
            "outlets": outlets}


@pytest.mark.slow
def test_flow_split_on_a_y_bifurcation(ybranch: Path, tmp_path: Path) -> None:
    case = _case()  # ica_fraction 0.6
    outlets = carotid_flow_settings(case)["outlets"]
    summary, series = _solve(ybranch, _y_settings(outlets), tmp_path)
    print("flow split", summary["flow_split"], "mass balance", summary["mass_balance_relative"])
    assert series["q_outlet_3"][-1] == pytest.approx(0.4 * Q, rel=1e-3)  # imposed ECA flow
    assert summary["flow_split"]["2"] == pytest.approx(0.6, rel=0.01)
    assert summary["flow_split"]["3"] == pytest.approx(0.4, rel=0.01)


@pytest.mark.slow
def test_two_resistance_outlets_are_implicit_and_stable(ybranch: Path, tmp_path: Path) -> None:
    r_ica, r_eca = 3.0e9, 4.5e9  # parallel: 60 / 40 % split when the 3D losses are small
    summary, series = _solve(ybranch, _y_settings({
        "2": {"model": "resistance", "resistance": r_ica},
        "3": {"model": "resistance", "resistance": r_eca}}), tmp_path)
    print("resistance split", summary["flow_split"], summary["pressure_drop_cca_ica_pa"])
    for tag, r in (("2", r_ica), ("3", r_eca)):  # the 0D law holds at every step (implicit)
        assert np.allclose(series[f"p_outlet_{tag}"], r * series[f"q_outlet_{tag}"],
                           rtol=1e-6, atol=1e-6 * r * Q)
    assert summary["flow_split"]["2"] == pytest.approx(0.6, abs=0.03)
    assert np.all(np.abs(series["p_inlet"]) < 2 * r_ica * Q)  # bounded


@pytest.mark.slow
def test_pulsatile_windkessel_tube_is_stable(tmp_path: Path) -> None:
    mesh = tube_mesh(3.0e-3, 12.0e-3, 1.0e-3, tmp_path / "tube.xdmf")
    c = 1.0e-10  # R_d C = 0.2 s
    settings = {"density": 1050.0, "viscosity": 3.5e-3, "time_step": 0.005, "period": 0.2,
                "cycles": 3, "inflow": {"type": "fourier", "mean": Q, "cos": [Q], "sin": [0.0]},
                "render": False, "outlets": {"2": {
                    "model": "windkessel", "proximal_resistance": RP, "capacitance": c,
                    "distal_resistance": RD, "initial_pressure": RD * Q}}}
    summary, series = _solve(mesh, settings, tmp_path)
    last = series[-40:]
    p = last["p_outlet_2"]
    # 0D reference: the same RCR driven by the prescribed flow (implicit Euler)
    wk = WindkesselOutlet(RP, c, RD, 0.0, RD * Q)
    t = series["t"]
    ref = np.array([wk.advance(Q * (1 + math.cos(2 * math.pi * ti / 0.2)), 0.005) for ti in t])
    print("pulsatile WK: max |p - p_0D| / max p =", np.abs(p - ref[-40:]).max() / p.max())
    assert np.all(np.isfinite(series["p_outlet_2"]))
    assert p.mean() == pytest.approx((RP + RD) * Q, rel=0.05)
    assert np.abs(p - ref[-40:]).max() < 0.02 * p.max()
