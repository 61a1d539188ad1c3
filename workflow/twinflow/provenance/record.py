"""``twinflow --record PATH --record-io JSON <stage> ...``: run a stage and record the step.

The rule of a stage passes the files it declares as ``--record-io`` (canonical JSON
``{"inputs": {role: path | [paths]}, "outputs": {...}, "scenario": id | null}``, built by
``step_record()`` in ``rules/case.smk``; ``code`` inputs are left out and summarised by
``code_sha256``) and the record's path, one of the rule's outputs (so the provenance rule,
which reads every record of a case, runs again whenever a step does). On MPI rank 0 the
stage runs between two UTC time stamps; after it returns, every declared input and output
is hashed (SHA-256) and the
:class:`~twinflow.artifacts.provenance.StepRecord` is written atomically. A failing stage
writes no record.

Patient sources — input ``case`` of ``canonical`` (the case file) and ``images`` of
``ingest`` (the images the case names) — are recorded by a neutral id and their hash, never
by path, and the command shows them as ``{source:<id>}`` (``twinflow replay`` finds the
files by hash). Inputs also include the files their JSON artifacts list (an images
manifest's images) and the rule's optional inputs that exist; outputs the files the
declared JSON outputs list beside themselves and the rule's optional outputs.

Versions are read from package metadata (``importlib.metadata``), so recording a step that
does not use TensorFlow does not import it (importing it costs seconds); the MPI library's
own version string comes from ``mpi4py.MPI.Get_library_version`` (0.1 s), PETSc's from
``petsc4py``'s package (no PETSc initialisation).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twinflow import __version__
from twinflow.artifacts.provenance import HostKind, RecordedFile, StepRecord
from twinflow.errors import InputError
from twinflow.io import sha256_path
from twinflow.logs import mpi_rank

log = logging.getLogger(__name__)

#: Inputs that come from the patient, per stage (role -> neutral id): recorded without their
#: path. (Other stages' ``images`` input is the ingest manifest, an artifact.)
SOURCE_ROLES: dict[str, dict[str, str]] = {"canonical": {"case": "case-file"},
                                           "ingest": {"images": "source-image"}}

#: Distribution names whose versions a step records (key -> distribution).
PACKAGES: dict[str, str] = {
    "dolfinx": "dolfinx-solver-real", "mpi4py": "mpi4py", "mpich": "mpich",
    "onnxruntime": "onnxruntime", "tensorflow": "tensorflow", "gmsh": "gmsh",
    "snakemake": "snakemake", "numpy": "numpy", "simpleitk": "SimpleITK", "pyvista": "pyvista",
}

#: CPU flags that select different floating-point kernels (BLAS, ONNX Runtime, VTK).
SIMD_FLAGS: tuple[str, ...] = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni",
                               "avx512_bf16", "amx_tile", "asimd", "sve")

#: File suffix -> media type (IANA where one exists).
FORMATS: dict[str, str] = {
    ".json": "application/json", ".csv": "text/csv", ".html": "text/html",
    ".yaml": "application/yaml", ".yml": "application/yaml", ".xdmf": "application/xml",
    ".h5": "application/x-hdf5", ".nii.gz": "application/gzip", ".nii": "image/nifti",
    ".vtp": "application/xml", ".stl": "model/stl", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".dcm": "application/dicom", ".onnx": "application/octet-stream",
    ".svg": "image/svg+xml", ".bp": "application/octet-stream", ".mha": "application/octet-stream",
    ".smk": "text/x-snakemake", ".log": "text/plain",
}


def encoding_format(path: str | Path) -> str:
    name = Path(path).name.lower()
    if Path(path).is_dir():
        return "application/dicom"  # a folder input is a DICOM series
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    return "application/dicom" if "." not in name else "application/octet-stream"


def utc_now() -> str:
    """UTC now, ISO 8601 with milliseconds (``2026-01-01T10:00:00.123+00:00``, the form the
    Process Run Crate profile recommends)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports ru_maxrss in kB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def mpi_size() -> int:
    """Ranks of this MPI job, without importing mpi4py (set by MPICH/Hydra, Open MPI, PMIx
    and, for a job step launched by ``srun``, SLURM)."""
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"):
        if name in os.environ:
            return int(os.environ[name])
    return 1


