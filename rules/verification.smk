# Verification: published benchmarks (cases with `anatomy: benchmark`) solved by the same
# mechanics solver as the LV cases. Wiring only; the set-up and the reference values with
# their sources live in twinflow.verification.land2015.


rule land2015:
    message: "Land et al. 2015 benchmark: {wildcards.case} (MPI)"
    wildcard_constraints:
        case=anatomy_pattern("benchmark"),
    input:
        case=f"{RESULTS}/{{case}}/case.json",
    output:
        f"{RESULTS}/{{case}}/verification/land2015.json",
    params:
        problem=lambda w: case_section(w.case, "problem"),
        mesh=lambda w: case_section(w.case, "mesh"),
    threads: lambda w: case_ranks(w.case)
    log:
        f"{RESULTS}/{{case}}/logs/land2015.log",
    shell:
        "{MPIRUN} -n {threads} {PY} -m twinflow.verification.land2015 --case {input.case:q}"
        " --out $(dirname {output:q}) > {log:q} 2>&1 || (tail -n 20 {log:q} >&2; exit 2)"


CASE_TARGETS.append(
    lambda cid: [f"{RESULTS}/{cid}/verification/land2015.json"]
    if case_anatomy(cid) == "benchmark" else []
)
