"""The 0D stand-ins of the 3D LV: the beat-linearised LV pressure law."""

from __future__ import annotations

import numpy as np
import pytest


def test_beat_linearised_lv_reproduces_the_beat_and_its_slopes():
    """The 0D LV law linearised about a beat returns the beat's pressure on its trajectory,
    and a known elastance's slopes (synthetic beat p = (E_A a(t) + E_B)(V - V_0))."""
    from circulation.time_varying_elastance import blanco_ventricle

    from twinflow.physics.heart.coupling import beat_linearised_lv
    from twinflow.physics.heart.outputs import StepRecord

    rr, lv = 0.8, {"tC": 0.1, "TC": 0.2, "TR": 0.25}
    a = blanco_ventricle(EA=1.0, EB=0.0, RR=rr, **lv)
    ea, eb, v0 = 4.0, 0.3, 20.0
    ts = np.linspace(0.0, rr, 161)
    vol = 120.0 + 40.0 * np.cos(2 * np.pi * ts / rr)
    rows = [StepRecord(t, 0, (ea * a(t) + eb) * (v - v0), v, v, 0, 0, 0, 0, 0,
                       100.0 * a(t), 0) for t, v in zip(ts, vol, strict=True)]
    p_lv, fit = beat_linearised_lv(rows, lv, rr)
    assert fit.ea == pytest.approx(ea, rel=1e-3)
    assert fit.eb == pytest.approx(eb, rel=1e-3)
    for r in rows[::10]:
        assert p_lv(r.v_lv, r.t + rr) == pytest.approx(r.p_lv, abs=1e-9)  # periodic in RR
    assert p_lv(rows[5].v_lv + 1.0, rows[5].t) > rows[5].p_lv
