# The first step of every case: validate it and write its canonical SI form (case.json), and,
# when the workflow is loaded, each stage's slice of it (results/<id>/settings/...), rewritten
# only when its bytes change (twinflow.stages). Rules take as inputs only their stage's slice,
# the artifacts of earlier stages and the package modules they run, so Snakemake's mtime
# trigger re-runs exactly what an edit affects.
import json
import re
import shlex
import sys
from pathlib import Path

from twinflow.case import load_case, to_canonical
from twinflow.case.load import image_paths
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


def _load(cid):
    """Canonical data of a case (None when it does not validate: rule canonical reports) and
    the paths of its images (the canonical data names them by SHA-256 only)."""
    try:
        case = load_case(CASES[cid])
    except CaseError:
        return None, []
    return to_canonical(case), image_paths(case)


_LOADED = {cid: _load(cid) for cid in CASES}
CANONICAL = {cid: canonical for cid, (canonical, _) in _LOADED.items()}
IMAGE_PATHS = {cid: paths for cid, (_, paths) in _LOADED.items()}
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
    files = list(code_files(STAGES[stage].module))
    CODE_FILES.update(files)
    return files


CODE_FILES = set()


def step_record(stage):
    """Output ``record`` of a case step: its provenance record (``twinflow --record``,
    twinflow.provenance.record). An output, so the provenance rule, which reads every record
    of a case, runs again whenever a step does (its crate never describes an older run)."""
    per_scenario = stage in STAGES and STAGES[stage].per_scenario
    return f"{RESULTS}/{{case}}/provenance/steps/{stage}" + ("-{scenario}" if per_scenario
                                                              else "") + ".json"


def _declared(files):
    """Role -> path(s) of a job's named files, ``file`` for unnamed ones (code and the step
    record itself left out)."""
    skip = set(CODE_FILES) | ({files.record} if "record" in files.keys() else set())
    named = {name: (value if isinstance(value, str) else [str(v) for v in value])
             for name, value in files.items() if name not in ("code", "record")}
    seen = {p for v in named.values() for p in ([v] if isinstance(v, str) else v)}
    rest = [str(p) for p in files if str(p) not in seen and str(p) not in skip]
    if rest:
        named["file"] = rest[0] if len(rest) == 1 else rest
    return named


def record(stage, optional=(), optional_inputs=None):
    """``params:`` entry of a case step: ``--record FILE --record-io JSON`` (the record's path,
    ``output.record``, and the files the job declares), the global options of
    ``twinflow`` that write the step's provenance record (twinflow.provenance.record).
    ``optional``: patterns of files the step writes only in some cases (recorded when
    present; Snakemake outputs cannot be optional); ``optional_inputs``: a function of the
    wildcards giving files the step reads when they exist (recorded when present)."""
    def options(wildcards, input, output):
        names = {"case": wildcards.case, "scenario": getattr(wildcards, "scenario", None)}
        path = output.record
        io = json.dumps({"inputs": _declared(input), "outputs": _declared(output),
                         "optional": [p.format(**names) for p in optional],
                         "optional_inputs": list(optional_inputs(wildcards)
                                                 if optional_inputs else []),
                         "scenario": names["scenario"]},
                        sort_keys=True, separators=(",", ":"))
        return f"--record {shlex.quote(path)} --record-io {shlex.quote(io)}"
    return options


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
        record=step_record("canonical"),
    params:
        record=record("canonical"),
    log:
        f"{RESULTS}/{{case}}/logs/canonical.log",
    shell:
        "{TWINFLOW} {params.record} canonical {input.case:q} -o {output[0]:q}"
        " 2> {log:q} || (cat {log:q} >&2; exit 2)"


CASE_TARGETS.append(lambda cid: [f"{RESULTS}/{cid}/case.json"])
