# Shared helpers and the first rule of every case: validate it and write case.json, the
# canonical SI form that later rules read and slice into their params.
import re
import sys
from pathlib import Path

from twinflow.case import load_case, to_canonical
from twinflow.config import expand_cases
from twinflow.errors import CaseError
from twinflow.io import canonical_json

CASES = expand_cases(CONFIG.cases)  # case id -> case file
RESULTS = CONFIG.results
PY = sys.executable  # the project's Python: every rule runs `{PY} -m twinflow...`
TWINFLOW = f"{PY} -m twinflow"
MPIRUN = str(Path(sys.executable).parent / "mpirun")  # MPICH of the dolfinx-solver-real wheel

wildcard_constraints:
    case="[A-Za-z0-9][A-Za-z0-9_.-]*",
    scenario="[a-z0-9][a-z0-9_-]*",

_canonical_cache = {}


def case_canonical(cid):
    """Canonical data of a case (None when it does not validate: validate_case reports)."""
    if cid not in _canonical_cache:
        try:
            _canonical_cache[cid] = to_canonical(load_case(CASES[cid]))
        except CaseError:
            _canonical_cache[cid] = None
    return _canonical_cache[cid]


def case_section(cid, *keys):
    """Canonical JSON of one section of a case (for params: re-run only when it changes)."""
    node = case_canonical(cid) or {}
    for key in keys:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return canonical_json(node).strip()


def case_anatomy(cid):
    return (case_canonical(cid) or {}).get("anatomy")


def anatomy_pattern(anatomy):
    """Wildcard regex matching the ids of the selected cases of one anatomy.

    Stages of the two anatomies write the same file names (geometry/, mesh/); rules use this
    in their wildcard_constraints so each case has exactly one producer.
    """
    ids = [re.escape(cid) for cid in CASES if case_anatomy(cid) == anatomy]
    return "|".join(ids) if ids else "(?!x)x"


def case_image_paths(cid):
    return [image["path"] for image in (case_canonical(cid) or {}).get("images", [])]


def scenario_section(cid, scenario_id):
    """Canonical JSON of one scenario of a case (its drug regimen)."""
    for s in (case_canonical(cid) or {}).get("scenarios", []):
        if s["id"] == scenario_id:
            return canonical_json(s).strip()
    return "{}"


def case_scenarios(cid):
    return [s["id"] for s in (case_canonical(cid) or {}).get("scenarios", [])]


rule validate_case:
    message: "validate case {wildcards.case}"
    input:
        lambda w: str(CASES[w.case]),
    output:
        f"{RESULTS}/{{case}}/case.json",
    log:
        f"{RESULTS}/{{case}}/logs/validate_case.log",
    shell:
        "{TWINFLOW} canonical {input:q} -o {output:q} 2> {log:q} || (cat {log:q} >&2; exit 2)"


CASE_TARGETS.append(lambda cid: [f"{RESULTS}/{cid}/case.json"])
