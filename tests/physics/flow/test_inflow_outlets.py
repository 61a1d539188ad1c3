"""Inflow waveforms and outlet models."""

from __future__ import annotations

import numpy as np
import pytest

from twinflow.errors import InputError
from twinflow.physics.flow.inflow import holdsworth_cca, waveform_from_settings
from twinflow.physics.flow.outlets import WindkesselOutlet, outlet_from_settings


def test_holdsworth_waveform_matches_published_mean_and_peak() -> None:
    wave = holdsworth_cca()
    t = np.linspace(0, wave.period, 4000, endpoint=False)
    q = wave(t)
    assert wave.period == pytest.approx(0.917)
    assert q.mean() == pytest.approx(6.0e-6, rel=1e-9)
    assert q.max() == pytest.approx(23.5e-6, rel=2e-3)
    assert 0.1 < t[q.argmax()] < 0.2  # systolic peak early in the cycle
    assert q.min() > 0.0  # no net reversal in the normal CCA


def test_fourier_round_trip_and_table() -> None:
    wave = holdsworth_cca()
    again = waveform_from_settings(wave.coefficients(), None)
    t = np.linspace(0, 1, 50)
    assert np.allclose(again(t), wave(t))
    times = np.linspace(0, wave.period, 64, endpoint=False)
    table = waveform_from_settings({"type": "table", "time": times.tolist(),
                                    "flow": wave(times).tolist(), "harmonics": 12},
                                   wave.period)
    assert np.allclose(table(t), wave(t), atol=2e-3 * wave.mean)


@pytest.mark.parametrize("spec", [{"type": "nope"}, {"type": "fourier", "mean": 1.0, "cos": [1],
                                                     "sin": []},
                                  {"type": "table", "time": [0, 1], "flow": [1, 2]}])
def test_bad_inflow_is_an_input_error(spec: dict) -> None:
    with pytest.raises(InputError):
        waveform_from_settings(spec, 1.0)


def test_windkessel_reaches_its_steady_pressure() -> None:
    wk = WindkesselOutlet(1e8, 1e-9, 1e9, pressure_ref=1000.0, state=1000.0)
    for _ in range(20000):
        p = wk.advance(5e-6, 1e-3)
    assert p == pytest.approx(1000.0 + (1e8 + 1e9) * 5e-6, rel=1e-6)


def test_bad_outlets_are_input_errors() -> None:
    with pytest.raises(InputError):
        outlet_from_settings({"model": "resistance"}, "x")
    with pytest.raises(InputError):
        outlet_from_settings({"model": "flow_split", "fraction": 1.2}, "x")
    with pytest.raises(InputError):
        outlet_from_settings({"model": "magic"}, "x")
