# Imaging: read, de-identify, window and normalise the images of a case (twinflow.imaging.ingest).


rule ingest:
    message: "ingest and de-identify the images of {wildcards.case}"
    wildcard_constraints:
        case=cases_with("ingest"),
    input:
        settings=settings("ingest"),
        images=lambda w: IMAGE_PATHS[w.case],
        code=code("ingest"),
    output:
        manifest=f"{RESULTS}/{{case}}/images/manifest.json",
        record=step_record("ingest"),
    params:
        record=record("ingest"),
    log:
        f"{RESULTS}/{{case}}/logs/ingest.log",
    conda:
        ENVS["imaging"]
    shell:
        "{TWINFLOW} {params.record} ingest"
        " --settings {input.settings:q} --images {input.images:q} --out {output.manifest:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"
