"""Analytical Womersley solution: limits and internal consistency (scipy Bessel functions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from twinflow.physics.flow import womersley as w


@pytest.mark.parametrize("alpha", [0.5, 4.0, 12.0])
def test_profile_carries_unit_flow(alpha: float) -> None:
    # (1/(pi R^2)) * int_0^R 2 pi r u dr = 1 for the per-unit-flow profile (R = 1)
    for part in (np.real, np.imag):
        value = quad(lambda s, f=part: 2 * s * f(w.profile_per_unit_flow(s, alpha)), 0, 1)[0]
        assert value == pytest.approx(1.0 if part is np.real else 0.0, abs=1e-10)


@pytest.mark.parametrize("alpha", [0.5, 4.0, 12.0])
def test_wall_shear_is_minus_radial_derivative(alpha: float) -> None:
    h = 1e-6
    du = (w.profile_per_unit_flow(1.0, alpha) - w.profile_per_unit_flow(1.0 - h, alpha)) / h
    assert w.wall_shear_per_unit_flow(alpha) == pytest.approx(-complex(du), rel=1e-5)


def test_small_alpha_is_poiseuille() -> None:
    s = np.linspace(0, 1, 7)
    assert np.allclose(w.profile_per_unit_flow(s, 1e-2), 2 * (1 - s**2), atol=1e-4)
    assert w.wall_shear_per_unit_flow(1e-2) == pytest.approx(4.0, rel=1e-4)
    assert w.pressure_gradient_per_unit_flow(1e-2) == pytest.approx(8.0, rel=1e-4)


def test_large_alpha_is_plug_flow_with_thin_stokes_layer() -> None:
    # core velocity -> mean velocity; Stokes layer of thickness delta = sqrt(2) R / alpha gives
    # |tau| ~ mu u_mean (1 + i)/delta, i.e. alpha * (mu Q / (pi R^3)) (Womersley 1955)
    assert abs(w.profile_per_unit_flow(0.0, 40.0)) == pytest.approx(1.0, rel=0.05)
    assert abs(w.wall_shear_per_unit_flow(40.0)) == pytest.approx(40.0, rel=0.05)


def test_flow_and_momentum_balance_of_womersley_flow() -> None:
    flow = w.WomersleyFlow(3e-3, 1050.0, 3.5e-3, 1.0, np.array([2e-6, 3e-6 - 1e-6j]))
    t = np.linspace(0, 1, 41)
    r = np.linspace(0, flow.radius, 2001)
    u = flow.velocity(r, t)
    q = np.trapezoid(2 * np.pi * r * u, r, axis=1)
    assert np.allclose(q, flow.flow(t), rtol=1e-5, atol=1e-12)
    # momentum over the cross-section: rho dQ/dt = pi R^2 G - 2 pi R tau_w
    dt = 1e-6
    dqdt = (flow.flow(t + dt) - flow.flow(t - dt)) / (2 * dt)
    lhs = flow.density * dqdt
    rhs = (math.pi * flow.radius**2 * flow.pressure_gradient(t)
           - 2 * math.pi * flow.radius * flow.wall_shear_stress(t))
    assert np.allclose(lhs, rhs, rtol=1e-6, atol=1e-9 * np.abs(rhs).max())
    assert flow.alpha() == pytest.approx(3e-3 * math.sqrt(2 * math.pi * 1050 / 3.5e-3))