def is_rank_zero() -> bool:
    """Rank 0 of the MPI job (or no MPI job); ``srun`` without PMI sets only SLURM_PROCID."""
    return mpi_rank() == 0 and int(os.environ.get("SLURM_PROCID", "0")) == 0


@functools.cache
def host_kind() -> HostKind:
    """CPU model, count, SIMD flags and OS of this machine (never its name)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model") and model in ("", platform.machine(),
                                                                    platform.processor()):
                model = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return HostKind(cpu_model=model or "unknown", cpu_count=os.cpu_count() or 1,
                    cpu_flags=[f for f in SIMD_FLAGS if f in flags],
                    os=platform.platform(terse=True), machine=platform.machine())


def git_commit(root: Path) -> str | None:
    """HEAD of the project when it is a git checkout (None otherwise)."""
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], text=True,
                             capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions(root: Path) -> dict[str, str]:
    """Versions of twinflow (+ git commit), Python and the numerical packages."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"twinflow": __version__, "python": platform.python_version()}
    commit = git_commit(root)
    if commit:
        found["twinflow_git_commit"] = commit
    for key, dist in PACKAGES.items():
        try:
            found[key] = version(dist)
        except PackageNotFoundError:
            continue
    try:
        import petsc4py

        found["petsc"] = str(petsc4py.__version__)
    except ImportError:
        pass
    try:
        from mpi4py import MPI

        found["mpi_library"] = " ".join(MPI.Get_library_version().splitlines()[0].split())
    except ImportError:
        pass
    return found


def numerics() -> dict[str, Any]:
    """The numerics fingerprint of this process (twinflow.environment; ~1.5 s when numpy,
    scipy and ONNX Runtime are not imported yet, less inside a stage that imported them)."""
    from twinflow.environment import numerics_fingerprint

    return numerics_fingerprint()


def code_sha256(stage: str) -> str:
    """SHA-256 of the stage's code manifest (:func:`twinflow.stages.module_manifest`: each
    module of its import closure with its SHA-256, as canonical JSON)."""
    import hashlib

    from twinflow.io import canonical_json
    from twinflow.stages import STAGES, module_manifest

    module = STAGES[stage].module if stage in STAGES else f"twinflow.{_EXTRA_MODULES[stage]}"
    return hashlib.sha256(canonical_json(module_manifest(module)).encode()).hexdigest()


#: Recorded commands that are not stages of :data:`twinflow.stages.STAGES`.
_EXTRA_MODULES = {"canonical": "case.load"}


