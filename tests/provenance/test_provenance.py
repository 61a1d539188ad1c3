"""Provenance through the real workflow: step records, the RO-Crate (checked by roc-validator,
Provenance Run Crate 0.5), ``twinflow replay`` (exact re-runs, tampered/deleted/extra outputs,
``--only``), and no patient identifier of an ingested DICOM anywhere in ``results/<id>/``.

The small case is a 9 mm straight tube (472 cells) solved for one period in 10 steps on 2 MPI
ranks: canonical -> mesh_tube -> simulate_flow (mpiexec -n 2) -> report -> provenance,
~10 s through ``twinflow run`` on 2 cores, its replay ~8 s.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import package_env, project_copy, run_cli
from tests.imaging.test_read_ingest import IDENTIFIERS as INGEST_IDENTIFIERS
from tests.imaging.test_read_ingest import write_us_dicom
from tests.provenance.validator import must_issues, validate
from twinflow.artifacts.provenance import StepRecord

pytestmark = [pytest.mark.slow, pytest.mark.mpi]

TUBE = """\
anatomy: carotid
description: Short tube for the provenance tests.
geometry:
  kind: tube
  tube: {radius: 3 mm, length: 9 mm}
mesh:
  cell_size: 1.5 mm
physics:
  blood: {density: 1050 kg/m**3, viscosity: 3.5 mPa*s}
  inflow: {waveform: sinusoidal, mean_flow: 3 mL/s, amplitude: 3 mL/s, period: 1.06 s,
           profile: womersley}
  outlets: {model: flow-split, pressure: 0 Pa}
simulation:
  time_step: 106 ms
  cycles: 1
  mpi_ranks: 2
"""


def _cli(project: Path, *args: str, timeout: float = 600):
    return run_cli(*args, cwd=project, env=package_env(project), timeout=timeout)


@pytest.fixture(scope="module")
def tube_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy in which the tube case ran through ``twinflow run`` (shared: copy it
    before changing anything)."""
    project = project_copy(tmp_path_factory.mktemp("tube"), package=True)
    (project / "cases" / "tube.yaml").write_text(TUBE)
    proc = _cli(project, "run", "cases/tube.yaml", "--cores", "2")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return project


def _copy(project: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "project"
    shutil.copytree(project, dst, symlinks=True)
    return dst


def test_every_step_is_recorded(tube_run: Path) -> None:
    steps = tube_run / "results" / "tube" / "provenance" / "steps"
    records = {p.stem: StepRecord.read(p) for p in steps.glob("*.json")}
    assert set(records) == {"canonical", "mesh_tube", "simulate_flow-baseline", "report"}
    solve = records["simulate_flow-baseline"]
    assert solve.mpi_ranks == 2 and solve.scenario == "baseline"
    assert solve.command[:2] == ["twinflow", "simulate-flow"]
    assert "--record" not in solve.command
    assert all(not Path(t).is_absolute() for t in solve.command)
    outputs = {f.path for f in solve.outputs}
    # declared by the rule, and the renders the summary lists beside it
    assert {"results/tube/baseline/summary.json", "results/tube/baseline/series.csv",
            "results/tube/baseline/settings.json", "results/tube/baseline/tawss.png"} <= outputs
    for f in solve.outputs + solve.inputs:
        assert f.sha256 == hashlib.sha256(
            (tube_run / f.path).read_bytes()).hexdigest(), f.path
    assert {"twinflow", "python", "dolfinx", "petsc", "mpi_library", "gmsh", "snakemake",
            "numpy", "onnxruntime", "tensorflow"} <= set(solve.versions)
    assert solve.versions["mpi_library"].startswith("MPICH")
    assert solve.host.cpu_count >= 1 and solve.host.os
    assert solve.numerics["cpu"]["isa"] == solve.host.cpu_flags or solve.numerics["openblas"]
    assert solve.start_time < solve.end_time
    canonical = records["canonical"]
    assert canonical.inputs[0].source == "case-file" and canonical.inputs[0].path is None
    assert canonical.command[1:3] == ["canonical", "{source:case-file}"]


def test_crate_validates_with_roc_validator(tube_run: Path, tmp_path: Path) -> None:
    case = tube_run / "results" / "tube"
    crate = json.loads((case / "ro-crate-metadata.json").read_text())
    graph = {e["@id"]: e for e in crate["@graph"]}
    runs = [e for e in graph.values() if e["@type"] == "CreateAction" and "subjectOf" in e]
    assert len(runs) == 4  # one per executed step
    solve = graph["#run-simulate_flow-baseline"]
    assert solve["instrument"] == {"@id": "#tool-simulate_flow"}
    assert {"@id": "baseline/summary.json"} in solve["result"]
    assert solve["description"].startswith("twinflow simulate-flow --settings")
    usage = {graph[u["@id"]]["propertyID"]: graph[u["@id"]]["value"]
             for u in solve["resourceUsage"]}
    assert usage["mpi-ranks"] == 2
    assert graph["baseline/summary.json"]["sha256"] == hashlib.sha256(
        (case / "baseline" / "summary.json").read_bytes()).hexdigest()
    assert graph["#organize"]["instrument"] == {"@id": "#snakemake"}
    assert graph["#snakemake"]["softwareVersion"]
    canonical_hash = graph["#canonical-case-sha256"]["value"]
    assert canonical_hash == hashlib.sha256(
        (case / "case.json").read_bytes()).hexdigest()
    report = validate(case, tmp_path)
    assert must_issues(report) == [] and report["passed"], must_issues(report)[:5]


def test_replay_of_the_finished_case_matches(tube_run: Path, tmp_path: Path) -> None:
    project = _copy(tube_run, tmp_path)
    proc = _cli(project, "replay", "results/tube", "--scratch", str(tmp_path / "scratch"))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("results/tube/")]
    assert len(rows) >= 9 and all(line.endswith(" ok") for line in rows), proc.stdout
    for name in ("case.json", "mesh/mesh.h5", "baseline/summary.json", "baseline/series.csv",
                 "report.html"):
        assert any(line.startswith(f"results/tube/{name} ") for line in rows), name


