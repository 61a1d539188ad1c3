# Drugs: each scenario's regimen as factors on model parameters (twinflow.drugs.effects),
# read by the LV mesher (wall remodelling) and the heart simulation (0D circulation). A drug
# arm reads its library entry (twinflow/drugs/data/<id>.yaml or the case's drug_library):
# editing that file re-runs the arms of that drug alone.

from twinflow.drugs.library import scenario_drug_file


def _drug_entry(w):
    path = scenario_drug_file(CANONICAL[w.case], w.scenario)
    return [path] if path else []


rule drug_effects:
    message: "drug effects of {wildcards.case} ({wildcards.scenario})"
    wildcard_constraints:
        case=cases_with("drug_effects"),
    input:
        settings=settings("drug_effects"),
        code=code("drug_effects"),
        drug=_drug_entry,
    output:
        f"{RESULTS}/{{case}}/{{scenario}}/drug_effects.json",
        record=step_record("drug_effects"),
    params:
        record=record("drug_effects"),
        drug=lambda w: " ".join(f"--drug {shlex.quote(p)}" for p in _drug_entry(w)),
    log:
        f"{RESULTS}/{{case}}/logs/drug_effects-{{scenario}}.log",
    conda:
        ENVS["report"]
    shell:
        "{TWINFLOW} {params.record} drug-effects"
        " --settings {input.settings:q} {params.drug} --out {output[0]:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"
