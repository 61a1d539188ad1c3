"""Stage ``provenance``: the case's Workflow Run RO-Crate (``results/<id>/ro-crate-metadata.json``).

The crate follows the Provenance Run Crate profile 0.5 (https://w3id.org/ro/wfrun/provenance/0.5,
RO-Crate 1.1, built with the ``rocrate`` package) from the step records the rules left in
``results/<id>/provenance/steps/`` (:mod:`twinflow.provenance.record`):

* the workflow: a copy of the ``Snakefile``, ``rules/*.smk`` and the default config under
  ``provenance/workflow/`` (the main entity: ``File``, ``SoftwareSourceCode``,
  ``ComputationalWorkflow``, ``HowTo``), its version the project's git commit when there is
  one; one ``HowToStep`` per stage (``step``, in graph order) whose ``workExample`` is the
  stage's tool, a ``SoftwareApplication`` (``hasPart`` of the workflow) that lists the
  software it ran (``softwareRequirements``: DOLFINx, PETSc, MPICH, ONNX Runtime ...);
* one ``CreateAction`` per executed step: ``instrument`` the tool, ``object`` its inputs,
  ``result`` its outputs, ``startTime``/``endTime`` (UTC), the command line as its
  ``description``, ``resourceUsage`` (``PropertyValue``: MPI ranks, wall time, CPU model,
  count and SIMD flags, OS); one ``ControlAction`` per step (``instrument`` the
  ``HowToStep``, ``object`` the ``CreateAction``);
* the run of the whole workflow (a ``CreateAction`` with the workflow as ``instrument``) and
  an ``OrganizeAction`` (``instrument`` Snakemake and its version, ``object`` the control
  actions, ``result`` the workflow run);
* every file with its ``sha256``, ``contentSize`` and ``encodingFormat``; the root's
  ``identifier`` holds the canonical case hash (SHA-256 of ``case.json``'s bytes).

No patient identifier enters the crate: the sources outside ``results/<id>/`` (the case file
and its images) are entities ``#case-file`` / ``#source-image-N`` with hash, size and format
only; the case's free text (description, patient section) is not copied. The rule passes
the records of the case's current graph (``--records``); one whose outputs no longer have
their recorded hash (a file changed after the run) is left out with a warning, so the crate
describes the files present.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any

from rocrate.model.contextentity import ContextEntity
from rocrate.rocrate import ROCrate

from twinflow.artifacts.provenance import RecordedFile, StepRecord
from twinflow.errors import InputError
from twinflow.io import canonical_json, sha256_path, write_text_atomic
from twinflow.provenance.record import encoding_format

log = logging.getLogger(__name__)

PROFILES: dict[str, tuple[str, str]] = {
    "https://w3id.org/ro/wfrun/process/0.5": ("Process Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/workflow/0.5": ("Workflow Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/provenance/0.5": ("Provenance Run Crate", "0.5"),
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": ("Workflow RO-Crate", "1.0"),
}
#: Terms of the Workflow Run Crate vocabulary used here (added to the ``@context`` inline,
#: as the profile's documentation shows, so no second remote context is needed).
WFRUN_TERMS = {"resourceUsage": "https://w3id.org/ro/terms/workflow-run#resourceUsage",
               "sha256": "http://schema.org/sha256"}
#: Order of the stages in the graph (the HowToStep positions).
STAGE_ORDER = ("canonical", "ingest", "segment", "reconstruct_carotid", "reconstruct_lv",
               "drug_effects", "mesh_carotid", "mesh_tube", "mesh_lv", "simulate_flow",
               "simulate_heart", "land2015", "report")
SOFTWARE_NAMES = {"twinflow": "twinflow", "python": "Python", "dolfinx": "DOLFINx",
                  "petsc": "PETSc", "mpi_library": "MPI library", "mpich": "MPICH (wheel)",
                  "mpi4py": "mpi4py", "onnxruntime": "ONNX Runtime", "tensorflow": "TensorFlow",
                  "gmsh": "Gmsh", "snakemake": "Snakemake", "numpy": "NumPy",
                  "simpleitk": "SimpleITK", "pyvista": "PyVista"}
LICENSE = "https://spdx.org/licenses/MIT"
RECORDS = "provenance/steps"
WORKFLOW_COPY = "provenance/workflow"


def step_id(record: StepRecord) -> str:
    return record.stage + (f"-{record.scenario}" if record.scenario else "")


def read_records(case_dir: Path, root: Path,
                 paths: list[Path] | None = None) -> list[StepRecord]:
    """The step records (``paths``, default: every record of the case) whose outputs still
    have their recorded hashes, in time order."""
    folder = case_dir / RECORDS
    for path in paths or []:
        if Path(path).resolve().parent != folder.resolve():
            raise InputError(f"{path}: a step record must lie in {folder}")
    records = [StepRecord.read(p) for p in (paths or sorted(folder.glob("*.json")))]
    current = []
    for rec in records:
        stale = [f.path for f in rec.outputs
                 if f.path and (not (root / f.path).is_file()
                                or sha256_path(root / f.path) != f.sha256)]
        if stale:
            log.warning("step %s left out of the crate: %s changed since it ran",
                        step_id(rec), stale[0])
            continue
        current.append(rec)
    if not current:
        raise InputError(f"{folder}: no step records (run the case through the workflow)")
    return sorted(current, key=lambda r: (r.start_time, step_id(r)))


class _Builder:
    """Collects the crate's entities (one per file, software, tool ...)."""

    def __init__(self, case_dir: Path, root: Path) -> None:
        self.crate = ROCrate(version="1.1")
        self.crate.metadata.extra_terms = dict(WFRUN_TERMS)
        self.case_dir, self.root = case_dir, root
        self.case_prefix = case_dir.resolve().relative_to(root).as_posix() + "/"

    def entity(self, identifier: str, props: dict[str, Any]) -> ContextEntity:
        found = self.crate.get(identifier)
        if found is not None:
            return found
        return self.crate.add(ContextEntity(self.crate, identifier, properties=props))

    def file(self, f: RecordedFile) -> Any:
        props = {"sha256": f.sha256, "contentSize": str(f.size_bytes),
                 "encodingFormat": f.encoding_format}
        if f.source is not None:  # a patient source: no path, no name taken from it
            return self.entity(f"#{f.source}", {"@type": "File", "name": f.source, **props,
                                                "description": "source input outside the "
                                                "crate, named by its SHA-256 only"})
        assert f.path is not None
        if f.path.startswith(self.case_prefix):
            rel = f.path[len(self.case_prefix):]
            existing = self.crate.get(rel)
            if existing is not None:
                return existing
            return self.crate.add_file(self.root / f.path, dest_path=rel,
                                       properties={"name": rel, **props})
        return self.entity(f"#project/{f.path}", {"@type": "File", "name": f.path, **props,
                                                  "description": "project file (outside the "
                                                  "case folder)"})

    def software(self, key: str, version: str) -> Any:
        slug = re.sub(r"[^A-Za-z0-9.+-]+", "-", f"{key}-{version}").strip("-")
        return self.entity(f"#software-{slug}",
                           {"@type": "SoftwareApplication",
                            "name": SOFTWARE_NAMES.get(key, key), "softwareVersion": version})

    def value(self, identifier: str, prop: str, value: Any, unit: str | None = None) -> Any:
        props = {"@type": "PropertyValue", "propertyID": prop, "name": prop, "value": value}
        if unit:
            props["unitText"] = unit
        return self.entity(identifier, props)


