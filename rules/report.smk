# Report: one HTML page per case from the typed artifacts of its stages (twinflow.report).


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
            f"--{key.replace('_', '-')} {input[key]}" for key in ("measurements", "mesh_quality")
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
