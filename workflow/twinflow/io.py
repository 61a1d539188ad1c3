"""Small file helpers shared by every stage.

Outputs are written atomically: to a temporary file in the destination folder, then renamed,
so a failed or interrupted step never leaves a file that looks finished (architecture.md).

Paths named by a user are judged by ``stat`` before anything opens them
(:func:`file_kind`): opening a FIFO blocks until someone writes to it, reading a device
never ends. Only regular files are read (:func:`require_regular_file`, :func:`read_json`,
:func:`sha256_path`) and an existing output path must be a regular file to be replaced
(:func:`check_output_path`): a FIFO, device, socket or folder there is a one-line
:class:`~twinflow.errors.OutputError` and is left alone.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from twinflow.errors import InputError, OutputError

_KINDS: tuple[tuple[Any, str], ...] = (
    (stat.S_ISREG, "regular file"), (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device"), (stat.S_ISSOCK, "socket"))


def file_kind(path: str | os.PathLike[str]) -> str:
    """What ``path`` is, from ``stat`` alone (it is never opened): ``regular file``,
    ``folder``, ``FIFO``, ``device``, ``socket``, ``symlink loop``, ``broken symlink``,
    ``missing`` or ``unreadable``. Symlinks are followed."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "broken symlink" if os.path.islink(path) else "missing"
    except NotADirectoryError:  # a file where a folder of the path should be
        return "missing"
    except OSError as err:
        return "symlink loop" if err.errno == errno.ELOOP else "unreadable"
    return next((name for test, name in _KINDS if test(mode)), "special file")


def require_regular_file(path: str | os.PathLike[str], what: str = "file",
                         max_bytes: int | None = None) -> int:
    """Check that ``path`` is a regular file (at most ``max_bytes``) without opening it;
    return its size. Anything else is an :class:`InputError` naming the path."""
    kind = file_kind(path)
    if kind == "missing":
        raise InputError(f"{path}: {what} not found")
    if kind != "regular file":
        raise InputError(f"{path}: {what} is a {kind}, not a regular file")
    size = os.stat(path).st_size
    if max_bytes is not None and size > max_bytes:
        raise InputError(f"{path}: {what} is {size} bytes, over the limit of "
                         f"{max_bytes} bytes ({max_bytes / 2**20:g} MiB)")
    return size


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Refuse an output path that exists and is not a regular file (a FIFO, device, socket or
    folder is never opened nor replaced), and a path whose folder cannot be made."""
    target = Path(path)
    kind = file_kind(target)
    if kind not in ("missing", "regular file", "broken symlink"):
        raise OutputError(f"{target}: output path is a {kind}, not a regular file; "
                          "not replaced")
    parent = file_kind(target.parent)
    if parent not in ("missing", "folder"):
        raise OutputError(f"{target}: cannot write here: {target.parent} is a {parent}, "
                          "not a folder")
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name keeps the final suffix (``suffix`` overrides it), so writers that
    choose a format from the extension (SimpleITK, meshio, pyvista) still work.
    """
    target = check_output_path(path)
    ext = suffix if suffix is not None else "".join(target.suffixes)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{ext}",
                                        dir=target.parent)
    except OSError as err:
        raise OutputError(f"{target}: cannot write here ({err.strerror})") from None
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
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    else:
        require_regular_file(path)
        files = [path]
    for f in files:
        with f.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def read_json(path: str | os.PathLike[str], what: str = "file") -> Any:
    """Parse the JSON file ``path``; missing or malformed, it is an
    :class:`~twinflow.errors.InputError` naming the file and ``what`` it is."""
    require_regular_file(path, what)
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: {what} cannot be read "
                         f"({getattr(err, 'strerror', None) or type(err).__name__})") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
