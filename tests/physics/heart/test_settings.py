"""What the heart simulation reads from a case: run settings, calibrated values, the EDP."""

from __future__ import annotations

import json

import pytest


def test_settings_from_the_case_and_overrides(coarse_lv):
    from twinflow.physics.heart.settings import CycleSettings, SolverSettings, read_case

    case = read_case(coarse_lv[1])
    st = CycleSettings.from_case(case)
    assert (st.time_step, st.max_beats) == (case["simulation"]["time_step"],
                                            case["simulation"]["cycles"])
    st = CycleSettings.from_case(case, 0.01, None, max_steps=3,
                                 solver=SolverSettings(extrapolate=True))
    assert (st.time_step, st.max_beats, st.max_steps, st.solver.extrapolate) == (
        0.01, case["simulation"]["cycles"], 3, True)
    assert st.solver.reuse_jacobian and st.solver.degree == 2


def test_calibrated_values_replace_the_cases(coarse_lv):
    from twinflow.physics.heart.personalisation.applied import calibrated_overrides
    from twinflow.physics.heart.settings import (
        activation_from_case,
        circulation_parameters,
        read_case,
    )

    case = read_case(coarse_lv[1])
    assert activation_from_case(case).hmt.t_ref == case["physics"]["activation"][
        "reference_tension"]
    act = activation_from_case(case, 123e3)
    assert act.hmt.t_ref == 123e3
    theta = {"reference_tension": 123e3, "R_AR_SYS": 1.1, "C_AR_SYS": 0.9, "V_TOT": 1234.5}
    params = circulation_parameters(case, {"R_AR_SYS": 0.5}, act, "here",
                                    calibrated_overrides(theta))
    sys = params["circulation"]["SYS"]
    # the drug factor acts on the calibrated resistance
    assert sys["R_AR"] == pytest.approx(0.55) and sys["C_AR"] == pytest.approx(0.9)
    assert params["initial"]["V_TOT"] == pytest.approx(1234.5)


def test_end_diastolic_pressure_and_its_source(coarse_lv):
    from twinflow.physics.heart.settings import end_diastolic_pressure_source, read_case

    case = read_case(coarse_lv[1])
    assert end_diastolic_pressure_source(case) == (pytest.approx(8 * 133.322387415), "default")
    case["measurements"]["end_diastolic_pressure"] = 1600.0
    assert end_diastolic_pressure_source(case) == (1600.0, "case")


def test_a_case_of_another_anatomy_is_refused(tmp_path):
    from twinflow.errors import InputError
    from twinflow.physics.heart.settings import read_case

    path = tmp_path / "simulate_heart.json"
    path.write_text(json.dumps({"anatomy": "carotid"}))
    with pytest.raises(InputError, match="simulate_heart is for left-ventricle cases, not carotid"):
        read_case(path)
