r"""Canonical carotid case (SI JSON) -> settings of :mod:`twinflow.physics.navier_stokes`.

:func:`carotid_flow_settings` maps (``case`` is the canonical JSON of ``twinflow validate``):

=========================================  ====================================================
case                                       solver setting
=========================================  ====================================================
physics.blood.density / viscosity          ``density`` / ``viscosity``
physics.inflow.period                      ``period``
physics.inflow.waveform = holdsworth1999   ``inflow = {type: holdsworth1999, mean, peak}``,
                                           peak = mean x 23.5/6.0 (Holdsworth et al. 1999
                                           peak/mean ratio, inflow.py)
physics.inflow.waveform = steady           ``inflow = {type: steady, flow: mean_flow}``
physics.inflow.waveform = sinusoidal       ``inflow = {type: fourier, mean: mean_flow,
                                           cos: [amplitude], sin: [0]}``,
                                           :math:`Q = \bar Q + A\cos(2\pi t/T)`
physics.inflow.waveform = table            ``inflow = {type: table, time, flow}``
physics.inflow.profile                     ``inflow_profile``
simulation.time_step                       ``time_step`` = T / round(T / dt) (see below)
simulation.cycles                          ``cycles``
physics.outlets (geometry.kind = tube)     one outlet, tag OUTLET = 2 (the "ica" entry of
                                           resistance/windkessel, a pressure outlet for
                                           flow-split: a tube has nothing to split)
physics.outlets.model = flow-split         ECA (tag 3): ``flow_split`` with 1 - ica_fraction;
                                           ICA (tag 2): ``pressure`` = outlets.pressure (its
                                           flow is the rest of the inflow by mass conservation)
physics.outlets.model = resistance         ``{model: resistance, resistance: R_ica/eca,
                                           pressure_ref: outlets.pressure}``
physics.outlets.model = windkessel         ``{model: windkessel, proximal_resistance,
                                           capacitance: compliance, distal_resistance,
                                           pressure_ref, initial_pressure}``
=========================================  ====================================================

Time step: the period must be a whole number of steps, so the step is rounded to
:math:`\Delta t = T/\mathrm{round}(T/\Delta t_{case})` (at least one step per period); the
settings record ``time_step_requested`` next to it in the summary's ``settings``.

Windkessel initial pressure: :math:`p_c(0) = p_0 + R_d\,\bar Q_i` with the branch mean flow
:math:`\bar Q_i` estimated from the parallel total resistances
:math:`\bar Q_i = \bar Q\,(1/R_i)/\sum_k(1/R_k)`, :math:`R_i = R_{p,i} + R_{d,i}`; starting at the
periodic mean shortens the transient (which decays like :math:`e^{-t/(R_dC)}`).

``log_every`` = 10: the solver prints a progress line (time, max cell Courant and Peclet
numbers, iterations, wall time) every 10 steps into the simulate log.

Facet tags are those of :mod:`twinflow.geometry.tags` unless ``mesh_json`` (the mesher's
``mesh_quality.json``) lists ``facet_tags`` {inlet, outlet_ica, outlet_eca, wall}.
"""

from __future__ import annotations

from typing import Any

from twinflow.errors import CaseError
from twinflow.geometry import tags
from twinflow.physics.flow.inflow import HOLDSWORTH_MEAN_FLOW, HOLDSWORTH_PEAK_FLOW