def _copy_workflow(workflow_files: list[Path], root: Path, case_dir: Path) -> list[Path]:
    """Copy the workflow definition into the crate (``provenance/workflow/<path>``)."""
    out = []
    for src in workflow_files:
        rel = src.resolve().relative_to(root).as_posix()
        dst = case_dir / WORKFLOW_COPY / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
        out.append(dst)
    return out


def build_crate(case_dir: Path, workflow_files: list[Path], root: Path,
                records: list[Path] | None = None) -> dict[str, Any]:
    """The crate's JSON-LD (see the module docstring); copies the workflow files."""
    steps = read_records(case_dir, root, records)
    b = _Builder(case_dir, root)
    crate = b.crate
    copies = _copy_workflow(workflow_files, root, case_dir)
    main_copy = next(c for c in copies if c.name == "Snakefile")
    versions = steps[-1].versions
    wf = crate.add_workflow(main_copy, dest_path=main_copy.relative_to(case_dir).as_posix(),
                            main=True, lang="snakemake",
                            properties={"name": "twinflow workflow (Snakefile)",
                                        "sha256": sha256_path(main_copy)})
    wf._jsonld["@type"] = ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"]
    if "twinflow_git_commit" in versions:
        wf["version"] = versions["twinflow_git_commit"]
    parts = []  # rule files and config: data entities of the root (not tools)
    for copy in copies:
        if copy != main_copy:
            rel = copy.relative_to(case_dir).as_posix()
            part = crate.add_file(copy, dest_path=rel, properties={
                "name": rel, "sha256": sha256_path(copy),
                "encodingFormat": encoding_format(copy),
                "description": "part of the workflow definition (included by the Snakefile)"})
            part._jsonld["@type"] = ["File", "SoftwareSourceCode"]  # rules and config
            parts.append(part)

    stages = sorted({r.stage for r in steps},
                    key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99)
    tools, howtos = {}, {}
    for position, stage in enumerate(stages):
        recs = [r for r in steps if r.stage == stage]
        requirements = {b.software(k, v).id: b.software(k, v) for r in recs
                        for k, v in sorted(r.versions.items())
                        if k not in ("twinflow", "twinflow_git_commit")}
        code = b.value(f"#code-{stage}", "code-sha256", recs[0].code_sha256)
        tools[stage] = b.entity(f"#tool-{stage}", {
            "@type": "SoftwareApplication", "name": f"twinflow {stage.replace('_', '-')}",
            "description": f"the twinflow sub-command of stage {stage}",
            "softwareVersion": recs[0].versions.get("twinflow", ""),
            "softwareRequirements": [{"@id": i} for i in sorted(requirements)],
            "identifier": {"@id": code.id}})
        howtos[stage] = b.entity(f"#step-{stage}", {
            "@type": "HowToStep", "name": stage, "position": str(position),
            "workExample": {"@id": tools[stage].id}})
    wf["hasPart"] = list(tools.values())  # the profile: hasPart = the orchestrated tools
    wf["step"] = list(howtos.values())

    controls, sources, results = [], {}, {}
    for rec in steps:
        sid = step_id(rec)
        inputs = [b.file(f) for f in rec.inputs]
        outputs = [b.file(f) for f in rec.outputs]
        sources.update({f.source: e for f, e in zip(rec.inputs, inputs, strict=True)
                        if f.source})
        results.update({e.id: e for e in outputs})
        host = rec.host
        usage = [b.value(f"#usage-{sid}-{key}", key, value, unit) for key, value, unit in (
            ("mpi-ranks", rec.mpi_ranks, None), ("wall-time", rec.wall_time_s, "s"),
            ("cpu-model", host.cpu_model, None), ("cpu-count", host.cpu_count, None),
            ("cpu-simd-flags", " ".join(host.cpu_flags), None), ("os", host.os, None),
            ("machine", host.machine, None))]
        action = crate.add_action(tools[rec.stage], identifier=f"#run-{sid}", object=inputs,
                                  result=outputs, properties={
                                      "name": f"run of {sid}",
                                      "startTime": rec.start_time, "endTime": rec.end_time,
                                      "description": " ".join(rec.command),
                                      "actionStatus": {"@id": "http://schema.org/"
                                                              "CompletedActionStatus"}})
        action["resourceUsage"] = usage
        record_rel = f"{RECORDS}/{sid}.json"
        action["subjectOf"] = crate.add_file(
            case_dir / record_rel, dest_path=record_rel, properties={
                "name": record_rel, "encodingFormat": "application/json",
                "sha256": sha256_path(case_dir / record_rel),
                "description": "the step record (twinflow.artifacts.provenance.StepRecord): "
                               "exact argv, inputs, outputs, versions; read by twinflow replay"})
        controls.append(b.entity(f"#control-{sid}", {
            "@type": "ControlAction", "name": f"orchestration of {sid}",
            "instrument": {"@id": howtos[rec.stage].id}, "object": {"@id": action.id}}))

    start, end = steps[0].start_time, max(r.end_time for r in steps)
    run = crate.add_action(wf, identifier="#workflow-run", object=list(sources.values()),
                           result=list(results.values()),
                           properties={"name": f"twinflow run of case {case_dir.name}",
                                       "startTime": start, "endTime": end})
    snakemake = b.entity("#snakemake", {
        "@type": "SoftwareApplication", "name": "Snakemake",
        "url": "https://snakemake.readthedocs.io",
        "softwareVersion": versions.get("snakemake", "unknown")})
    b.entity("#organize", {"@type": "OrganizeAction", "name": "Snakemake orchestration",
                           "instrument": {"@id": snakemake.id},
                           "object": [{"@id": c.id} for c in controls],
                           "result": {"@id": run.id}, "startTime": start, "endTime": end})

    case_json = case_dir / "case.json"
    root_ds = crate.root_dataset
    root_ds["name"] = f"twinflow case {case_dir.name}: workflow run"
    root_ds["description"] = ("Provenance of one twinflow case: every executed step with its "
                              "command, inputs, outputs, hashes, times, ranks, host kind and "
                              "software versions (Provenance Run Crate 0.5).")
    root_ds["license"] = LICENSE
    root_ds["datePublished"] = end
    if case_json.is_file():
        root_ds["identifier"] = [b.value("#canonical-case-sha256", "canonical-case-sha256",
                                         sha256_path(case_json))]
    root_ds["conformsTo"] = [b.entity(uri, {"@type": "CreativeWork", "name": name,
                                            "version": version})
                             for uri, (name, version) in PROFILES.items()]
    root_ds["mentions"] = [run, *(crate.get(f"#run-{step_id(r)}") for r in steps)]
    return crate.metadata.generate()


def provenance(case_dir: Path, out: Path, workflow_files: list[Path],
               root: Path | None = None, records: list[Path] | None = None) -> Path:
    """Stage ``provenance``: write the case's RO-Crate metadata to ``out``
    (``results/<id>/ro-crate-metadata.json``)."""
    root = (root or Path.cwd()).resolve()
    case_dir, out = Path(case_dir), Path(out)
    if out.resolve() != (case_dir / "ro-crate-metadata.json").resolve():
        raise InputError(f"{out}: the crate's metadata must be {case_dir}/ro-crate-metadata.json")
    missing = [p for p in workflow_files if not Path(p).is_file()]
    if missing:
        raise InputError(f"{missing[0]}: workflow file not found")
    if not any(Path(p).name == "Snakefile" for p in workflow_files):
        raise InputError("provenance: --workflow must include the Snakefile")
    data = build_crate(case_dir, [Path(p) for p in workflow_files], root, records)
    write_text_atomic(out, canonical_json(data))
    log.info("RO-Crate written: %s (%d entities)", out, len(data["@graph"]))
    return out
