# Report: one HTML page per case gathering its measurements, scenarios and figures.
# Wiring only; the logic lives in twinflow.report.


rule report:
    message: "report of {wildcards.case}"
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        geometry=f"{RESULTS}/{{case}}/geometry/measurements.json",
        summaries=lambda w: [f"{RESULTS}/{w.case}/{s}/summary.json"
                             for s in case_scenarios(w.case)],
    output:
        f"{RESULTS}/{{case}}/report.html",
    log:
        f"{RESULTS}/{{case}}/logs/report.log",
    shell:
        "{TWINFLOW} report {RESULTS}/{wildcards.case} -o {output:q}"
        " > {log:q} 2>&1 || (cat {log:q} >&2; exit 2)"


CASE_TARGETS.append(
    lambda cid: [f"{RESULTS}/{cid}/report.html"]
    if case_anatomy(cid) in ("carotid", "left-ventricle") else []
)
