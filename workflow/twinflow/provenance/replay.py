"""``twinflow replay results/<id> [--only STAGE] [--scratch DIR] [--sources DIR]``.

Re-executes a finished case from what its RO-Crate records and compares every recorded
output (:mod:`twinflow.provenance.compare` states the tolerance per artifact type):

1. The crate (``results/<id>/ro-crate-metadata.json``) names one step record per executed
   step (``subjectOf`` of each ``CreateAction``, with its SHA-256): the exact argv, the
   inputs and outputs with their hashes, the MPI ranks, versions and host kind.
2. Patient sources (the case file, its images) are found by SHA-256 in ``--sources``
   (default: the project's ``cases/`` folder); the crate never holds their paths.
3. In a scratch folder laid out like the project, every step runs again in recorded order
   with its recorded command (``mpiexec -n N`` where it ran on N > 1 ranks). Settings files
   are derived again from the replayed ``case.json`` (``twinflow.stages``) and must equal the
   recorded ones; project files (ONNX models) are copied after their hash is checked. With
   ``--only STAGE`` only that stage runs, from its recorded inputs, which must first match
   their hashes.
4. Every recorded output is checked twice: the case's file must still have its recorded
   SHA-256 (else it was changed or deleted after the run), and the replayed file must match it
   within the tolerance of its type. Files in ``results/<id>/`` that no step recorded are
   reported as extra.

One table (artifact, check, max difference, tolerance, verdict) goes to stdout; exit 0 when
all match, 1 when any does not (the mismatching files are named below the table), 2 for a
bad crate. When something differs and the current environment (package versions, CPU
model or SIMD flags) is not the recorded one, a footnote lists the differences.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from twinflow.artifacts.provenance import RecordedFile, StepRecord
from twinflow.errors import InputError
from twinflow.io import read_json, sha256_path
from twinflow.provenance.compare import compare
from twinflow.provenance.crate import step_id
from twinflow.provenance.record import host_kind, versions

log = logging.getLogger(__name__)

#: Folders of a case that hold no step output (logs, settings derived at parse time, the
#: crate's own files) and undeclared ADIOS2 field folders (``*.bp``, see docs/provenance.md).
NOT_OUTPUTS = ("logs/", "settings/", "provenance/", "ro-crate-metadata.json")


@dataclass(slots=True)
class Row:
    artifact: str
    check: str
    max_diff: str
    tolerance: str
    ok: bool
    note: str = ""


def load_records(case_dir: Path) -> list[StepRecord]:
    """The step records the crate names, each checked against the hash the crate holds."""
    crate = case_dir / "ro-crate-metadata.json"
    try:
        graph = {e["@id"]: e for e in json.loads(crate.read_text())["@graph"]}
    except FileNotFoundError:
        raise InputError(f"{crate}: no RO-Crate (run the case to its provenance step)") \
            from None
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{crate}: not an RO-Crate (no JSON-LD @graph)") from None
    records = []
    for entity in graph.values():
        types = entity.get("@type")
        types = types if isinstance(types, list) else [types]
        if "CreateAction" not in types or "subjectOf" not in entity:
            continue
        ref = entity["subjectOf"].get("@id", "") if isinstance(entity["subjectOf"], dict) \
            else ""
        path = case_dir / ref
        recorded = graph.get(ref, {}).get("sha256")
        if not path.is_file():
            raise InputError(f"{crate}: step record {ref} is missing")
        if recorded != sha256_path(path):
            raise InputError(f"{crate}: step record {ref} changed since the crate was written")
        try:
            records.append(StepRecord.read(path))
        except InputError as err:
            raise InputError(f"{crate}: {err.lines[0]}") from None
    if not records:
        raise InputError(f"{crate}: the crate records no step (not a twinflow crate)")
    # the order they ran in, validation first (the other steps read settings files the
    # workflow wrote when it loaded, so Snakemake may have started one before it)
    return sorted(records, key=lambda r: (r.stage != "canonical", r.start_time, step_id(r)))


def project_root(case_dir: Path, records: list[StepRecord]) -> Path:
    """The folder the recorded paths are relative to (the project of the case)."""
    case = case_dir.resolve()
    probe = next((f.path for r in records for f in r.outputs if f.path), None)
    for candidate in case.parents:
        if probe and (candidate / probe).resolve().is_relative_to(case):
            return candidate
    raise InputError(f"{case_dir}: the crate's paths do not lead into this folder")


def find_sources(needed: dict[str, RecordedFile], folder: Path) -> dict[str, Path]:
    """Source id -> a file (or DICOM folder) under ``folder`` with the recorded SHA-256."""
    found: dict[str, Path] = {}
    if not needed or not folder.is_dir():
        return found
    by_size: dict[int, list[str]] = {}
    for sid, f in needed.items():
        by_size.setdefault(f.size_bytes, []).append(sid)
    candidates = [p for p in folder.rglob("*") if p.is_file()]
    candidates += [p for p in folder.rglob("*") if p.is_dir()]
    for path in candidates:
        size = path.stat().st_size if path.is_file() else \
            sum(q.stat().st_size for q in path.rglob("*") if q.is_file())
        ids = [i for i in by_size.get(size, []) if i not in found]
        if not ids:
            continue
        digest = sha256_path(path)
        for sid in ids:
            if needed[sid].sha256 == digest:
                found[sid] = path.resolve()
        if len(found) == len(needed):
            break
    return found


def _mpiexec() -> str:
    exe = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) \
        or shutil.which("mpiexec")
    if exe is None:
        raise InputError("replay: a step ran under MPI but no mpiexec is available")
    return exe


def _command(rec: StepRecord, sources: dict[str, Path]) -> list[str]:
    cmd = [sys.executable, "-m", "twinflow"]
    for token in rec.command[1:]:
        if token.startswith("{source:") and token.endswith("}"):
            cmd.append(str(sources[token[len("{source:"):-1]]))
        else:
            cmd.append(token)
    if rec.mpi_ranks > 1:
        cmd = [_mpiexec(), "-n", str(rec.mpi_ranks), *cmd]
    return cmd


def _stage_inputs(rec: StepRecord, root: Path, scratch: Path, rows: list[Row]) -> bool:
    """Copy a step's recorded inputs from the project into the scratch folder, each checked
    against its recorded hash first; False when one does not match."""
    ok = True
    for f in rec.inputs:
        if f.path is None:
            continue
        src = root / f.path
        if not src.is_file():
            rows.append(Row(f.path, "recorded input present", "missing", "-", False))
            ok = False
        elif sha256_path(src) != f.sha256:
            rows.append(Row(f.path, "input SHA-256 as recorded", "changed", "exact", False))
            ok = False
        else:
            dst = scratch / f.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return ok


def _derive_settings(scratch: Path, case_rel: str) -> None:
    from twinflow.stages import write_stage_settings

    case_json = scratch / case_rel / "case.json"
    if case_json.is_file():
        write_stage_settings(read_json(case_json, "replayed case.json"), scratch / case_rel)


def _compare_outputs(rec: StepRecord, root: Path, scratch: Path, rows: list[Row]) -> None:
    for f in rec.outputs:
        assert f.path is not None
        ref, new = root / f.path, scratch / f.path
        if not ref.is_file():
            rows.append(Row(f.path, "present in the case", "missing", "-", False,
                            "deleted since the run"))
        elif sha256_path(ref) != f.sha256:
            rows.append(Row(f.path, "SHA-256 as recorded", "changed", "exact", False,
                            "changed since the run"))
        if not new.is_file():
            rows.append(Row(f.path, "re-created by the replay", "missing", "-", False))
            continue
        if ref.is_file():
            c = compare(ref, new)
            rows.append(Row(f.path, c.name, c.max_diff, c.tolerance, c.ok, c.note))


def _extra_files(case_dir: Path, root: Path, records: list[StepRecord],
                 rows: list[Row]) -> None:
    known = {f.path for r in records for f in (*r.outputs, *r.inputs) if f.path}
    for path in sorted(p for p in case_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(case_dir).as_posix()
        if rel.startswith(NOT_OUTPUTS) or any(part.endswith(".bp") for part in
                                              path.relative_to(case_dir).parts):
            continue
        if path.resolve().relative_to(root).as_posix() not in known:
            rows.append(Row(path.resolve().relative_to(root).as_posix(), "recorded by a step",
                            "extra file", "-", False, "no step record names it"))


def step_env(rec: StepRecord) -> dict[str, str]:
    """The environment a step is replayed in: this one, with the thread variables the step
    ran with (numerics fingerprint ``env``: Snakemake sets OMP_NUM_THREADS & co. from the
    job's threads) set, or unset, as recorded."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for key, value in (rec.numerics.get("env") or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def _replayed_as_recorded(key: str) -> bool:
    """Fingerprint keys that step_env gives each replayed step (its thread variables and
    the BLAS thread counts they set), so a difference in this process does not count."""
    return key.startswith("env.") or (key.startswith("openblas.") and key.endswith(".threads"))


def environment_changes(records: list[StepRecord], root: Path) -> list[str]:
    """Differences between the recorded environments and this one (versions, CPU, the
    numerics fingerprint: numpy SIMD paths, OpenBLAS kernel ...; not the thread variables,
    which :func:`step_env` replays)."""
    from twinflow.environment import fingerprint_differences, numerics_fingerprint

    now, host = versions(root), host_kind()
    changes: dict[str, str] = {}
    current = numerics_fingerprint()
    for rec in records:
        if rec.numerics:
            for key in fingerprint_differences(rec.numerics, current):
                if not _replayed_as_recorded(key):
                    changes[f"numerics {key}"] = f"numerics: {key}"
        for key, value in rec.versions.items():
            if key != "twinflow_git_commit" and now.get(key, "absent") != value:
                changes[key] = f"{key} {value} -> {now.get(key, 'absent')}"
        if rec.host.cpu_model != host.cpu_model:
            changes["cpu"] = f"CPU {rec.host.cpu_model} -> {host.cpu_model}"
        if rec.host.cpu_flags != host.cpu_flags:
            changes["flags"] = (f"SIMD flags {' '.join(rec.host.cpu_flags)} -> "
                                f"{' '.join(host.cpu_flags)}")
    return sorted(changes.values())


def print_table(rows: list[Row]) -> None:
    header = ("artifact", "check", "max difference", "tolerance", "verdict")
    table = [header] + [(r.artifact, r.check, r.max_diff, r.tolerance,
                         "ok" if r.ok else "MISMATCH" + (f" ({r.note})" if r.note else ""))
                        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
              + "  " + row[4])
        if i == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * 7)


