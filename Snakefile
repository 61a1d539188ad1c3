# twinflow workflow: case file -> images -> segmentation -> geometry -> mesh -> solve -> report.
# The Snakefile only reads and validates the configuration, then includes one rule file per
# stage; every rule calls the twinflow package (python -m twinflow ...), which holds the logic.
from twinflow.config import validate_config


configfile: "config/config.default.yaml"


CONFIG = validate_config(config)

# Each stage appends functions case_id -> list of final files of that case.
CASE_TARGETS = []


rule all:
    input:
        lambda w: [path for cid in CASES for targets in CASE_TARGETS for path in targets(cid)],
    default_target: True


include: "rules/case.smk"
include: "rules/imaging.smk"
include: "rules/segmentation.smk"
include: "rules/drugs.smk"
include: "rules/geometry.smk"
include: "rules/physics.smk"
include: "rules/verification.smk"
include: "rules/report.smk"
include: "rules/provenance.smk"
