r"""Passive calibration of the 3D LV to the Klotz end-diastolic pressure--volume relation.

Klotz EDPVR
-----------
Klotz et al. 2006 (Am J Physiol Heart Circ Physiol 291:H403) found that the human EDPVR,
normalised as :math:`V_n = (V - V_0)/(V_{30} - V_0)`, is one curve
:math:`P = A_n V_n^{B_n}` with :math:`A_n = 27.78` mmHg, :math:`B_n = 2.76`, and that the
unloaded volume follows from one (EDV, EDP) point (pressures in mmHg):

.. math::
    V_0 = \mathrm{EDV}\,(0.6 - 0.006\,\mathrm{EDP}),\qquad
    V_{30} = V_0 + \frac{\mathrm{EDV} - V_0}{(\mathrm{EDP}/A_n)^{1/B_n}} .

The patient's curve :math:`P = \alpha V^\beta` passes through :math:`(V_{30}, 30)` and
(EDV, EDP): :math:`\beta = \ln(\mathrm{EDP}/30)/\ln(\mathrm{EDV}/V_{30})`,
:math:`\alpha = 30/V_{30}^\beta` (V in mL). For EDP > 22 mmHg the protocol of Klotz et al.
2007 (Nat Protoc 2:2152) uses :math:`V_{15} = V_0 + 0.8(V_{30} - V_0)` and (EDV, EDP) instead:
:math:`\beta = \ln(\mathrm{EDP}/15)/\ln(\mathrm{EDV}/V_{15})`,
:math:`\alpha = \mathrm{EDP}/\mathrm{EDV}^\beta`; both are implemented. :math:`V_0` is the
zero-pressure volume of the curve (the power law itself reaches zero only at V = 0).

Fit
---
One factor :math:`s` on the passive strain energy (``model.passive_scale``,
:class:`~twinflow.physics.heart.model.ScaledPassive`) is chosen so that the LV *unloaded* at
:math:`s` from the imaged ED geometry at the EDP
(:func:`~twinflow.physics.heart.unloading.unload`; it re-inflates to the ED cavity volume at
the EDP by construction) meets one more point of Klotz's curve. Default (``target="v30"``):
re-inflated to 30 mmHg it has Klotz's :math:`V_{30}`,

.. math::
    \frac{V(s;\,30\,\mathrm{mmHg})}{V_{ED}} = \frac{V_{30}}{\mathrm{EDV}};
    \qquad\text{or (``target="v0"``)}\quad
    \frac{V_{unloaded}(s)}{V_{ED}} = \frac{V_0}{\mathrm{EDV}} = 0.6 - 0.006\,\mathrm{EDP},

with :math:`V_{ED}` the cavity volume of the ED mesh; the ratio form makes the target
independent of a difference between the mesh's cavity volume and a measured EDV. Why
:math:`V_{30}` by default: :math:`V_{30}` comes from Klotz's central finding (one normalised
curve shape), :math:`V_0` from a regression with wide scatter; and :math:`V_0` cannot be met by
this model. Measured on the 713-cell demo ellipsoid at EDP 8 mmHg (Klotz
:math:`V_0/\mathrm{EDV}` = 55 %): the unloaded volume is 83 % of the ED volume at
:math:`s = 1`, 71 % at :math:`s = 0.11` and 68 % at :math:`s = 0.05` with the epicardial
(pericardium) and basal springs, which the scale does not soften, carrying the load; without
the pericardium 74 % at :math:`s = 1`, 64 % at :math:`s = 0.33`, and softer LVs cannot be
inflated to the EDP. So the model's EDPVR is far flatter near zero pressure than Klotz's (see
the curve of :class:`PassiveFit`), and the fit matches the range the cycle works in
(EDP to 30 mmHg). :math:`V(s; 30\,\mathrm{mmHg})` falls and :math:`V_{unloaded}(s)` rises
monotonically with :math:`s`; the root in :math:`\ln s` is found by
``scipy.optimize.brentq`` after a bracket expansion by factors of :data:`BRACKET_FACTOR`
within ``bounds`` (a step whose unloading fails is halved towards the last converged scale,
:data:`BISECTIONS` times). Each evaluation unloads from the ED geometry, starting from the
previous evaluation's unloaded reference (a warm start of the same fixed point: the result
does not depend on it beyond the unloading tolerance).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.optimize import brentq

from twinflow.errors import TwinflowError
from twinflow.physics.heart.loading import ramp
from twinflow.physics.heart.mechanics.solver import ConvergenceError
from twinflow.physics.heart.model import LVModel
from twinflow.physics.heart.unloading import (
    MMHG,
    UnloadingError,
    UnloadingResult,
    move_reference,
    unload,
)

log = logging.getLogger(__name__)

ML = 1.0e-6
#: Klotz et al. 2006 normalised EDPVR constants (mmHg, dimensionless)
A_N, B_N = 27.78, 2.76
#: the bracket grows by this factor per step
BRACKET_FACTOR = 3.0
#: halvings of a bracket step towards the last converged scale when an unloading fails
BISECTIONS = 3
#: stiffer starting scales tried (x BRACKET_FACTOR each) when the first unloading fails
STIFFER_STARTS = 2


class PassiveFitError(TwinflowError):
    """No passive scale within bounds meets the Klotz unloaded volume (exit status 2)."""


@dataclass(frozen=True, slots=True)
class KlotzEDPVR:
    """Klotz et al. 2006 EDPVR of one (EDV, EDP) point; SI at the interface (m^3, Pa)."""

    edv_m3: float
    edp_pa: float
    v0_m3: float
    v30_m3: float
    alpha: float
    """P = alpha * V**beta with P in mmHg and V in mL."""
    beta: float

    def pressure(self, volume_m3: float) -> float:
        """Pressure on the curve (Pa); zero at and below V0."""
        if volume_m3 <= self.v0_m3:
            return 0.0
        return self.alpha * (volume_m3 / ML) ** self.beta * MMHG

    def volume(self, pressure_pa: float) -> float:
        """Volume on the curve (m^3); V0 where the power law falls below it."""
        if pressure_pa <= 0:
            return self.v0_m3
        v = (pressure_pa / MMHG / self.alpha) ** (1.0 / self.beta) * ML
        return max(v, self.v0_m3)


def klotz_edpvr(edv: float, edp: float) -> KlotzEDPVR:
    """Klotz EDPVR (module docstring) through ``edv`` (m^3) at ``edp`` (Pa)."""
    edp_mmhg = edp / MMHG
    if not (edv > 0 and 0 < edp_mmhg < 100):
        raise PassiveFitError(f"Klotz EDPVR needs EDV > 0 and 0 < EDP < 100 mmHg, "
                              f"got EDV {edv / ML:g} mL, EDP {edp_mmhg:g} mmHg")
    edv_ml = edv / ML
    v0 = edv_ml * (0.6 - 0.006 * edp_mmhg)
    v30 = v0 + (edv_ml - v0) / (edp_mmhg / A_N) ** (1.0 / B_N)
    if edp_mmhg <= 22.0:
        beta = math.log(edp_mmhg / 30.0) / math.log(edv_ml / v30)
        alpha = 30.0 / v30**beta
    else:
        v15 = v0 + 0.8 * (v30 - v0)
        beta = math.log(edp_mmhg / 15.0) / math.log(edv_ml / v15)
        alpha = edp_mmhg / edv_ml**beta
    return KlotzEDPVR(edv, edp, v0 * ML, v30 * ML, alpha, beta)


@dataclass(frozen=True, slots=True)
class CurvePoint:
    pressure_pa: float
    model_volume_m3: float | None
    """the unloaded model inflated to this pressure (None: not reached)."""
    klotz_volume_m3: float


@dataclass
class PassiveFit:
    """Result of :func:`fit_passive_scale`."""

    scale: float
    """the factor on the passive strain energy (dimensionless)."""
    klotz: KlotzEDPVR
    target: str
    """"v30" or "v0": the Klotz point fitted."""
    target_volume_m3: float
    """the volume aimed at: V_ED * V30/EDV (at 30 mmHg) or V_ED * V0/EDV (unloaded)."""
    achieved_volume_m3: float
    """the model's volume at the fitted scale (at 30 mmHg, or unloaded)."""
    unloaded_volume_m3: float
    unloading: UnloadingResult
    """the unloading at the fitted scale (the model is left there)."""
    curve: list[CurvePoint]
    evaluations: list[tuple[float, float]]
    """(scale, model volume m^3: at 30 mmHg or unloaded) of every evaluation, in order."""
    wall_time_s: float
    curve_notes: list[str] = field(default_factory=list)

    @property
    def volume_error(self) -> float:
        """Relative error of the achieved volume against the target."""
        return self.achieved_volume_m3 / self.target_volume_m3 - 1.0


