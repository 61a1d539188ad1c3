"""What the heart simulation reads from a case: run settings and the calibration table."""

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


def test_calibration_is_recognised_in_si_and_in_unit_strings(coarse_lv):
    from twinflow.physics.heart.settings import CALIBRATION, read_case

    case = read_case(coarse_lv[1])
    assert all(c.applied(case) for c in CALIBRATION)  # the demo case holds the calibration
    changed = json.loads(json.dumps(case))
    changed["physics"]["circulation"]["parameters"]["R_AR_SYS"] = "0.8 mmHg*s/mL"
    changed["physics"]["activation"]["reference_tension"] = 150e3
    applied = {c.parameter: c.applied(changed) for c in CALIBRATION}
    assert not applied["physics.circulation.parameters.R_AR_SYS"]
    assert not applied["physics.activation.reference_tension"]
    assert applied["physics.circulation.parameters.V_TOT"]


def test_a_case_of_another_anatomy_is_refused(tmp_path):
    from twinflow.errors import InputError
    from twinflow.physics.heart.settings import read_case

    path = tmp_path / "simulate_heart.json"
    path.write_text(json.dumps({"anatomy": "carotid"}))
    with pytest.raises(InputError, match="simulate_heart is for left-ventricle cases, not carotid"):
        read_case(path)
