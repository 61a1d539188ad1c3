"""Stage ``drug_effects``: a scenario's regimen -> fractional changes of model parameters.

For a drug arm (``drug``, ``dose`` per administration, ``frequency``, ``duration``) and its
library entry (:class:`~twinflow.drugs.model.DrugEntry`, read from the file the workflow
passes):

1. each component's average steady-state concentration at the regimen
   (:func:`~twinflow.drugs.pharmacology.average_steady_state_concentration`);
2. each effect's change :math:`E_{max} C^n/(EC_{50}^n + C^n)\\,(1 - e^{-t/\\tau_{on}})` of its
   target parameter; effects on one parameter multiply;
3. :class:`~twinflow.artifacts.drugs.DrugEffects`: the factor per parameter (read by the LV
   mesher for the wall, by the heart simulation for the circulation and contractility) and the
   parameter diff, every change with its source and assumption.

A baseline (no drug) changes nothing. Simplifications are stated in :data:`SIMPLIFICATIONS`
and written into every drug arm's artifact.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twinflow.artifacts.drugs import (
    ComponentExposure,
    DrugEffects,
    ExpectedOutcome,
    ParameterChange,
)
from twinflow.drugs.model import DrugEntry
from twinflow.errors import InputError
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

SIMPLIFICATIONS = (
    "pharmacokinetics: one compartment, first-order elimination, average steady-state "
    "concentration (no peaks and troughs, no absorption kinetics, adherence assumed)",
    "pharmacodynamics: sigmoid Emax of the steady-state concentration with a first-order "
    "onset; population-mean effects, no inter-patient variability",
    "effects map trial means onto model parameters; each mapping's assumption is listed "
    "with its change",
)


def scenario_effects(scenario: Mapping[str, Any], entry: DrugEntry | None) -> DrugEffects:
    """Effects of one canonical scenario (``{id, drug, dose, frequency, duration}``, SI) with
    its drug's library ``entry`` (None for a baseline)."""
    if scenario.get("drug") is None:
        return DrugEffects(scenario=scenario["id"], drug=None, factors={}, changes=[],
                           exposure=[], simplifications=[])
    if entry is None or entry.id != scenario["drug"]:
        raise InputError(f"scenario {scenario['id']}: needs the library entry of "
                         f"{scenario['drug']} (--drug)")
    dose, freq, duration = scenario["dose"], scenario["frequency"], scenario["duration"]
    exposure = [ComponentExposure(
        component=c.name, active_moiety=c.pharmacokinetics.active_moiety or c.name,
        dose=c.dose_fraction * dose,
        concentration=entry.concentration(c.name, dose, freq)) for c in entry.components]
    conc = {e.component: e.concentration for e in exposure}
    changes, factors = [], {}
    for effect in entry.effects:
        change = effect.change(conc[effect.component], duration)
        changes.append(ParameterChange(
            parameter=effect.target, component=effect.component, change=change,
            concentration=conc[effect.component], source=effect.source,
            assumption=effect.assumption))
        factors[effect.target] = factors.get(effect.target, 1.0) * (1.0 + change)
    outcomes = [ExpectedOutcome(**o.model_dump()) for o in entry.outcomes]
    return DrugEffects(scenario=scenario["id"], drug=entry.id, factors=factors,
                       changes=changes, exposure=exposure, outcomes=outcomes,
                       simplifications=list(SIMPLIFICATIONS))


def drug_effects(settings: Path, out: Path, drug: Path | None = None) -> Path:
    """Stage ``drug_effects``: the scenario of ``settings`` (``results/<id>/settings/
    <scenario>/drug_effects.json``) with the library entry in ``drug`` (a drug arm's
    ``<id>.yaml``; the workflow passes it, without it the shipped entry is read) as
    :class:`~twinflow.artifacts.drugs.DrugEffects`."""
    from twinflow.drugs.library import drug_file, read_entry

    scenario = read_stage_settings(settings, "drug_effects")["scenario"]
    if drug is None and scenario.get("drug") is not None:
        drug = drug_file(scenario["drug"])
    entry = None if drug is None else read_entry(Path(drug))
    effects = scenario_effects(scenario, entry)
    for c in effects.changes:
        log.info("scenario %s: %s %+.1f %% (%s at %.3g mg/L)", effects.scenario, c.parameter,
                 100 * c.change, c.component, 1e3 * c.concentration)
    if not effects.changes:
        log.info("scenario %s: no drug", effects.scenario)
    return effects.write(out)
