# Imaging: read, de-identify, window and normalise the images of a case.
# Wiring only; the logic is twinflow.imaging.ingest.


rule ingest:
    message: "ingest and de-identify the images of {wildcards.case}"
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        images=lambda w: case_image_paths(w.case),
    output:
        manifest=f"{RESULTS}/{{case}}/images/manifest.json",
    params:
        preprocessing=lambda w: case_section(w.case, "preprocessing"),
        images=lambda w: case_section(w.case, "images"),
    log:
        f"{RESULTS}/{{case}}/logs/ingest.log",
    shell:
        "{PY} -m twinflow.imaging.ingest {input.case:q} $(dirname {output.manifest:q})"
        " > {log:q} 2>&1 || (cat {log:q} >&2; exit 2)"
