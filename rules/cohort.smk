# Virtual cohorts (twinflow.cohort): the members are ordinary cases (rules above); this rule
# writes results/<cohort>/cohort.parquet, summary.json/.md, outputs.png and report.html from
# the members' artifacts. Its inputs are the members x arms whose whole chain finished when
# the graph is built (twinflow.cohort.collect.complete), so `twinflow run <cohort>` runs it
# after the members (rule cohort_members, --keep-going) and a failed member is a row with its
# reason.
from twinflow.cohort.collect import arm_inputs, complete
from twinflow.stages import write_module_manifest

COHORT_MEMBERS = {m.id for _, man in COHORTS.values() for m in man.members}
COHORT_TARGETS = [f"{RESULTS}/{cid}/cohort.parquet" for cid in COHORTS]


def _cohort_inputs(w):
    _, man = COHORTS[w.cohort]
    files = []
    for m in man.members:
        for arm in man.arms:
            if complete(Path(RESULTS), m.id, arm, man.baseline):
                files += [str(p) for p in arm_inputs(Path(RESULTS), m.id, arm, man.baseline)]
    return sorted(set(files))


rule collect_cohort:
    message: "cohort {wildcards.cohort}: one table of every member and arm"
    wildcard_constraints:
        cohort="|".join(re.escape(c) for c in COHORTS) or "(?!x)x",
    input:
        manifest=lambda w: str(COHORTS[w.cohort][0] / "cohort.json"),
        artifacts=_cohort_inputs,
        code=str(write_module_manifest("collect_cohort", "twinflow.cohort.collect",
                                       f"{RESULTS}/.twinflow/code")),
    output:
        f"{RESULTS}/{{cohort}}/cohort.parquet",
        summary=f"{RESULTS}/{{cohort}}/summary.json",
        table=f"{RESULTS}/{{cohort}}/summary.md",
        figure=f"{RESULTS}/{{cohort}}/outputs.png",
        report=f"{RESULTS}/{{cohort}}/report.html",
    log:
        f"{RESULTS}/{{cohort}}/logs/collect_cohort.log",
    conda:
        ENVS["report"]
    shell:
        "{TWINFLOW} collect-cohort --manifest {input.manifest:q} --results {RESULTS:q}"
        " --out {output[0]:q} 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"
