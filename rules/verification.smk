# Verification: published benchmarks (cases with `anatomy: benchmark`) solved by the same
# mechanics solver as the LV cases. Wiring only; the set-up and the reference values with
# their sources live in twinflow.verification.land2015. MPI as in rules/physics.smk.


rule land2015:
    message: "Land et al. 2015 benchmark: {wildcards.case} (MPI)"
    wildcard_constraints:
        case=cases_with("land2015"),
    input:
        settings=settings("land2015"),
        code=code("land2015"),
    output:
        f"{RESULTS}/{{case}}/verification/land2015.json",
        record=step_record("land2015"),
    threads: lambda w: case_ranks(w.case)  # locally: the ranks count against --cores
    resources:
        **mpi_resources(),
    params:
        record=record("land2015"),
    log:
        f"{RESULTS}/{{case}}/logs/land2015.log",
    conda:
        ENVS["physics"]
    shell:
        mpi("{TWINFLOW} {params.record} land2015 --settings {input.settings:q}"
            " --out {output[0]:q} 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)")


CASE_TARGETS.append(
    lambda cid: [f"{RESULTS}/{cid}/verification/land2015.json"]
    if "land2015" in CASE_STAGES[cid] else []
)