def test_replay_names_a_changed_number(tube_run: Path, tmp_path: Path) -> None:
    project = _copy(tube_run, tmp_path)
    series = project / "results" / "tube" / "baseline" / "series.csv"
    lines = series.read_text().splitlines()
    cells = lines[2].split(",")
    cells[4] = f"{float(cells[4]) * 1.001:.12e}"  # one pressure value, +0.1 %
    lines[2] = ",".join(cells)
    series.write_text("\n".join(lines) + "\n")
    proc = _cli(project, "replay", "results/tube", "--only", "simulate_flow")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    named = [line for line in proc.stdout.splitlines() if line.startswith("mismatch: ")]
    assert named == ["mismatch: results/tube/baseline/series.csv"], proc.stdout
    assert "Traceback" not in proc.stderr


def test_replay_names_a_deleted_output(tube_run: Path, tmp_path: Path) -> None:
    project = _copy(tube_run, tmp_path)
    (project / "results" / "tube" / "mesh" / "mesh_quality.json").unlink()
    proc = _cli(project, "replay", "results/tube", "--only", "mesh_tube")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    named = [line for line in proc.stdout.splitlines() if line.startswith("mismatch: ")]
    assert named == ["mismatch: results/tube/mesh/mesh_quality.json"], proc.stdout
    assert "deleted since the run" in proc.stdout and "Traceback" not in proc.stderr


def test_replay_only_one_stage_and_bad_crates(tube_run: Path, tmp_path: Path) -> None:
    project = _copy(tube_run, tmp_path)
    proc = _cli(project, "replay", "results/tube", "--only", "simulate_flow")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "simulate_flow-baseline" in proc.stdout and "mesh_tube " not in proc.stdout
    # --only checks the recorded inputs first: a changed mesh is named, the solve not run
    with (project / "results" / "tube" / "mesh" / "mesh.xdmf").open("a") as f:
        f.write("\n")
    (project / "results" / "tube" / "baseline" / "notes.txt").write_text("x")  # extra
    proc = _cli(project, "replay", "results/tube", "--only", "simulate_flow")
    named = [line for line in proc.stdout.splitlines() if line.startswith("mismatch: ")]
    assert proc.returncode == 1 and named == ["mismatch: results/tube/mesh/mesh.xdmf",
                                              "mismatch: results/tube/baseline/notes.txt"], \
        proc.stdout
    assert "re-run" in proc.stdout and "inputs missing" in proc.stdout
    # a bad crate: one line, exit 2
    crate = project / "results" / "tube" / "ro-crate-metadata.json"
    crate.write_text("{")
    proc = _cli(project, "replay", "results/tube")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "ro-crate-metadata.json" in proc.stderr


# --------------------------------------------------------------------------- identifiers

IDENTIFIERS = {"PatientName": "DOE^JOHN", "PatientID": "12345678",
               "InstitutionName": "Quirkwood General Hospital", "StudyDate": "20190312",
               "PatientBirthDate": "19500101"}


def _write_dicom(path: Path) -> None:
    path.parent.mkdir(parents=True)
    array = np.random.default_rng(3).integers(0, 255, (96, 128))
    write_us_dicom(path, array, **IDENTIFIERS)


