"""Activation: the bi-exponential calcium transient and the HMT tension, and their timing."""

from __future__ import annotations

import math

import numpy as np
import pytest


def test_calcium_and_tension():
    from twinflow.physics.heart.activation import Activation, BiexponentialCalcium
    from twinflow.physics.heart.mechanics.active_stress import HunterMcCullochTerKeurs1998

    ca = BiexponentialCalcium(0.1, 1.0, 0.5, 0.05, 0.2, 0.8)
    ts = np.linspace(0, 0.8, 4001)
    vals = np.array([ca(t) for t in ts])
    assert vals.max() == pytest.approx(1.0, rel=1e-4)
    assert vals.min() >= 0.1 - 1e-12
    assert ca(0.5) == pytest.approx(0.1)
    s_pk = math.log(0.2 / 0.05) * 0.05 * 0.2 / 0.15  # analytic time to peak
    assert ts[np.argmax(vals)] - 0.5 == pytest.approx(s_pk, abs=2e-4)
    act = Activation(ca, HunterMcCullochTerKeurs1998(t_ref=1e5), 0.0)
    tim = act.timing()
    assert 0.5 < tim.onset < 0.55 and tim.contraction > 0 and tim.relaxation > tim.contraction
    # HMT: [Ca]=1 uM, C50=0.631 uM, n=6.9 -> T/Tref = 1/(1+0.631^6.9)
    assert tim.peak_tension == pytest.approx(1e5 / (1 + 10 ** (-0.2 * 6.9)), rel=1e-3)
