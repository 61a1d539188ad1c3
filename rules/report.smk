# Report: one HTML page per case from the typed artifacts of its stages (twinflow.report);
# for an LV case with drug arms, first the arm comparison (twinflow.report.compare).


def _per_scenario(w, name):
    return [f"{RESULTS}/{w.case}/{s}/{name}" for s in case_scenarios(w.case)]


rule compare_arms:
    message: "drug arms of {wildcards.case} against the baseline"
    wildcard_constraints:
        case=cases_with("compare_arms"),
    input:
        summaries=lambda w: _per_scenario(w, "summary.json"),
        series=lambda w: _per_scenario(w, "series.csv"),
        drug_effects=lambda w: _per_scenario(w, "drug_effects.json"),
        meshes=lambda w: _per_scenario(w, "mesh/mesh.json"),
        settings=settings("compare_arms"),
        code=code("compare_arms"),
    output:
        f"{RESULTS}/{{case}}/comparison/comparison.json",
        table=f"{RESULTS}/{{case}}/comparison/comparison.md",
        figure=f"{RESULTS}/{{case}}/comparison/pv_loops.png",
        record=step_record("compare_arms"),
    params:
        record=record("compare_arms"),
    log:
        f"{RESULTS}/{{case}}/logs/compare_arms.log",
    conda:
        ENVS["report"]
    shell:
        "{TWINFLOW} {params.record} compare-arms --settings {input.settings:q}"
        " --summaries {input.summaries:q} --drug-effects {input.drug_effects:q}"
        " --meshes {input.meshes:q} --out {output[0]:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


def _report_inputs(w):
    stages = CASE_STAGES[w.case]
    inputs = {"summaries": [f"{RESULTS}/{w.case}/{s}/summary.json"
                            for s in case_scenarios(w.case)],
              # read beside each summary (P-V loop, flow curves): declared, so a replay of
              # the report alone has them
              "series": [f"{RESULTS}/{w.case}/{s}/series.csv" for s in case_scenarios(w.case)],
              "mesh_quality": []}
    if "reconstruct_carotid" in stages or "reconstruct_lv" in stages:
        inputs["measurements"] = f"{RESULTS}/{w.case}/geometry/measurements.json"
    if "mesh_carotid" in stages or "mesh_tube" in stages:
        inputs["mesh_quality"] = f"{RESULTS}/{w.case}/mesh/mesh_quality.json"
    if "compare_arms" in stages:
        inputs["comparison"] = f"{RESULTS}/{w.case}/comparison/comparison.json"
    return inputs


rule report:
    message: "report of {wildcards.case}"
    wildcard_constraints:
        case=cases_with("report"),
    input:
        unpack(_report_inputs),
        settings=settings("report"),
        code=code("report"),
    output:
        f"{RESULTS}/{{case}}/report.html",
        record=step_record("report"),
    params:
        record=record("report", optional_inputs=lambda w: [  # embedded P-V loop plots
            f"{RESULTS}/{w.case}/{s}/pv_loop.png" for s in case_scenarios(w.case)]),
        optional=lambda w, input: " ".join(
            f"--{key.replace('_', '-')} {input[key]}"
            for key in ("measurements", "mesh_quality", "comparison")
            if key in input.keys() and input[key]),
    log:
        f"{RESULTS}/{{case}}/logs/report.log",
    conda:
        ENVS["report"]
    shell:
        "{TWINFLOW} {params.record} report"
        " --settings {input.settings:q} {params.optional}"
        " --summaries {input.summaries:q} --out {output[0]:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


CASE_TARGETS.append(
    lambda cid: [f"{RESULTS}/{cid}/report.html"] if "report" in CASE_STAGES[cid] else []
)