def _paths(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _relative(path: str, root: Path) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(root).as_posix()
        except ValueError:
            return p.as_posix()
    return p.as_posix()


def parse_io(text: str) -> dict[str, Any]:
    try:
        io = json.loads(text)
        assert isinstance(io, dict) and isinstance(io.get("inputs"), dict) \
            and isinstance(io.get("outputs"), dict)
    except (json.JSONDecodeError, AssertionError):
        raise InputError("--record-io: expected JSON {\"inputs\": {...}, \"outputs\": {...}}") \
            from None
    return io


def _files(declared: dict[str, Any], root: Path, sources: dict[str, str]) -> list[RecordedFile]:
    out = []
    for role, value in declared.items():
        for path in _paths(value):
            full = Path(path) if Path(path).is_absolute() else root / path
            if not full.exists():
                raise InputError(f"{path}: declared {role} file of the step does not exist")
            size = sum(f.stat().st_size for f in full.rglob("*") if f.is_file()) \
                if full.is_dir() else full.stat().st_size
            source = sources.get(path)
            out.append(RecordedFile(role=role, path=None if source else _relative(path, root),
                                    source=source, sha256=sha256_path(full), size_bytes=size,
                                    encoding_format=encoding_format(full)))
    return out


_LISTING_KEYS = ("image", "sidecar", "mask", "surfaces", "outputs")


def listed_files(artifact: Path) -> list[Path]:
    """Files a declared JSON artifact lists beside itself (an images/masks manifest's images,
    sidecars and masks; measurements' surfaces; a summary's ``outputs``): per-case side
    outputs that a rule cannot name statically. Folders (ADIOS2 ``.bp`` field output, whose
    ``profiling.json`` holds timings) are left out."""
    if artifact.suffix != ".json":
        return []
    try:
        data = json.loads(artifact.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names: list[str] = []

    def walk(node: Any, take: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, take or key in _LISTING_KEYS)
        elif isinstance(node, list):
            for value in node:
                walk(value, take)
        elif take and isinstance(node, str) and node:
            names.append(node)

    walk(data, False)
    found = []
    for name in dict.fromkeys(names):
        path = (artifact.parent / name).resolve()
        if path.is_file() and path != artifact.resolve() \
                and path.is_relative_to(artifact.parent.resolve()):
            found.append(path)
    return found


def _with_listed(inputs: list[RecordedFile], root: Path,
                 optional: Sequence[str] = ()) -> list[RecordedFile]:
    """Inputs plus the files their JSON artifacts list beside them (the images an images
    manifest names are read by the stage too) and the rule's optional inputs that exist."""
    declared = {f.path for f in inputs if f.path}
    listed: dict[str, str] = {}
    for path in optional:
        rel = _relative(path, root)
        if (root / rel).is_file() and rel not in declared:
            listed[rel] = rel
    for f in inputs:
        if f.path is None:
            continue
        for path in listed_files(root / f.path):
            rel = _relative(str(path), root)
            if rel not in declared:
                listed[rel] = rel
    return inputs + (_files({"listed": list(listed)}, root, {}) if listed else [])


def strip_record_options(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--record X`` / ``--record-io Y`` (either spelling)."""
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in ("--record", "--record-io"):
            skip = True
            continue
        if token.startswith(("--record=", "--record-io=")):
            continue
        out.append(token)
    return out


def recorded(stage: str, record: Path, io_text: str, argv: Sequence[str],
             run: Callable[[], Any], root: Path | None = None) -> Any:
    """Run ``run()`` (the stage) and, on rank 0, write its :class:`StepRecord` to ``record``."""
    root = (root or Path.cwd()).resolve()
    from twinflow.stages import STAGES

    if stage not in STAGES and stage not in _EXTRA_MODULES:
        raise InputError(f"--record: {stage.replace('_', '-')} is not a workflow step")
    io = parse_io(io_text)
    inputs = {k: v for k, v in io["inputs"].items() if k != "code"}
    sources: dict[str, str] = {}
    for role, prefix in SOURCE_ROLES.get(stage, {}).items():
        paths = _paths(inputs.get(role, []))
        for i, path in enumerate(paths):
            sources[path] = prefix if role == "case" else f"{prefix}-{i + 1}"
    command = ["twinflow"]
    for token in strip_record_options(argv):
        command.append(f"{{source:{sources[token]}}}" if token in sources
                       else _relative(token, root) if Path(token).is_absolute() else token)
    start, t0 = utc_now(), time.perf_counter()
    result = run()
    wall, end = time.perf_counter() - t0, utc_now()
    if is_rank_zero():
        outputs = _files(io["outputs"], root, {})
        declared = {f.path for f in outputs}
        listed = {}
        for f in list(outputs):
            for path in listed_files(root / str(f.path)):
                rel = _relative(str(path.resolve()), root)
                if rel not in declared and rel not in listed:
                    listed[rel] = rel
        for path in io.get("optional", []):
            rel = _relative(path, root)
            if (root / rel).is_file() and rel not in declared and rel not in listed:
                listed[rel] = rel
        outputs += _files({"listed": list(listed)}, root, {}) if listed else []
        step = StepRecord(
            stage=stage, scenario=io.get("scenario"), command=command,
            inputs=_with_listed(_files(inputs, root, sources), root,
                                io.get("optional_inputs", [])), outputs=outputs,
            start_time=start, end_time=end, wall_time_s=round(wall, 6), mpi_ranks=mpi_size(),
            peak_rss_mb=round(peak_rss_mb(), 1), host=host_kind(), versions=versions(root),
            numerics=numerics(),
            code_sha256=code_sha256(stage))
        step.write(record)
        log.info("step record written: %s", record)
    return result