def _get(data: dict[str, Any], *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data or data[key] is None:
            return default
        data = data[key]
    return data


def rounded_time_step(period: float, time_step: float) -> float:
    """The step closest to ``time_step`` that divides ``period`` (module docstring)."""
    if not (period > 0 and time_step > 0):
        raise CaseError(f"case: period ({period}) and time_step ({time_step}) must be > 0")
    return period / max(1, round(period / time_step))


def _inflow(inflow: dict[str, Any]) -> dict[str, Any]:
    kind = inflow.get("waveform", "holdsworth1999")
    mean = float(inflow.get("mean_flow", HOLDSWORTH_MEAN_FLOW))
    if kind == "holdsworth1999":
        return {"type": "holdsworth1999", "mean": mean,
                "peak": mean * HOLDSWORTH_PEAK_FLOW / HOLDSWORTH_MEAN_FLOW}
    if kind == "steady":
        return {"type": "steady", "flow": mean}
    if kind == "sinusoidal":
        return {"type": "fourier", "mean": mean, "cos": [float(inflow.get("amplitude", 0.0))],
                "sin": [0.0]}
    if kind == "table":
        table = inflow.get("table") or {}
        if not table.get("time") or not table.get("flow"):
            raise CaseError("case: physics.inflow.waveform is table but physics.inflow.table "
                            "has no time/flow")
        return {"type": "table", "time": [float(t) for t in table["time"]],
                "flow": [float(q) for q in table["flow"]]}
    raise CaseError(f"case: unknown physics.inflow.waveform {kind!r}")


def _outlet(model: str, outlets: dict[str, Any], branch: str, p0: float,
            weight: float, mean_flow: float) -> dict[str, Any]:
    if model == "resistance":
        r = _get(outlets, "resistance", branch)
        if r is None:
            raise CaseError(f"case: physics.outlets.resistance.{branch} is missing")
        return {"model": "resistance", "resistance": float(r), "pressure_ref": p0}
    wk = _get(outlets, "windkessel", branch)
    if wk is None:
        raise CaseError(f"case: physics.outlets.windkessel.{branch} is missing")
    rd = float(wk["distal_resistance"])
    return {"model": "windkessel", "proximal_resistance": float(wk["proximal_resistance"]),
            "capacitance": float(wk["compliance"]), "distal_resistance": rd,
            "pressure_ref": p0, "initial_pressure": p0 + rd * weight * mean_flow}


def _total_resistance(model: str, outlets: dict[str, Any], branch: str) -> float | None:
    if model == "resistance":
        r = _get(outlets, "resistance", branch)
        return None if r is None else float(r)
    wk = _get(outlets, "windkessel", branch)
    return None if wk is None else float(wk["proximal_resistance"]) + float(
        wk["distal_resistance"])


def carotid_flow_settings(case_json: dict[str, Any],
                          mesh_json: dict[str, Any] | None = None) -> dict[str, Any]:
    """Solver settings dict from the canonical carotid case (module docstring)."""
    if case_json.get("anatomy") != "carotid":
        raise CaseError(f"case: anatomy is {case_json.get('anatomy')!r}, not carotid")
    blood = _get(case_json, "physics", "blood", default={})
    inflow = _get(case_json, "physics", "inflow", default={})
    outlets = _get(case_json, "physics", "outlets", default={})
    sim = _get(case_json, "simulation", default={})
    kind = _get(case_json, "geometry", "kind", default="bifurcation")
    facet = dict(_get(mesh_json or {}, "facet_tags", default={}))
    t_in = int(facet.get("inlet", tags.INLET))
    t_ica = int(facet.get("outlet_ica", tags.OUTLET_ICA))
    t_eca = int(facet.get("outlet_eca", tags.OUTLET_ECA))
    t_wall = int(facet.get("wall", tags.WALL))

    period = float(inflow.get("period", 0.92))
    dt_case = float(sim.get("time_step", 2.0e-3))
    mean_flow = float(inflow.get("mean_flow", HOLDSWORTH_MEAN_FLOW))
    model = outlets.get("model", "flow-split")
    p0 = float(outlets.get("pressure", 0.0))
    if kind == "tube":
        if model == "flow-split":
            out = {str(t_ica): {"model": "pressure", "value": p0}}
        else:
            out = {str(t_ica): _outlet(model, outlets, "ica", p0, 1.0, mean_flow)}
    elif model == "flow-split":
        fraction = float(outlets.get("ica_fraction", 0.6))
        if not 0.0 < fraction < 1.0:
            raise CaseError(f"case: physics.outlets.ica_fraction must be in (0, 1), "
                            f"got {fraction}")
        out = {str(t_ica): {"model": "pressure", "value": p0},
               str(t_eca): {"model": "flow_split", "fraction": 1.0 - fraction}}
    elif model in ("resistance", "windkessel"):
        totals = {b: _total_resistance(model, outlets, b) for b in ("ica", "eca")}
        missing = [b for b, r in totals.items() if r is None]
        if missing:
            raise CaseError(f"case: physics.outlets.{model}.{missing[0]} is missing")
        conductance = {b: 1.0 / r for b, r in totals.items()}  # type: ignore[operator]
        total = sum(conductance.values())
        out = {str(t): _outlet(model, outlets, b, p0, conductance[b] / total, mean_flow)
               for t, b in ((t_ica, "ica"), (t_eca, "eca"))}
    else:
        raise CaseError(f"case: unknown physics.outlets.model {model!r}")
    return {
        "density": float(blood.get("density", 1050.0)),
        "viscosity": float(blood.get("viscosity", 3.5e-3)),
        "period": period,
        "time_step": rounded_time_step(period, dt_case),
        "time_step_requested": dt_case,
        "cycles": int(sim.get("cycles", 3)),
        "inflow": _inflow(inflow),
        "inflow_profile": str(inflow.get("profile", "womersley")),
        "inlet_tag": t_in,
        "wall_tag": t_wall,
        "outlets": out,
        "log_every": 10,  # a progress line (Courant, Peclet, iterations) every 10 steps
    }
