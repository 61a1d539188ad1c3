"""From a drug regimen (dose, frequency, duration) to model-parameter changes.

Simplified pharmacodynamic model — stated here and in every output that uses it:

1. Each mechanism of a drug has an observed fractional change ``observed`` of one model
   parameter at a studied daily dose ``reference_daily_dose`` after ``reference_duration``
   (clinical trial means; sources per effect below).
2. Dose response: an Emax model, change(D) = E_max * D / (ED50 + D), with the **assumption**
   ED50 = reference daily dose (so E_max = 2 * observed); no dose-finding data for the
   mechanism-to-parameter mapping exists in the sources used.
3. Time course: first-order onset, change(t) = change_inf * (1 - exp(-t / tau)), scaled so the
   observed change is reached at the reference duration; tau per mechanism (haemodynamic
   effects within weeks, remodelling over months).

The result is a multiplicative factor per parameter name (``circulation.R_AR_SYS``,
``geometry.wall_thickness`` ...). :func:`scenario_effects` is the one place that maps a case's
scenario onto these factors; the stage ``drug_effects`` writes them per scenario
(:class:`~twinflow.artifacts.drugs.DrugEffects`), and the LV mesher takes the wall-thickness
factor (remodelling at a fixed cavity), the heart simulation the ``circulation.*`` factors.
This is a population-mean, deterministic mapping: no inter-patient variability, no PK model.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinflow.artifacts.drugs import DrugEffects
from twinflow.drugs.library import get_drug
from twinflow.stages import read_stage_settings
from twinflow.units import to_si

log = logging.getLogger(__name__)

SIMPLIFICATIONS = (
    "drug effects: population-mean changes from clinical trials mapped onto model parameters",
    "dose response: Emax model with ED50 assumed equal to the studied daily dose",
    "time course: first-order onset calibrated to the trial duration; no pharmacokinetics",
)


@dataclass(frozen=True, slots=True)
class Effect:
    """One mechanism: a fractional change of one model parameter at a studied regimen."""

    parameter: str
    observed: float
    """Fractional change observed at the reference regimen (e.g. -0.107)."""
    reference_daily_dose_kg: float
    reference_duration_s: float
    time_constant_s: float
    source: str
    assumption: str = ""

    def change(self, daily_dose_kg: float, duration_s: float) -> float:
        emax = 2.0 * self.observed  # ED50 = reference dose: E(ref) = Emax / 2
        dose_term = emax * daily_dose_kg / (self.reference_daily_dose_kg + daily_dose_kg)
        onset = 1.0 - math.exp(-duration_s / self.time_constant_s)
        onset_ref = 1.0 - math.exp(-self.reference_duration_s / self.time_constant_s)
        return dose_term * onset / onset_ref


_MONTH = to_si(1, "month")
_WEEK = to_si(1, "week")

# Thürmann 1998: valsartan 80 mg/day, 8 months; BP 163/101 -> 146/90 mmHg. Mean arterial
# pressure (DBP + (SBP - DBP)/3) 121.7 -> 108.7 mmHg: -10.7 %. With cardiac output unchanged
# (assumption) systemic arterial resistance falls by the same fraction.
_MAP_BEFORE = 101 + (163 - 101) / 3
_MAP_AFTER = 90 + (146 - 90) / 3
_AFTERLOAD = _MAP_AFTER / _MAP_BEFORE - 1.0
# Thürmann 1998: LVMI 127 -> 106 g/m^2 (-16.5 %) after 8 months; at an unchanged cavity, wall
# thickness scales with mass (approximation).
_REGRESSION = 106 / 127 - 1.0


def _valsartan_effects(valsartan_equivalent: float) -> tuple[Effect, ...]:
    """Effects of valsartan; ``valsartan_equivalent`` scales a product's dose to valsartan."""
    ref = to_si(80, "mg") / valsartan_equivalent
    return (
        Effect("circulation.R_AR_SYS", _AFTERLOAD, ref, 8 * _MONTH, 2 * _WEEK,
               "Thürmann 1998 Circulation 98:2037 (MAP change, valsartan 80 mg/day)",
               "cardiac output unchanged; full antihypertensive effect within ~4 weeks"),
        Effect("geometry.wall_thickness", _REGRESSION, ref, 8 * _MONTH, 4 * _MONTH,
               "Thürmann 1998 Circulation 98:2037 (LVMI -17 % in 8 months)",
               "wall thickness scales with LV mass at an unchanged cavity"),
    )


def effects_of(drug_id: str) -> tuple[Effect, ...]:
    """The mechanisms of a library drug as parameter effects."""
    get_drug(drug_id)  # raises KeyError for unknown drugs
    if drug_id == "valsartan":
        return _valsartan_effects(1.0)
    if drug_id == "sacubitril-valsartan":
        # Entresto prescribing information (Novartis): the 103 mg of valsartan in the
        # 97/103 mg tablet is equivalent to 160 mg of valsartan in other formulations;
        # per 200 mg of combined dose that is 0.8 mg valsartan-equivalent per mg.
        vals = _valsartan_effects(160 / 200)
        preload = Effect(
            "circulation.C_VEN_SYS", 0.10, to_si(400, "mg"), 8 * _MONTH, 2 * _WEEK,
            "Romano 2019 J Clin Med 8:2165 (reduced filling pressures, E/A, NT-proBNP)",
            "ASSUMED +10 % systemic venous compliance (natriuresis/venodilation) at the "
            "target dose 97/103 mg twice daily; the source reports direction, not size")
        return (*vals, preload)
    raise KeyError(drug_id)  # pragma: no cover - every library entry is handled above


def parameter_factors(drug_id: str | None, dose_kg: float | None, frequency_per_s: float | None,
                      duration_s: float | None) -> dict[str, float]:
    """Multiplicative factor per model parameter for a scenario (empty for a baseline)."""
    if drug_id is None:
        return {}
    assert dose_kg and frequency_per_s and duration_s, "validated by the case schema"
    daily = dose_kg * frequency_per_s * 86400.0
    factors: dict[str, float] = {}
    for effect in effects_of(drug_id):
        factors[effect.parameter] = factors.get(effect.parameter, 1.0) * (
            1.0 + effect.change(daily, duration_s))
    return factors


def scenario_effects(scenario: Mapping[str, Any]) -> DrugEffects:
    """Effects of one canonical scenario (``{id, drug, dose, frequency, duration}``, SI).
    A scenario without a drug is a baseline: no factors."""
    if scenario.get("drug") is None:
        return DrugEffects(scenario=scenario["id"], drug=None, factors={}, simplifications=[])
    factors = parameter_factors(scenario["drug"], scenario["dose"], scenario["frequency"],
                                scenario["duration"])
    return DrugEffects(scenario=scenario["id"], drug=scenario["drug"], factors=factors,
                       simplifications=list(SIMPLIFICATIONS) if factors else [])


def drug_effects(settings: Path, out: Path) -> Path:
    """Stage ``drug_effects``: the scenario of ``settings`` (``results/<id>/settings/
    <scenario>/drug_effects.json``) as :class:`~twinflow.artifacts.drugs.DrugEffects`."""
    effects = scenario_effects(read_stage_settings(settings, "drug_effects")["scenario"])
    log.info("scenario %s: %s", effects.scenario,
             ", ".join(f"{k} x {v:.3f}" for k, v in sorted(effects.factors.items()))
             or "no drug")
    return effects.write(out)
