"""Step records: what one executed workflow step did (``provenance/steps/<step>.json``).

Written by ``twinflow --record PATH <stage> ...`` (:mod:`twinflow.provenance.record`) on
MPI rank 0 after the stage returns; read by the ``provenance`` stage, which turns every record
of a case into one ``CreateAction`` of the case's RO-Crate, and by ``twinflow replay``, which
re-runs the recorded command and compares the recorded outputs.

No field holds a patient identifier: files outside ``results/<id>/`` that come from the
patient (the case file, its images) are *sources*, named by a neutral id (``case-file``,
``source-image-1`` ...) and their SHA-256, never by their path; in ``command`` their argument
is the placeholder ``{source:<id>}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from twinflow.artifacts import Artifact, omitted_when_none


class RecordedFile(Artifact):
    """One input or output file of a step."""

    role: str
    """The rule's name for the file (``settings``, ``mesh``, ``summary`` ...)."""
    path: str | None = None
    """POSIX path relative to the project root (``None`` for a patient source)."""
    source: str | None = None
    """Neutral id of a patient source outside results/ (``case-file``, ``source-image-1``)."""
    sha256: str
    """SHA-256 of the bytes (of a folder: of its files' bytes in sorted name order)."""
    size_bytes: int
    encoding_format: str
    """IANA media type (or a descriptive name for formats without one)."""


class HostKind(Artifact):
    """The kind of machine a step ran on (never its name)."""

    cpu_model: str
    cpu_count: int
    cpu_flags: list[str] = Field(default_factory=list)
    """SIMD flags that can change floating-point results (avx2, fma, avx512f ...)."""
    os: str
    """Operating system and kernel release (platform.platform(terse=True))."""
    machine: str
    """Architecture (x86_64, aarch64)."""


class StepRecord(Artifact):
    """One executed step (a Snakemake job = one ``twinflow <stage>`` call)."""

    kind: Literal["twinflow-step-record"] = "twinflow-step-record"
    stage: str
    scenario: str | None = None
    command: list[str]
    """argv, starting with ``twinflow``; paths relative to the project root, patient sources
    as ``{source:<id>}``."""
    inputs: list[RecordedFile]
    outputs: list[RecordedFile]
    start_time: str
    """UTC, ISO 8601 with milliseconds (``2026-01-01T10:00:00.123+00:00``)."""
    end_time: str
    wall_time_s: float
    mpi_ranks: int
    peak_rss_mb: float | None = omitted_when_none()
    """Peak resident memory of the step's process (rank 0 of an MPI job, whose ranks are
    processes of about that size), MB (``getrusage`` ru_maxrss); absent in older records."""
    host: HostKind
    versions: dict[str, str]
    """twinflow (+ ``twinflow_git_commit`` in a git checkout), python, dolfinx, petsc, mpich,
    onnxruntime, tensorflow, gmsh, snakemake, numpy; a package that is not installed is
    absent."""
    numerics: dict[str, Any] = Field(default_factory=dict)
    """What decides the last bits of a result in this process
    (:func:`twinflow.environment.numerics_fingerprint`: ISA flags, numpy SIMD paths, OpenBLAS
    kernel and threads, ONNX Runtime, pinned gmsh options, numeric environment variables);
    replay names the entries that differ from the current environment."""
    code_sha256: str
    """SHA-256 over the stage's code closure (:func:`twinflow.stages.code_files`): the
    package files the rule declares as ``code`` inputs, hashed in path order."""
