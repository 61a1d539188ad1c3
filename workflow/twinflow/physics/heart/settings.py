r"""What the heart simulation reads from a canonical LV case.

:func:`read_case` opens ``case.json``; :meth:`CycleSettings.from_case` takes the run settings
of its ``simulation`` section, :func:`activation_from_case` the calcium transient and the
tension law of ``physics.activation``, :func:`circulation_parameters` the 0D circulation of
``physics.circulation`` (with the scenario's drug factors and the activation timing).

Calibration
-----------
Nothing is tuned here: the case's values are used as given, or, when the case has a measured
blood pressure, the parameters calibrated to the patient by ``personalise_lv``
(:mod:`twinflow.physics.heart.personalise`) replace them (``activation_from_case(case,
t_ref)``, ``circulation_parameters(..., calibrated)``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinflow.errors import CaseError
from twinflow.physics.heart.activation import Activation, BiexponentialCalcium
from twinflow.physics.heart.circulation import MMHG, regazzoni_parameters
from twinflow.physics.heart.mechanics.active_stress import (
    HunterMcCullochTerKeurs1998,
    length_dependence,
    velocity_dependence,
)
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

#: PR interval used to place atrial contraction before the ventricle's (0.12-0.20 s normal
#: adult range; 0.16 s taken).
PR_INTERVAL_S = 0.16

#: End-diastolic pressure of the passive probes when the case gives none (Pa; 8 mmHg, inside
#: the 5-12 mmHg normal range of reference-data.md).
DEFAULT_END_DIASTOLIC_PRESSURE_PA = 8 * MMHG


def read_case(settings: Path) -> dict[str, Any]:
    """The ``simulate_heart`` settings of one scenario (``results/<id>/settings/<scenario>/
    simulate_heart.json``: anatomy, geometry, physics, simulation and scenario of the case)."""
    return read_stage_settings(settings, "simulate_heart")


def case_value(case: dict[str, Any], path: str) -> Any:
    """The value at a dotted key path (``physics.activation.reference_tension``), or None."""
    node: Any = case
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


@dataclass
class SolverSettings:
    """Discretisation and Newton options of the coupled solve."""

    degree: int = 2
    """Polynomial degree of the displacement (P2-P1 Taylor-Hood with the pressure)."""
    substeps_0d: int = 4
    """Forward-Euler sub-steps of the 0D state per time step."""
    reuse_jacobian: bool = True
    """Modified Newton with a reused LU factorisation (CavityNewton.reuse_jacobian)."""
    lag_border: bool = True
    """Lag K^-1 g with the factorisation (CavityNewton.lag_border)."""
    extrapolate: bool = False
    """Initial guess of a step: linear extrapolation of the last two steps' state and p_LV.
    Off by default: on the 713-tet LV (dt 2 ms, first 150 steps) it saved 7 % of the
    Newton iterations but cost 21 % more factorisations (the lagged matrix is refreshed
    more often from the closer start), no net gain (docs/lv-cycle.md)."""


@dataclass
class CycleSettings:
    """How a cycle run steps and stops, and its solver."""

    time_step: float
    """Coupled time step (s); divides the beat length (:func:`beat_time_step`)."""
    max_beats: int
    """Beats at most (``simulation.cycles``); fewer when the run is periodic earlier."""
    max_steps: int | None = None
    """Stop after this many time steps in all (short test runs)."""
    output_every: int = 10
    """Write the fields every N steps (0: never)."""
    periodicity_tol: float = 0.01
    """Periodic when the periodicity error of a comparable beat is below this fraction."""
    refit_surrogate: bool = True
    """After the first 3D beat, restart from the periodic 0D state with the LV linearised
    about that beat (see :func:`~twinflow.physics.heart.coupling.beat_linearised_lv`)."""
    solver: SolverSettings = field(default_factory=SolverSettings)

    @classmethod
    def from_case(cls, case: dict[str, Any], time_step: float | None = None,
                  max_beats: int | None = None, **options: Any) -> CycleSettings:
        """Settings of the case's ``simulation`` section (time step, ``cycles`` = most
        beats); ``time_step``/``max_beats`` override it when given (not None or 0)."""
        sim = case.get("simulation", {})
        dt = time_step or float(sim.get("time_step", 2e-3))
        heart_rate = ((case.get("physics") or {}).get("circulation") or {}).get("heart_rate")
        if heart_rate:
            dt = beat_time_step(1.0 / float(heart_rate), dt)
        return cls(time_step=dt, max_beats=max_beats or int(sim.get("cycles", 3)), **options)


def beat_time_step(beat_s: float, time_step: float) -> float:
    """The time step nearest ``time_step`` that divides the beat: ``beat / round(beat / dt)``
    (a beat is a whole number of coupled steps, so beats can be compared step by step). A
    case's heart rate rarely gives a beat that is a multiple of its time step (71 bpm: a
    0.84507 s beat, 10 ms -> 85 steps of 9.94 ms); the change is logged."""
    n = max(1, round(beat_s / time_step))
    step = beat_s / n
    if abs(step - time_step) > 1e-9 * time_step:
        log.info("time step %.6g s -> %.6g s: %d steps per %.6g s beat", time_step, step, n,
                 beat_s)
    return step


def end_diastolic_pressure(case: dict[str, Any]) -> float:
    """End-diastolic pressure (Pa): ``measurements.end_diastolic_pressure`` or the default."""
    return end_diastolic_pressure_source(case)[0]


def end_diastolic_pressure_source(case: dict[str, Any]) -> tuple[float, str]:
    """End-diastolic pressure (Pa) and where it comes from (``case`` or ``default``)."""
    edp = (case.get("measurements") or {}).get("end_diastolic_pressure")
    if edp is None:
        return DEFAULT_END_DIASTOLIC_PRESSURE_PA, "default"
    return float(edp), "case"


def activation_from_case(case: dict[str, Any], t_ref: float | None = None) -> Activation:
    """Calcium transient (µM, periodic in the beat) and HMT 1998 tension of the case
    (``t_ref``, Pa: a calibrated reference tension instead of the case's)."""
    act = case["physics"]["activation"]
    ca = act["calcium"]
    hr = float(case["physics"]["circulation"]["heart_rate"])
    to_um = 1.0e3  # mol/m^3 -> µM
    transient = BiexponentialCalcium(ca["diastolic"] * to_um, ca["peak"] * to_um, ca["onset"],
                                     ca.get("rise_time", 0.05), ca["decay_time"], 1.0 / hr)
    hmt = HunterMcCullochTerKeurs1998(t_ref=float(act["reference_tension"] if t_ref is None
                                                  else t_ref),
                                      beta0=length_dependence(act))
    return Activation(transient, hmt, float(act.get("transverse_fraction", 0.0)),
                      velocity_dependence(act))


def circulation_parameters(case: dict[str, Any], factors: dict[str, float],
                           activation: Activation, where: str,
                           calibrated: dict[str, str] | None = None) -> dict[str, Any]:
    """Regazzoni 2020 parameters (mmHg, mL, s) of the case, ``calibrated`` values (flat name ->
    quantity text) replacing the case's, drug ``factors`` (by flat name) applied on top, the
    ventricles timed by the 3D activation and the atria a PR interval earlier."""
    circ = case["physics"]["circulation"]
    if circ.get("model", "regazzoni2020") != "regazzoni2020":
        raise CaseError(f"{where}: the cycle study couples the 3D LV to regazzoni2020 only "
                        f"(got {circ['model']})")
    overrides = {**dict(circ.get("parameters") or {}), **(calibrated or {})}
    params = regazzoni_parameters(float(circ["heart_rate"]), overrides, factors, where)
    tim = activation.timing()
    rr = 1.0 / float(circ["heart_rate"])
    for ch in ("LV", "RV"):
        params["chambers"][ch]["tC"] = tim.onset % rr
        params["chambers"][ch]["TC"] = tim.contraction
        params["chambers"][ch]["TR"] = tim.relaxation
    for ch in ("LA", "RA"):
        params["chambers"][ch]["tC"] = (tim.onset - PR_INTERVAL_S) % rr
    return params
