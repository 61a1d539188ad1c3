# Provenance: the case's Workflow Run RO-Crate (Provenance Run Crate profile) from the step
# records every rule leaves in results/<id>/provenance/steps/ (twinflow.provenance). Its
# inputs are the records of every step of the case and the case's other targets (captured
# here, before it adds its own), so it runs again whenever a step does.
from pathlib import Path

_FINAL_TARGETS = list(CASE_TARGETS)
WORKFLOW_FILES = ["Snakefile", *sorted(str(p) for p in Path("rules").glob("*.smk")),
                  "config/config.default.yaml"]


def _step_records(cid):
    """The record of every step of a case (one per scenario for per-scenario stages)."""
    return [step_record(stage).format(case=cid, scenario=scenario)
            for stage in ["canonical", *CASE_STAGES[cid]] if stage != "provenance"
            for scenario in (case_scenarios(cid)
                             if stage in STAGES and STAGES[stage].per_scenario else [None])]


rule provenance:
    message: "RO-Crate of {wildcards.case}"
    wildcard_constraints:
        case=cases_with("provenance"),
    input:
        final=lambda w: [path for targets in _FINAL_TARGETS for path in targets(w.case)],
        records=lambda w: _step_records(w.case),
        workflow=WORKFLOW_FILES,
        code=code("provenance"),
    output:
        crate=f"{RESULTS}/{{case}}/ro-crate-metadata.json",
        workflow=[f"{RESULTS}/{{case}}/provenance/workflow/{path}" for path in WORKFLOW_FILES],
    params:
        case_dir=lambda w: f"{RESULTS}/{w.case}",
    log:
        f"{RESULTS}/{{case}}/logs/provenance.log",
    conda:
        ENVS["report"]
    shell:
        "{TWINFLOW} provenance --case-dir {params.case_dir:q} --records {input.records:q}"
        " --workflow {input.workflow:q} --out {output.crate:q} 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


CASE_TARGETS.append(
    lambda cid: [f"{RESULTS}/{cid}/ro-crate-metadata.json"]
    if "provenance" in CASE_STAGES[cid] else []
)
