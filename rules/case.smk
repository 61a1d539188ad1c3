# The first step of every case: validate it and write its canonical SI form (case.json), and,
# when the workflow is loaded, each stage's slice of it (results/<id>/settings/...), rewritten
# only when its bytes change (twinflow.stages). Rules take as inputs only their stage's slice,
# the artifacts of earlier stages and the manifest of the package modules they run
# (results/.twinflow/code/<stage>.json), so Snakemake's mtime
# trigger re-runs exactly what an edit affects.
import json
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.logging import logger

from twinflow.cache import canonical_case
from twinflow.config import select_cases
from twinflow.errors import CaseError
from twinflow.imaging.aliases import SOURCES_DIR, source_aliases
from twinflow.resources import cap_ranks, mpi_job_resources
from twinflow.resources import case_ranks as _requested_ranks
from twinflow.stages import (STAGES, baseline_scenario, case_stages, code_files, settings_path,
                             write_code_manifest, write_stage_settings)

# case id -> case file (the config's cases and every cohort member); cohort id -> its folder
# and manifest (rules/cohort.smk)
CASES, COHORTS = select_cases(CONFIG)
RESULTS = CONFIG.results
PY = sys.executable  # the project's Python: every rule runs `{TWINFLOW} <stage> ...`
TWINFLOW = f"{PY} -m twinflow"
# With --software-deployment-method conda each rule runs in its envs/*.yaml environment
# (its `conda:`), with the python and mpiexec found there and this checkout's package.
CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
ENVS = {group: f"../envs/{group}.yaml" for group in ("imaging", "physics", "report")}
if CONDA:
    PACKAGE = Path(workflow.basedir) / "workflow"
    TWINFLOW = f"PYTHONPATH={PACKAGE}${{PYTHONPATH:+:$PYTHONPATH}} python -m twinflow"

wildcard_constraints:
    case="[A-Za-z0-9][A-Za-z0-9_.-]*",
    scenario="[a-z0-9][a-z0-9_-]*",


def _load(cid):
    """Canonical data of a case (None when it does not validate: rule canonical reports) and
    its images as path-free symlinks named by SHA-256 (twinflow.imaging.aliases): the
    canonical data names them by hash only, and neither Snakemake's log nor results/ may
    carry a source path, which may hold a patient's name. The validation cache, which holds
    the real paths, lives beside the links in Snakemake's own folder, not in results/."""
    try:
        canonical, paths = canonical_case(CASES[cid], SOURCES_DIR.parent / "canonical", cid)
    except CaseError:
        return None, []
    return canonical, source_aliases(paths, canonical)


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
    """The manifest of the package files ``stage`` runs (its module's import closure, with
    their SHA-256), rewritten only when one of them changes (twinflow.stages)."""
    manifest = str(write_code_manifest(stage, f"{RESULTS}/.twinflow/code"))
    CODE_FILES.add(manifest)
    return manifest


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


# MPI as a resource. A solve rule declares `resources: **mpi_resources()` (tasks, mpi,
# mem_mb, runtime, cpus_per_task) and runs `mpi("{TWINFLOW} ...")`, i.e. its command under
# `{resources.mpi} -n {resources.tasks}`. The launcher follows the executor that runs the
# job: SRUN under SLURM (executor `slurm` when submitting, `slurm-jobstep` inside the job,
# where the command is formatted), the environment's MPICH `mpiexec` elsewhere (local runs,
# dry runs). One rank needs no launcher: `mpi` is then empty, the command runs alone, and
# the SLURM plugin submits a plain one-task job (it refuses an MPI job of one task).
# docs/cluster.md. MPIEXEC: the MPICH of the dolfinx-solver-real wheel, next to the Python
# (or on the conda environment's PATH).
MPIEXEC = "mpiexec" if CONDA else str(Path(sys.executable).parent / "mpiexec")
# That MPICH speaks the PMI-1/PMI-2 wire protocol, not PMIx: srun must serve PMI-2 to the
# job's ranks whatever the cluster's MpiDefault (and only to them: a PMI-2 default would also
# reach the plugin's `srun -n1` job steps, whose grandchildren cannot use its descriptor).
SRUN = "srun --mpi=pmi2"
_CAPPED = set()


def under_slurm():
    """Whether this run's jobs go to (or run inside) SLURM: decided by the executor plugin,
    not by a config value, which `twinflow run --config cases=...` would replace."""
    plugin = workflow.executor_plugin
    return plugin is not None and plugin.name.startswith("slurm")


def case_ranks(cid):
    """MPI ranks of a case's solve: simulation.mpi_ranks, capped (with one warning per case)
    by --cores and the machine's CPUs when the jobs run here; never capped under SLURM,
    which places the ranks of a job on its nodes."""
    ranks = _requested_ranks(CANONICAL[cid])
    if under_slurm():
        return ranks
    try:
        cores = workflow.cores  # --cores (all: the machine's CPUs)
    except WorkflowError:  # none given
        cores = None
    capped = cap_ranks(ranks, min(c for c in (cores, os.cpu_count(), ranks) if c))
    if capped < ranks and cid not in _CAPPED:
        _CAPPED.add(cid)
        logger.warning(f"{cid}: simulation.mpi_ranks = {ranks} capped to {capped} "
                       f"(--cores or CPUs of this machine)")
    return capped


def mpi_launcher(cid):
    """`srun --mpi=pmi2` under SLURM, MPICH's `mpiexec` here; empty for one rank."""
    if case_ranks(cid) == 1:
        return ""
    return SRUN if under_slurm() else MPIEXEC


def mpi_resources():
    """Resources of an MPI solve rule (twinflow.resources: tasks, mem_mb, runtime in
    minutes; one CPU per rank). Overridable per rule in a profile's set-resources."""
    request = lambda w: mpi_job_resources(CANONICAL[w.case], case_ranks(w.case))
    return {"tasks": lambda w: case_ranks(w.case),
            "mpi": lambda w: mpi_launcher(w.case),
            "mem_mb": lambda w: request(w)["mem_mb"],
            "runtime": lambda w: request(w)["runtime"],
            "cpus_per_task": 1}


def mpi(command):
    """Shell `command` launched as `{resources.mpi} -n {resources.tasks} command`, or alone
    when resources.mpi is empty."""
    return "mpi={resources.mpi:q}; ${{mpi:+$mpi -n {resources.tasks}}} " + command


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
    conda:
        ENVS["report"]
    shell:
        "{TWINFLOW} {params.record} canonical {input.case:q} -o {output[0]:q}"
        " 2> {log:q} || (cat {log:q} >&2; exit 2)"


CASE_TARGETS.append(lambda cid: [f"{RESULTS}/{cid}/case.json"])
