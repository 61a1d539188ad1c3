"""Quasi-static loading of the 3D LV: pressure, volume and active-tension ramps.

Each load step is one Newton solve of
:class:`~twinflow.physics.heart.mechanics.cavity.CavityNewton` with the cavity pressure either
prescribed (``target`` None) or the unknown that meets a prescribed volume
(:func:`volume_target`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twinflow.physics.heart.mechanics.cavity import VolumeTarget
from twinflow.physics.heart.mechanics.solver import ConvergenceError
from twinflow.physics.heart.model import LVModel


def volume_target(v: float) -> VolumeTarget:
    """The cavity-volume constraint V_3D = v (m^3), independent of the pressure."""
    return lambda p: (v, 0.0)


def ramp_volume(model: LVModel, v_target: float, steps: int = 8,
                min_fraction: float = 1.0 / 64) -> int:
    """Volume-controlled quasi-static loading from the current volume to ``v_target`` (m^3)
    in ``steps`` increments, halving the increment on divergence (down to ``min_fraction`` of
    the way; ``min_fraction = 1/steps``: fixed steps) as :func:`ramp` does; returns the Newton
    iterations. Raises ConvergenceError when the smallest step fails."""
    v0 = model.newton.volume()
    return _halving(model, lambda f: model.newton.solve(volume_target(v0 + (v_target - v0) * f)),
                    steps, min_fraction)


def inflate_to_pressure(model: LVModel, p_target: float, steps: int = 5
                        ) -> list[tuple[float, float]]:
    """Pressure-controlled loading; returns (p, V) after each step (Pa, m^3)."""
    p0 = float(model.pressure.value)
    out = []
    for k in range(1, steps + 1):
        model.pressure.value = p0 + (p_target - p0) * k / steps
        model.newton.solve(None)
        out.append((float(model.pressure.value), model.newton.volume()))
    return out


def ramp(model: LVModel, load: Any, target: float, constraint: VolumeTarget | None,
         steps: int = 4, min_fraction: float = 1.0 / 256) -> int:
    """Raise ``load`` (a Constant) to ``target`` in ``steps`` increments, halving the
    increment on divergence (down to ``min_fraction`` of the ramp); returns the iterations."""
    start = float(load.value)

    def solve_at(fraction: float) -> int:
        load.value = start + (target - start) * fraction
        return model.newton.solve(constraint)

    return _halving(model, solve_at, steps, min_fraction)


def _halving(model: LVModel, solve_at: Callable[[float], int], steps: int,
             min_fraction: float) -> int:
    """Solve at fractions 1/steps, 2/steps, ... 1 of a load path; where Newton diverges, go
    back to the last converged state and halve the increment (down to ``min_fraction``)."""
    done, incr, its = 0.0, 1.0 / steps, 0
    while done < 1.0 - 1e-12:
        before = model.snapshot()
        frac = min(done + incr, 1.0)
        try:
            its += solve_at(frac)
        except ConvergenceError:
            model.restore(before)
            incr /= 2
            if incr < min_fraction:
                raise
            continue
        done = frac
    return its
