"""The canonical data of a case, cached on the case file's bytes (fast workflow loads).

Loading the workflow validates every selected case (:func:`~twinflow.case.load.load_case`
then :func:`~twinflow.case.load.to_canonical`: YAML with positions, pint units, pydantic),
about 10-20 ms a case: 2-4 s of every ``twinflow run`` of a 200-case cohort, even when
nothing changed. :func:`canonical_case` keeps the result in
``<cache>/<case-id>.json`` under a key made of

* the SHA-256 of the case file's bytes, its path and the working folder (relative paths in
  a case resolve against them), and
* the SHA-256 of the validating code (the import closure of :mod:`twinflow.case.load`, as
  :func:`twinflow.stages.code_files` finds it), so an edit of the case models re-validates;

and, on a hit, checks that the files the case names still exist (the segmentation model) and
that its images have the size and modification time they had when their SHA-256 was taken
(the canonical case names images by hash); a miss validates afresh, which also gives the
usual one-line errors. The cache is a speed-up only: deleting it changes nothing but the
time.

Hand-written rather than a library (``diskcache``, ``joblib.Memory``): the key must include
the package's own code and the referenced files, which those key on neither, and one small
JSON file per case is all it needs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from twinflow.io import write_json_atomic


@functools.cache
def _code_digest() -> str:
    from twinflow.stages import code_files

    digest = hashlib.sha256()
    for name in code_files("twinflow.case.load"):
        digest.update(name.encode() + b"\0" + Path(name).read_bytes() + b"\0")
    return digest.hexdigest()


def _key(path: Path, data: bytes) -> str:
    digest = hashlib.sha256(data)
    digest.update(f"\0{path}\0{os.getcwd()}\0{_code_digest()}".encode())
    return digest.hexdigest()


def _model_exists(canonical: dict[str, Any]) -> bool:
    model = (canonical.get("segmentation") or {}).get("model")
    return not model or Path(model).exists()


def _stats(files: list[str]) -> list[list[int] | None]:
    """Size and modification time (ns) of each file; None for a missing one."""
    out: list[list[int] | None] = []
    for name in files:
        try:
            st = os.stat(name)
        except OSError:
            out.append(None)
        else:
            out.append([st.st_size, st.st_mtime_ns])
    return out


def canonical_case(path: str | os.PathLike[str], cache: str | os.PathLike[str],
                   case_id: str) -> tuple[dict[str, Any], list[str]]:
    """``to_canonical(load_case(path))`` and the case's image paths
    (:func:`~twinflow.case.load.image_paths`), from ``<cache>/<case_id>.json`` when the key
    and the files match (module docstring); raises :class:`~twinflow.errors.CaseError` as
    load_case."""
    from twinflow.case.load import image_paths, load_case, to_canonical

    path = Path(path)
    entry = Path(cache) / f"{case_id}.json"
    try:
        key = _key(path, path.read_bytes())
    except OSError:
        key = None  # load_case reports the unreadable file
    if key is not None:
        try:
            stored = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = None
        if isinstance(stored, dict) and stored.get("key") == key \
                and stored.get("stats") == _stats(stored.get("images", [])) \
                and _model_exists(stored["canonical"]):
            return stored["canonical"], stored["images"]
    case = load_case(path)
    canonical, images = to_canonical(case), image_paths(case)
    if key is not None:
        try:
            write_json_atomic(entry, {"key": key, "canonical": canonical, "images": images,
                                      "stats": _stats(images)})
        except OSError:
            pass  # a read-only results folder: no cache, same result
    return canonical, images
