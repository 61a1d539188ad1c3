"""The closed-loop 0D circulation: parameters, drug factors, blood volume, periodic state."""

from __future__ import annotations

import numpy as np
import pytest

from twinflow.errors import InputError
from twinflow.physics.heart.circulation import (
    DEFAULT_TOTAL_VOLUME_ML,
    MMHG,
    Circulation0D,
    initial_state,
    parameter_path,
    periodic_0d_state,
    regazzoni_parameters,
    si_parameters,
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


def test_si_parameters_name_their_unit():
    p = regazzoni_parameters(1.25, {"R_AR_SYS": "0.45 mmHg*s/mL", "V_TOT": "1200 mL"}, {})
    si = si_parameters(p)
    assert si["R_AR_SYS_pa_s_per_m3"] == pytest.approx(0.45 * MMHG / 1e-6, rel=1e-12)
    assert si["V_TOT_m3"] == pytest.approx(1.2e-3, rel=1e-12)
    assert si["C_AR_SYS_m3_per_pa"] == pytest.approx(p["circulation"]["SYS"]["C_AR"] * 1e-6 / MMHG)
    assert si["V0_LV_m3"] == pytest.approx(42e-6) and si["HR_hz"] == 1.25
    assert si["tC_LA_s"] == p["chambers"]["LA"]["tC"]
    # HR and V_TOT, 4 chambers, 4 valves, 2 circuits, the external infusion/withdrawal
    assert len(si) == 2 + 4 * 6 + 4 * 2 + 2 * 6 + 6