def fit_passive_scale(model: LVModel, edv: float | None, edp: float, *,
                      target: Literal["v30", "v0"] = "v30",
                      bounds: tuple[float, float] = (0.05, 50.0), xtol: float = 5e-3,
                      curve_fractions: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
                      curve_top_pa: float | None = 30 * MMHG,
                      **unload_options: Any) -> PassiveFit:
    """Set ``model.passive_scale`` so the unloaded LV meets Klotz's ``target`` point.

    ``target``: ``"v30"`` (default) the unloaded LV re-inflated to 30 mmHg has Klotz's V30;
    ``"v0"`` the unloaded LV has Klotz's V0 (module docstring); both as fractions of the ED
    cavity volume. ``model``: built on the ED geometry (its current coordinates;
    ``passive_scale`` as start value). ``edv`` (m^3): the EDV of the Klotz curve (None: the
    mesh's ED cavity volume); ``edp`` (Pa). ``xtol``: tolerance of ln(s). ``unload_options``
    go to :func:`~twinflow.physics.heart.unloading.unload`. On return the model is unloaded at
    the fitted scale (zero load). The reported curve re-inflates it through
    ``curve_fractions`` of the EDP and ``curve_top_pa`` (30 mmHg: Klotz's V30; left out if
    not reached) and resets it. Raises :class:`PassiveFitError` when no scale in ``bounds``
    fits (the model is then back at the ED geometry and the starting scale).
    """
    t0 = time.perf_counter()
    x_ed = model.mesh.geometry.x.copy()
    model.reset()
    v_ed = model.newton.volume()
    klotz = klotz_edpvr(v_ed if edv is None else edv, edp)
    aim = (klotz.v0_m3 if target == "v0" else klotz.v30_m3) / klotz.edv_m3 * v_ed
    # V0 rises with the stiffness, V(30 mmHg) falls
    rising = target == "v0"
    what = ("unloaded volume" if target == "v0" else "volume at 30 mmHg")
    s_start = float(model.passive_scale.value)
    lo, hi = bounds
    evaluations: list[tuple[float, float]] = []
    cache: dict[float, tuple[UnloadingResult, float]] = {}

    def mismatch(log_s: float) -> float:
        """model value / V_ED - Klotz value / EDV; UnloadingError propagates."""
        if log_s not in cache:
            model.passive_scale.value = math.exp(log_s)
            res = unload(model, edp, loaded_coordinates=x_ed, **unload_options)
            value = res.unloaded_volume_m3
            if target == "v30":
                try:
                    ramp(model, model.pressure, 30 * MMHG, None, steps=4)
                    value = model.newton.volume()
                except ConvergenceError as err:
                    # the soft LV does not reach 30 mmHg (a limit point of the mesh):
                    # counted as too soft (volume above any target), so the bracket moves
                    # to stiffer scales
                    log.warning("passive fit: s %.4g not inflated to 30 mmHg (%s): counted "
                                "as too soft", math.exp(log_s), err)
                    value = 2.0 * aim
                model.reset()
            cache[log_s] = (res, value)
            evaluations.append((math.exp(log_s), value))
            log.info("passive fit: s %.4g -> %s %.2f mL (Klotz %.2f mL), %d unloading its",
                     math.exp(log_s), what, value / ML, aim / ML, res.iterations)
        return (cache[log_s][1] - aim) / v_ed

    def fail(message: str) -> PassiveFitError:
        move_reference(model, x_ed)
        model.reset()
        model.reference_volume = v_ed
        model.passive_scale.value = s_start
        return PassiveFitError(
            f"passive fit to the Klotz EDPVR ({what} {aim / ML:.1f} mL, "
            f"{100 * aim / v_ed:.1f} % of the ED cavity {v_ed / ML:.1f} mL, EDP "
            f"{edp / MMHG:.1f} mmHg) failed: {message}")

    a = math.log(min(max(s_start, lo), hi))
    for attempt in range(STIFFER_STARTS + 1):
        try:
            fa = mismatch(a)
            break
        except UnloadingError as err:
            # an unloading that inverts cells means a wall too soft for the EDP: the fit
            # starts again from a stiffer scale (the bracket may still move back)
            if attempt == STIFFER_STARTS or a >= math.log(hi) - 1e-12:
                raise fail(f"at scale {math.exp(a):.3g}: {err}") from None
            log.warning("passive fit: unloading at scale %.3g failed (%s); starting from "
                        "a stiffer scale", math.exp(a), err)
            a = min(a + math.log(BRACKET_FACTOR), math.log(hi))
    step = math.log(BRACKET_FACTOR) * (-1.0 if (fa > 0) == rising else 1.0)
    b, fb = a, fa
    while fb * fa > 0:
        if (step < 0 and b <= math.log(lo) + 1e-12) or (step > 0 and b >= math.log(hi) - 1e-12):
            edge = "softest" if step < 0 else "stiffest"
            why = (" (the wall is too thick, or the passive law and the epicardial/basal "
                   "springs, which the scale leaves unchanged, too stiff for this EDP)"
                   if step < 0 else "")
            raise fail(f"even the {edge} scale {math.exp(b):.3g} gives "
                       f"{cache[b][1] / ML:.1f} mL{why}")
        a, fa = b, fb
        b = min(max(b + step, math.log(lo)), math.log(hi))
        for halving in range(BISECTIONS + 1):
            try:
                fb = mismatch(b)
                break
            except UnloadingError as err:
                if halving == BISECTIONS:
                    raise fail(f"at scale {math.exp(b):.3g} (the last converged "
                               f"{math.exp(a):.3g} gives {cache[a][1] / ML:.1f} mL): "
                               f"{err}") from None
                b = 0.5 * (a + b)  # closer to the last scale that converged
    try:
        root = brentq(mismatch, min(a, b), max(a, b), xtol=xtol, rtol=4 * np.finfo(float).eps)
    except UnloadingError as err:
        raise fail(f"inside the bracket: {err}") from None
    if evaluations[-1][0] != math.exp(root):
        cache.pop(root, None)
        mismatch(root)  # leave the model unloaded at the root
    result, value = cache[root]
    curve, notes = _curve(model, klotz, edp, curve_fractions, curve_top_pa)
    return PassiveFit(scale=math.exp(root), klotz=klotz, target=target,
                      target_volume_m3=aim, achieved_volume_m3=value,
                      unloaded_volume_m3=result.unloaded_volume_m3, unloading=result,
                      curve=curve, evaluations=evaluations,
                      wall_time_s=time.perf_counter() - t0, curve_notes=notes)


def _curve(model: LVModel, klotz: KlotzEDPVR, edp: float, fractions: tuple[float, ...],
           top: float | None) -> tuple[list[CurvePoint], list[str]]:
    """Re-inflate the unloaded model through the pressures; Klotz's volumes beside."""
    pressures = sorted({f * edp for f in fractions} | ({top} if top and top > edp else set()))
    model.reset()
    out: list[CurvePoint] = []
    notes: list[str] = []
    for p in pressures:
        v: float | None
        try:
            ramp(model, model.pressure, p, None, steps=2)
            v = model.newton.volume()
        except ConvergenceError as err:
            notes.append(f"model not inflated to {p / MMHG:.1f} mmHg ({err})")
            v = None
        out.append(CurvePoint(p, v, klotz.volume(p)))
        if v is None:
            break
    model.reset()
    return out, notes
