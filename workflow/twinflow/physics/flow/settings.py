r"""Settings of the flow solver: :class:`FlowSettings`, and the mapping of a carotid case.

**Solver settings** (a plain dict of SI floats, the ``--solver-settings`` JSON of
``twinflow simulate-flow``, parsed and checked by :meth:`FlowSettings.from_dict`):
``density`` and ``viscosity`` (blood, Newtonian), ``time_step``, ``cycles``, ``period``,
``inflow`` (:mod:`twinflow.physics.flow.inflow`), ``inflow_profile`` (womersley | parabolic |
plug), ``outlets`` {tag: model} (:mod:`twinflow.physics.flow.outlets`), ``inlet_tag``,
``wall_tag``, ``linear_solver`` (krylov | direct), ``krylov_rtol``, ``stabilisation``
(supg | none), ``convection`` (skew-symmetric | convective), ``time_scheme`` (bdf2 |
crank-nicolson), ``log_every`` (steps between diagnostic log lines, 0: none),
``output_every`` (steps between field outputs, 0: only the end of each cycle), ``probes``
[[x, y, z], ...], ``render`` (PNG renders), ``max_steps`` (benchmarks: stop early),
``cca_segment_diameters`` (:mod:`twinflow.physics.flow.summary`) and ``time_step_requested``
(recorded only). Several cycles are run; the last one is analysed.

**Carotid case** -> solver settings: :func:`carotid_flow_settings` (``case`` is the canonical
JSON of ``twinflow validate``):

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

``log_every`` = 10: the solver logs a diagnostic line (time, max cell Courant and Peclet
numbers, iterations, wall time) every 10 steps into the simulate log.

Facet tags are those of :mod:`twinflow.geometry.tags` unless ``mesh_json`` (the mesher's
``mesh_quality.json``) lists ``facet_tags`` {inlet, outlet_ica, outlet_eca, wall}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twinflow.errors import CaseError, InputError
from twinflow.geometry import tags
from twinflow.physics.flow.inflow import (
    HOLDSWORTH_MEAN_FLOW,
    HOLDSWORTH_PEAK_FLOW,
    FlowWaveform,
    waveform_from_settings,
)
from twinflow.physics.flow.outlets import FlowSplitOutlet, OutletModel, outlet_from_settings

#: Blood, Newtonian approximation (reference-data.md): density (kg/m^3), viscosity (Pa s).
BLOOD_DENSITY: float = 1050.0
BLOOD_VISCOSITY: float = 3.5e-3
#: Settings that take one of a few words (the default first).
CHOICES: dict[str, tuple[str, ...]] = {
    "inflow_profile": ("womersley", "parabolic", "plug"),
    "stabilisation": ("supg", "none"),
    "convection": ("skew-symmetric", "convective"),
    "time_scheme": ("bdf2", "crank-nicolson"),
    "linear_solver": ("krylov", "direct"),
}


@dataclass(slots=True)
class FlowSettings:
    """Solver settings (SI units). Built from a plain dict by :meth:`from_dict`."""

    density: float = BLOOD_DENSITY
    viscosity: float = BLOOD_VISCOSITY
    time_step: float = 1.0e-3
    cycles: int = 3
    waveform: FlowWaveform | None = None
    inflow_profile: str = "womersley"
    inlet_tag: int = tags.INLET
    wall_tag: int = tags.WALL
    outlets: dict[int, OutletModel] = field(default_factory=dict)
    linear_solver: str = "krylov"
    krylov_rtol: float = 1.0e-10
    stabilisation: str = "supg"
    convection: str = "skew-symmetric"
    time_scheme: str = "bdf2"
    log_every: int = 0
    output_every: int = 0
    probes: list[list[float]] = field(default_factory=list)
    render: bool = True
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def period(self) -> float:
        assert self.waveform is not None
        return self.waveform.period

    @property
    def steps_per_cycle(self) -> int:
        return int(round(self.period / self.time_step))

    @property
    def n_steps(self) -> int:
        """Steps of the run: ``cycles`` periods, or fewer with ``max_steps`` (benchmarks)."""
        n_steps = self.steps_per_cycle * self.cycles
        max_steps = self.raw.get("max_steps")
        return n_steps if max_steps is None else min(n_steps, int(max_steps))

    def writes_fields_at(self, step: int) -> bool:
        """Whether ``step`` writes the fields: every ``output_every`` steps, or (0) at the end
        of each period and of the run."""
        if self.output_every > 0:
            return step % self.output_every == 0
        return step % self.steps_per_cycle == 0 or step == self.n_steps

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "settings") -> FlowSettings:
        known = {"density", "viscosity", "time_step", "cycles", "period", "inflow",
                 "inflow_profile", "inlet_tag", "wall_tag", "outlets", "linear_solver",
                 "krylov_rtol", "output_every", "probes", "render", "max_steps",
                 "stabilisation", "convection", "time_scheme", "log_every",
                 "time_step_requested", "cca_segment_diameters"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{where}: unknown setting(s) {', '.join(unknown)}")
        s = cls(raw=dict(data))
        try:
            for key in ("density", "viscosity", "time_step", "krylov_rtol"):
                if key in data:
                    setattr(s, key, float(data[key]))
            for key in ("cycles", "inlet_tag", "wall_tag", "output_every", "log_every"):
                if key in data:
                    setattr(s, key, int(data[key]))
            s.render = bool(data.get("render", True))
            s.probes = [[float(c) for c in p] for p in data.get("probes", [])]
        except (TypeError, ValueError) as err:
            raise InputError(f"{where}: {err}") from None
        for key in ("density", "viscosity", "time_step"):
            if not getattr(s, key) > 0.0:
                raise InputError(f"{where}: {key} must be > 0")
        if s.cycles < 1:
            raise InputError(f"{where}: cycles must be >= 1")
        if any(len(p) != 3 for p in s.probes):
            raise InputError(f"{where}: probes must be [x, y, z] points")
        period = data.get("period")
        s.waveform = waveform_from_settings(data.get("inflow"),
                                            float(period) if period else None, where)
        if not s.waveform.period > 0.0:
            raise InputError(f"{where}: the period must be > 0")
        ratio = s.waveform.period / s.time_step
        if abs(ratio - round(ratio)) > 1e-6 * ratio:
            raise InputError(f"{where}: period {s.waveform.period} s is not a whole number "
                             f"of time steps {s.time_step} s")
        for key, options in CHOICES.items():
            value = str(data.get(key, options[0]))
            if value not in options:
                raise InputError(f"{where}: {key} must be {', '.join(options[:-1])} or "
                                 f"{options[-1]}")
            setattr(s, key, value)
        outlets = data.get("outlets", {str(tags.OUTLET): {"model": "pressure", "value": 0.0}})
        try:
            s.outlets = {int(tag): outlet_from_settings(spec, f"{where}: outlets.{tag}")
                         for tag, spec in outlets.items()}
        except (TypeError, ValueError, AttributeError):
            raise InputError(f"{where}: outlets must map facet tags to outlet models") from None
        if not s.outlets:
            raise InputError(f"{where}: at least one outlet is needed")
        if all(isinstance(m, FlowSplitOutlet) for m in s.outlets.values()):
            raise InputError(f"{where}: at least one outlet needs a pressure-type model")
        split = sum(m.fraction for m in s.outlets.values() if isinstance(m, FlowSplitOutlet))
        if split >= 1.0:
            raise InputError(f"{where}: prescribed flow fractions sum to {split} >= 1")
        if s.inlet_tag in s.outlets or s.wall_tag in s.outlets:
            raise InputError(f"{where}: an outlet tag equals the inlet or wall tag")
        return s



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
        "density": float(blood.get("density", BLOOD_DENSITY)),
        "viscosity": float(blood.get("viscosity", BLOOD_VISCOSITY)),
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
