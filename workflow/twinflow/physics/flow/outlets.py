r"""Outlet boundary models for the Navier--Stokes solver.

Every outlet (facet tag) gets one model, from ``settings["outlets"][str(tag)]``:

- ``{"model": "pressure", "value": p}``: a fixed mean pressure (Pa, default 0).
- ``{"model": "resistance", "resistance": R, "pressure_ref": p0}``: :math:`p = p_0 + R\,Q`
  (R in Pa s/m^3).
- ``{"model": "windkessel", "proximal_resistance": Rp, "capacitance": C,
  "distal_resistance": Rd, "pressure_ref": p0, "initial_pressure": pc0}``: the three-element
  Windkessel (RCR; Westerhof et al. 2009, Med Biol Eng Comput 47:131):
  :math:`p = R_p Q + p_c`, :math:`C\,\dot p_c = Q - (p_c - p_0)/R_d`.
- ``{"model": "flow_split", "fraction": f}``: the outlet flow is prescribed as
  :math:`f\,Q_{in}(t)` (a Dirichlet velocity profile, see
  :class:`twinflow.physics.flow.boundary.OpeningProfile`); at least one outlet must have a
  pressure-type model (pressure, resistance, windkessel) so the pressure level is defined.

Coupling (implicit). Each pressure-type model, discretised in time, is an *affine* relation
between the end-of-step outlet pressure and flow,

.. math:: P^{n+1} = a\,Q^{n+1} + b^n,

with :math:`a = 0, b = p` (pressure), :math:`a = R, b = p_0` (resistance) and, for the
Windkessel with the implicit Euler rule
:math:`p_c^{n+1} = (p_c^n + \Delta t\,(Q^{n+1} + p_0/R_d)/C)/(1 + \Delta t/(R_d C))`,
:math:`a = R_p + (\Delta t/C)/(1+\Delta t/(R_dC))`,
:math:`b = (p_c^n + \Delta t\,p_0/(R_dC))/(1+\Delta t/(R_dC))`.
:meth:`affine` returns :math:`(a, b)` without changing the state; :meth:`advance` commits the
step once :math:`Q^{n+1}` is known. The flow solver
(:mod:`twinflow.physics.flow.coupling`) solves these relations *together* with the flow: in its
pressure-correction scheme the end-of-step outlet flows are an affine function of the outlet
pressures, :math:`Q^{n+1} = Q^0 + G P^{n+1}`, with an influence matrix :math:`G` that is
constant in time, so the 0D/3D system is closed exactly each step (no lag, no iteration).
This is the implicit 3D--0D coupling of Vignon-Clementel et al. 2006 (Comput Methods Appl Mech
Eng 195:3776, the 0D model as a Dirichlet-to-Neumann map imposed implicitly) and Esmaily
Moghadam et al. 2013 (J Comput Phys 244:63, implicit coupling through the 0D tangent
:math:`\partial P/\partial Q`), specialised to a splitting scheme where the tangent of the flow
step is available in closed form. The explicit rule :math:`P^{n+1} = P(Q^n)` is unstable once
:math:`R \gtrsim \rho L/(A\,\Delta t)`, which holds for physiological carotid resistances
(~1e9--1e10 Pa s/m^3) at millisecond steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twinflow.errors import InputError


@dataclass(slots=True)
class PressureOutlet:
    """Constant outlet pressure (Pa)."""

    value: float = 0.0

    def affine(self, dt: float) -> tuple[float, float]:
        """(a, b) of :math:`P^{n+1} = a Q^{n+1} + b` (module docstring)."""
        return 0.0, self.value

    def advance(self, flow: float, dt: float) -> float:
        """Commit the step with the end-of-step flow; returns the outlet pressure."""
        return self.value


@dataclass(slots=True)
class ResistanceOutlet:
    r""":math:`p = p_0 + R Q`."""

    resistance: float
    pressure_ref: float = 0.0

    def affine(self, dt: float) -> tuple[float, float]:
        """(a, b) of :math:`P^{n+1} = a Q^{n+1} + b` (module docstring)."""
        return self.resistance, self.pressure_ref

    def advance(self, flow: float, dt: float) -> float:
        """Commit the step with the end-of-step flow; returns the outlet pressure."""
        return self.pressure_ref + self.resistance * flow


@dataclass(slots=True)
class WindkesselOutlet:
    r"""Three-element Windkessel: :math:`p = R_p Q + p_c`, :math:`C\dot p_c = Q - (p_c-p_0)/R_d`."""

    proximal_resistance: float
    capacitance: float
    distal_resistance: float
    pressure_ref: float = 0.0
    state: float = 0.0  # p_c, the pressure over the capacitor (Pa)

    def affine(self, dt: float) -> tuple[float, float]:
        """(a, b) of :math:`P^{n+1} = a Q^{n+1} + b` (implicit Euler, module docstring)."""
        rd, c = self.distal_resistance, self.capacitance
        denom = 1.0 + dt / (rd * c)
        return (self.proximal_resistance + dt / c / denom,
                (self.state + dt * self.pressure_ref / (rd * c)) / denom)

    def advance(self, flow: float, dt: float) -> float:
        """Commit the step (advance :math:`p_c`) with the end-of-step flow; returns P."""
        rd, c = self.distal_resistance, self.capacitance
        self.state = (self.state + dt * (flow + self.pressure_ref / rd) / c) / (1.0 + dt / (rd * c))
        return self.proximal_resistance * flow + self.state


@dataclass(slots=True)
class FlowSplitOutlet:
    """Prescribed fraction of the inflow leaving through this outlet."""

    fraction: float


PressureModel = PressureOutlet | ResistanceOutlet | WindkesselOutlet
OutletModel = PressureOutlet | ResistanceOutlet | WindkesselOutlet | FlowSplitOutlet


def _positive(spec: dict[str, Any], key: str, where: str) -> float:
    try:
        value = float(spec[key])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{where}: outlet needs a number {key!r}") from None
    if not value > 0.0:
        raise InputError(f"{where}: outlet {key} must be > 0 (got {value})")
    return value


def outlet_from_settings(spec: dict[str, Any], where: str) -> OutletModel:
    """Build one outlet model from its settings (see module docstring)."""
    model = spec.get("model", "pressure")
    p0 = float(spec.get("pressure_ref", 0.0))
    if model == "pressure":
        return PressureOutlet(float(spec.get("value", 0.0)))
    if model == "resistance":
        return ResistanceOutlet(_positive(spec, "resistance", where), p0)
    if model == "windkessel":
        return WindkesselOutlet(_positive(spec, "proximal_resistance", where),
                                _positive(spec, "capacitance" if "capacitance" in spec
                                          else "compliance", where),
                                _positive(spec, "distal_resistance", where), p0,
                                float(spec.get("initial_pressure", p0)))
    if model == "flow_split":
        fraction = _positive(spec, "fraction", where)
        if fraction >= 1.0:
            raise InputError(f"{where}: flow_split fraction must be < 1 (got {fraction})")
        return FlowSplitOutlet(fraction)
    raise InputError(f"{where}: unknown outlet model {model!r} "
                     "(pressure, resistance, windkessel, flow_split)")
