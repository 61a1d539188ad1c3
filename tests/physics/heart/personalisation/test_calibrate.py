"""The calibration loop on a 0D stand-in for the 3D LV (seconds, no DOLFINx).

The "3D model" here is the Regazzoni 2020 closed loop with an LV law the surrogate does not
share (a different passive curve, a tension-dependent volume intercept, a nonlinear active
term): the loop must still meet the targets, within its beat budget, and say so when it cannot.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinflow.physics.heart.activation import Activation, BiexponentialCalcium
from twinflow.physics.heart.circulation import _quiet_model, regazzoni_parameters
from twinflow.physics.heart.mechanics.active_stress import HunterMcCullochTerKeurs1998
from twinflow.physics.heart.personalisation.calibrate import (
    Beat3D,
    CalibrationError,
    Circulation,
    Targets,
    calibrate,
)
from twinflow.physics.heart.personalisation.surrogate import (
    ActivationShape,
    BeatOutputs,
    SurrogateLV,
    set_total_volume,
)

HR = 1.25


def activation() -> Activation:
    ca = BiexponentialCalcium(0.1, 1.0, 0.1, 0.05, 0.15, 1.0 / HR)
    return Activation(ca, HunterMcCullochTerKeurs1998(t_ref=100e3), 0.0)


class ZeroDTruth:
    """A 'true' LV the surrogate only approximates, run one beat at a time (dt 0.5 ms)."""

    def __init__(self, shape: ActivationShape) -> None:
        self.shape = shape
        self.beats = 0

    def law(self, v: float, t: float) -> float:
        a = float(self.shape(t))
        passive = 0.4 * np.expm1(0.035 * (v - 70.0))
        ea = 2.2e-5 * self.t_ref * (1.0 + 0.004 * (v - 120.0))   # length dependence
        return passive + ea * a * (v - 35.0 - 1e-4 * self.t_ref / 1e3)

    def restart(self, theta, parameters, y0) -> None:
        self.t_ref = theta["reference_tension"]
        self.parameters = parameters
        self.model = _quiet_model(__import__("circulation.regazzoni2020").regazzoni2020
                                  .Regazzoni2020, parameters, p_LV=self.law)
        self.y = set_total_volume(parameters, y0)

    def beat(self) -> Beat3D:
        self.beats += 1
        dt, rr = 5e-4, 1.0 / HR
        n = int(round(rr / dt))
        t = np.arange(n + 1) * dt
        v, p, par = np.empty(n + 1), np.empty(n + 1), np.empty(n + 1)
        y = y_start = self.y.copy()
        for i in range(n + 1):
            v[i], par[i], p[i] = y[1], y[4], self.law(y[1], t[i])
            if i < n:
                y = y + dt * np.array(self.model.rhs(t[i], y), dtype=float)
        self.y = y
        out = BeatOutputs(v.max(), v.min(), par.max(), par.min())
        return Beat3D(t, v, p, out, y_start, y.copy())


def surrogate() -> SurrogateLV:
    return SurrogateLV(0.3, 0.03, 60.0, 3.0e-5, 60.0)


def test_calibration_meets_targets_with_a_mismatched_surrogate():
    targets = Targets(150.0, 95.0, 170.0, 110.0, 3.0, 0.05)
    shape = ActivationShape.of(activation())
    circ = Circulation(regazzoni_parameters(HR, {}, {}))
    truth = ZeroDTruth(shape)
    result = calibrate(targets, surrogate(), shape, circ, circ.theta0(100e3), truth,
                       max_beats=12)
    last = result.iterations[-1]
    assert np.max(np.abs(last.scaled_residual)) <= 0.5
    assert last.periodicity_error is not None and last.periodicity_error < 0.01
    assert result.beats == truth.beats <= 12
    # the accepted parameters reproduce the targets when run again from scratch
    truth.restart(result.theta, circ.parameters(result.theta), result.start_state)
    again = truth.beat().outputs.vector()
    assert np.max(np.abs(targets.scaled(again))) <= 1.0


def test_unreachable_targets_fail_before_any_3d_beat():
    shape = ActivationShape.of(activation())
    circ = Circulation(regazzoni_parameters(HR, {}, {}))
    truth = ZeroDTruth(shape)
    with pytest.raises(CalibrationError, match="cannot be reproduced.*end systolic volume"):
        calibrate(Targets(128.0, 78.0, 135.0, 13.5, 3.0, 0.05), surrogate(), shape, circ,
                  circ.theta0(100e3), truth, max_beats=12)
    assert truth.beats == 0


def test_budget_exhausted_names_the_missed_targets():
    shape = ActivationShape.of(activation())
    circ = Circulation(regazzoni_parameters(HR, {}, {}))
    with pytest.raises(CalibrationError, match="not calibrated within 1 3D beats"):
        calibrate(Targets(150.0, 95.0, 170.0, 110.0, 3.0, 0.05), surrogate(), shape, circ,
                  circ.theta0(100e3), ZeroDTruth(shape), max_beats=1)
