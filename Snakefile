# twinflow workflow: case file -> images -> segmentation -> geometry -> mesh -> solve -> report.
# The Snakefile only reads and validates the configuration, then includes one rule file per
# stage; every rule calls the twinflow package (python -m twinflow ...), which holds the logic.
from twinflow.config import validate_config


configfile: "config/config.default.yaml"


CONFIG = validate_config(config)

# Each stage appends functions case_id -> list of final files of that case.
CASE_TARGETS = []


def case_targets(ids):
    return [path for cid in ids for targets in CASE_TARGETS for path in targets(cid)]


# The cases of the config and, for a cohort, its table (rules/cohort.smk), which collects the
# members that finished; `twinflow run` first runs the members (rule cohort_members, with
# --keep-going), so one failed member is listed in the table instead of stopping the rest.
rule all:
    input:
        lambda w: case_targets([c for c in CASES if c not in COHORT_MEMBERS]) + COHORT_TARGETS,
    default_target: True


rule cohort_members:
    input:
        lambda w: case_targets(sorted(COHORT_MEMBERS)),


include: "rules/case.smk"
include: "rules/imaging.smk"
include: "rules/segmentation.smk"
include: "rules/drugs.smk"
include: "rules/geometry.smk"
include: "rules/physics.smk"
include: "rules/verification.smk"
include: "rules/report.smk"
include: "rules/provenance.smk"
include: "rules/cohort.smk"
