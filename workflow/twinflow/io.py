"""Small file helpers shared by every stage.

Outputs are written atomically: to a temporary file in the destination folder, then renamed,
so a failed or interrupted step never leaves a file that looks finished (architecture.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from twinflow.errors import InputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name keeps the final suffix (``suffix`` overrides it), so writers that
    choose a format from the extension (SimpleITK, meshio, pyvista) still work.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ext = suffix if suffix is not None else "".join(target.suffixes)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{ext}",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def canonical_json(data: Any) -> str:
    """Canonical JSON: sorted keys, fixed separators, UTF-8, a trailing newline.

    Equal data always gives byte-identical text, so Snakemake ``params:`` built from it and
    files written with it change exactly when a value changes, not when formatting does.
    """
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False,
                      allow_nan=False) + "\n"


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A nested JSON document as ``{"dotted.key": leaf}`` (lists are leaves)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as canonical JSON to ``path`` atomically."""
    return write_text_atomic(path, canonical_json(data))


def write_text_if_changed(path: str | os.PathLike[str], text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds exactly it; True if written.

    An unchanged file keeps its modification time, which is what Snakemake's ``mtime``
    trigger compares (twinflow.stages).
    """
    target = Path(path)
    try:
        if target.read_bytes() == text.encode("utf-8"):
            return False
    except FileNotFoundError:
        pass
    write_text_atomic(target, text)
    return True


def sha256_path(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes; of a folder (a DICOM series), of its files' bytes in
    sorted path order (names are not hashed, so renaming a patient folder keeps the hash)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with f.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def read_json(path: str | os.PathLike[str], what: str = "file") -> Any:
    """Parse the JSON file ``path``; missing or malformed, it is an
    :class:`~twinflow.errors.InputError` naming the file and ``what`` it is."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
