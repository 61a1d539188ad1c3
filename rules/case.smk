# The first step of every case: validate it and write its canonical SI form (case.json), and,
# when the workflow is loaded, each stage's slice of it (results/<id>/settings/...), rewritten
# only when its bytes change (twinflow.stages). Rules take as inputs only their stage's slice,
# the artifacts of earlier stages and the package modules they run, so Snakemake's mtime
# trigger re-runs exactly what an edit affects.
import re
import sys
from pathlib import Path

from twinflow.case import load_case, to_canonical
from twinflow.config import expand_cases
from twinflow.errors import CaseError
from twinflow.stages import STAGES, case_stages, code_files, settings_path, write_stage_settings

CASES = expand_cases(CONFIG.cases)  # case id -> case file
RESULTS = CONFIG.results
PY = sys.executable  # the project's Python: every rule runs `{TWINFLOW} <stage> ...`
TWINFLOW = f"{PY} -m twinflow"

wildcard_constraints:
    case="[A-Za-z0-9][A-Za-z0-9_.-]*",
    scenario="[a-z0-9][a-z0-9_-]*",


def _canonical(cid):
    """Canonical data of a case (None when it does not validate: rule canonical reports)."""
    try:
        return to_canonical(load_case(CASES[cid]))
    except CaseError:
        return None


CANONICAL = {cid: _canonical(cid) for cid in CASES}
CASE_STAGES = {cid: case_stages(c) if c else [] for cid, c in CANONICAL.items()}
for _cid, _case in CANONICAL.items():
    if _case is not None:
        write_stage_settings(_case, f"{RESULTS}/{_cid}")


def cases_with(stage):
    """Wildcard regex matching the selected cases that run ``stage`` (one producer per file)."""
    ids = [re.escape(cid) for cid, stages in CASE_STAGES.items() if stage in stages]
    return "|".join(ids) if ids else "(?!x)x"


def settings(stage):
    """Input function: the job's settings file of ``stage``."""
    return lambda w: str(settings_path(f"{RESULTS}/{w.case}", stage,
                                       getattr(w, "scenario", None)))


def code(stage):
    """The package files ``stage`` runs (its module's import closure)."""
    return list(code_files(STAGES[stage].module))


def case_scenarios(cid):
    return [s["id"] for s in (CANONICAL[cid] or {}).get("scenarios", [])]


def case_ranks(cid):
    return int((CANONICAL[cid] or {}).get("simulation", {}).get("mpi_ranks", 1))


rule canonical:
    message: "validate case {wildcards.case}"
    input:
        case=lambda w: str(CASES[w.case]),
    output:
        f"{RESULTS}/{{case}}/case.json",
    log:
        f"{RESULTS}/{{case}}/logs/canonical.log",
    shell:
        "{TWINFLOW} canonical {input.case:q} -o {output:q} 2> {log:q} || (cat {log:q} >&2; exit 2)"


CASE_TARGETS.append(lambda cid: [f"{RESULTS}/{cid}/case.json"])