def replay(case_dir: Path, only: str | None = None, scratch: Path | None = None,
           sources: Path | None = None, keep: bool = False) -> int:
    """Replay a finished case (see the module docstring); returns the exit status."""
    case_dir = Path(case_dir)
    records = load_records(case_dir)
    root = project_root(case_dir, records)
    case_rel = case_dir.resolve().relative_to(root).as_posix()
    if only is not None:
        stage = only.replace("-", "_")
        selected = [r for r in records if r.stage == stage]
        if not selected:
            raise InputError(f"--only {only}: no recorded step of that stage (recorded: "
                             f"{', '.join(sorted({r.stage for r in records}))})")
    else:
        selected = records
    if scratch is not None and scratch.exists() and any(scratch.iterdir()):
        raise InputError(f"{scratch}: the scratch folder must be empty or absent")
    temporary = scratch is None
    work = Path(tempfile.mkdtemp(prefix="twinflow-replay-")) if temporary else Path(scratch)
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    started = time.perf_counter()
    try:
        needed = {f.source: f for r in selected for f in r.inputs if f.source}
        folder = Path(sources) if sources else root / "cases"
        located = find_sources(needed, folder)
        for sid in sorted(set(needed) - set(located)):
            rows.append(Row(f"#{sid}", "source found by SHA-256", "not found", "-", False,
                            f"searched {folder}"))
        produced: set[str] = set()
        for rec in selected:
            sid = step_id(rec)
            if only is not None:
                ready = _stage_inputs(rec, root, work, rows)
            else:
                missing = [f for f in rec.inputs if f.path and f.path not in produced
                           and not (work / f.path).is_file()]
                ready = _stage_inputs(
                    rec.model_copy(update={"inputs": missing}), root, work, rows)
                for f in rec.inputs:  # settings derived again must equal the recorded ones
                    if f.path and "/settings/" in f.path and (work / f.path).is_file() \
                            and sha256_path(work / f.path) != f.sha256:
                        rows.append(Row(f.path, "settings derived from case.json",
                                        "differ", "exact", False))
            if not ready or any(f.source and f.source not in located for f in rec.inputs):
                rows.append(Row(sid, "re-run", "not run", "-", False, "inputs missing"))
                continue
            logs = work / "replay-logs"
            logs.mkdir(exist_ok=True)
            t0 = time.perf_counter()
            with open(logs / f"{sid}.log", "w") as out:
                proc = subprocess.run(_command(rec, located), cwd=work, stdout=out,
                                      stderr=subprocess.STDOUT, env=step_env(rec))
            seconds = time.perf_counter() - t0
            if proc.returncode != 0:
                rows.append(Row(sid, "re-run", f"exit {proc.returncode}", "exit 0", False,
                                f"log {logs / (sid + '.log')}"))
            else:
                rows.append(Row(sid, "re-run", f"{seconds:.1f} s (recorded "
                                               f"{rec.wall_time_s:.1f} s)", "exit 0", True))
            _compare_outputs(rec, root, work, rows)
            produced.update(f.path for f in rec.outputs if f.path)
            if rec.stage == "canonical":
                _derive_settings(work, case_rel)
        _extra_files(case_dir, root, records, rows)
    finally:
        keep = keep or any(r.check == "re-run" and r.max_diff.startswith("exit")
                           for r in rows)  # a failed step's log stays readable
        if temporary and not keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    bad = [r for r in rows if not r.ok]
    print(f"\n{len(rows)} checks, {len(bad)} mismatch(es); replay took "
          f"{time.perf_counter() - started:.1f} s" + (f"; scratch kept in {work}"
                                                      if not temporary or keep else ""))
    if bad:
        for name in dict.fromkeys(r.artifact for r in bad if r.check != "re-run"):
            print(f"mismatch: {name}")
        for r in bad:
            if r.check == "re-run":
                print(f"step not reproduced: {r.artifact} ({r.max_diff}, {r.note})")
        changes = environment_changes(selected, root)
        if changes:
            print("note: the environment differs from the recorded one, which may explain "
                  "differences: " + "; ".join(changes))
        else:
            print("note: the environment (versions, CPU model and flags) is the recorded one")
        return 1
    return 0