def test_no_dicom_identifier_reaches_the_results_or_the_crate(tmp_path: Path) -> None:
    """A DICOM in cases/data/DOE^JOHN_12345678/ goes through ``twinflow run`` to its ingest
    (canonical -> ingest), then ``twinflow provenance`` writes the crate from those records:
    no byte of any file under results/<id>/ holds a name, ID, date, institution or the
    folder's name; the crate validates."""
    project = project_copy(tmp_path, package=True)
    _write_dicom(project / "cases" / "data" / "DOE^JOHN_12345678" / "DOE_JOHN_1.dcm")
    (project / "cases" / "us.yaml").write_text(
        "anatomy: carotid\nimages:\n  - path: data/DOE^JOHN_12345678/DOE_JOHN_1.dcm\n"
        "    modality: ultrasound\n    view: longitudinal\n")
    proc = _cli(project, "run", "cases/us.yaml", "--cores", "2", "--snakemake-args",
                "results/us/images/manifest.json")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    workflow = ["Snakefile", *sorted(str(p.relative_to(project))
                                     for p in (project / "rules").glob("*.smk"))]
    proc = _cli(project, "provenance", "--case-dir", "results/us", "--workflow", *workflow,
                "--out", "results/us/ro-crate-metadata.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    case = project / "results" / "us"
    ingest = StepRecord.read(case / "provenance" / "steps" / "ingest.json")
    assert [f.source for f in ingest.inputs if f.role == "images"] == ["source-image-1"]
    assert "{source:source-image-1}" in ingest.command
    needles = ["DOE", "JOHN", "12345678", "Quirkwood", "20190312", "19500101",
               "2019-03-12", "1950-01-01", *INGEST_IDENTIFIERS.values()]
    hits = [f"{p.relative_to(case)}: {n}" for p in case.rglob("*") if p.is_file()
            for n in needles if n.encode() in p.read_bytes()]
    assert hits == []
    assert (case / "images" / "00-longitudinal.nii.gz").is_file()
    report = validate(case, tmp_path / "v")
    assert must_issues(report) == [], must_issues(report)[:5]
    # replay finds the case file and the DICOM by their hashes (under cases/) and re-runs
    # canonical and ingest
    proc = _cli(project, "replay", "results/us")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "results/us/images/00-longitudinal.nii.gz" in proc.stdout


# --------------------------------------------------------------------------- wall clock

PHYSICAL_TIMES = {"contraction_time_s", "relaxation_time_s", "onset_s", "time_step_s",
                  "period_s", "analysed_from_s"}


def _fields(model: type, seen: set[type]) -> set[str]:
    """Field names of a pydantic model and of the models nested in it (not below a field that
    replay skips whole, such as ``timing``)."""
    from pydantic import BaseModel

    from twinflow.provenance.compare import TIMING_KEYS

    if model in seen:
        return set()
    seen.add(model)
    names = set(model.model_fields)
    for name, field in model.model_fields.items():
        if name in TIMING_KEYS:
            continue
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _fields(arg, seen)
    return names


def test_replay_skips_every_wall_clock_field_and_only_those(tmp_path: Path) -> None:
    """Every time-in-seconds field of an artifact is either physics (compared) or wall clock
    (in compare.TIMING_KEYS, not compared): a new one must be put on one side. The carotid
    mesher's meshing_time_s once made a replay of mesh_carotid fail."""
    from twinflow.case.schema import ARTIFACTS
    from twinflow.provenance.compare import TIMING_KEYS, compare_json

    seen: set[type] = set()
    names = set().union(*(_fields(model, seen) for _, model, _ in ARTIFACTS))
    timed = {n for n in names if "time" in n and n.endswith("_s")}
    assert "meshing_time_s" in timed and "wall_time_s" in timed
    assert timed <= TIMING_KEYS | PHYSICAL_TIMES, timed - TIMING_KEYS - PHYSICAL_TIMES
    assert {"meshing_time_s", "extrusion_time_s", "wall_time_s"} <= TIMING_KEYS
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"cells": 23294, "meshing_time_s": 59.2,
                             "wall_mesh": {"extrusion_time_s": 5.2}}))
    b.write_text(json.dumps({"cells": 23294, "meshing_time_s": 33.2,
                             "wall_mesh": {"extrusion_time_s": 4.1}}))
    assert compare_json(a, b).ok
    b.write_text(json.dumps({"cells": 23295, "meshing_time_s": 59.2,
                             "wall_mesh": {"extrusion_time_s": 5.2}}))
    assert not compare_json(a, b).ok
