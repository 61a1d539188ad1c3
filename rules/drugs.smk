# Drugs: each scenario's regimen as factors on model parameters (twinflow.drugs.effects),
# read by the LV mesher (wall remodelling) and the heart simulation (0D circulation).


rule drug_effects:
    message: "drug effects of {wildcards.case} ({wildcards.scenario})"
    wildcard_constraints:
        case=cases_with("drug_effects"),
    input:
        settings=settings("drug_effects"),
        code=code("drug_effects"),
    output:
        f"{RESULTS}/{{case}}/{{scenario}}/drug_effects.json",
        record=step_record("drug_effects"),
    params:
        record=record("drug_effects"),
    log:
        f"{RESULTS}/{{case}}/logs/drug_effects-{{scenario}}.log",
    conda:
        ENVS["report"]
    shell:
        "{TWINFLOW} {params.record} drug-effects"
        " --settings {input.settings:q} --out {output[0]:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"
