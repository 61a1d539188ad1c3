"""Path-free names for a case's source images: ``<folder>/<sha256><suffix>`` symlinks.

A hospital export names folders and files after the patient
(``DOE^JOHN_MRN12345678/DOE_JOHN_19610304.dcm``). The canonical case names images by their
SHA-256 only, but the ingest rule must still hand the files to ``twinflow ingest``, and
Snakemake prints a job's shell command (``printshellcmds``), lists its input files when a job
fails or an input changed, and keeps them in ``.snakemake/metadata``. So the rule is given a
symlink per image, named by the image's SHA-256 and its lower-case suffix (which tells the
reader the format: ``.dcm``, ``.png``, ``.nii.gz``; none for a folder), made in
``.snakemake/twinflow/sources/`` when the workflow loads. Snakemake's log, its metadata,
the step records and ``results/`` then hold the hash only; the link's target (the real
path) is readable with ``ls -l`` by the user who owns the project, and nowhere else.

A link is made (atomically) only when missing or pointing elsewhere, so an unchanged image
keeps its link's modification time and re-runs nothing; a changed image has a new hash, a
new link name and new ingest settings, so ingest runs again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Where the links live, relative to the project root (Snakemake's own state folder).
SOURCES_DIR = Path(".snakemake/twinflow/sources")

_SUFFIXES = re.compile(r"(\.(?:nii|mha|mhd|nrrd|tar)\.gz|\.[a-z0-9]{1,8})$")


def _suffix(path: Path) -> str:
    """The format suffix of ``path`` in lower case (``.nii.gz`` kept whole), or ''."""
    if path.is_dir():
        return ""
    match = _SUFFIXES.search(path.name.lower())
    return match.group(1) if match else ""


def source_alias(path: str | os.PathLike[str], sha256: str,
                 folder: str | os.PathLike[str] = SOURCES_DIR) -> Path:
    """A symlink ``<folder>/<sha256><suffix>`` to ``path`` (absolute target); returns it."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    target = os.path.abspath(path)
    folder = Path(folder)
    link = folder / f"{sha256}{_suffix(Path(path))}"
    try:
        if os.readlink(link) == target:
            return link
    except OSError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{link.name}.{os.getpid()}.tmp"
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    os.symlink(target, tmp)
    os.replace(tmp, link)
    return link


def source_aliases(paths: list[str], canonical: dict[str, object] | None,
                   folder: str | os.PathLike[str] = SOURCES_DIR) -> list[str]:
    """The aliases of a case's image ``paths`` (in order) by the hashes of its canonical
    data; the paths themselves where the case has no canonical data (it did not validate)
    or an image has no hash (a missing file: the canonical rule reports it)."""
    images = (canonical or {}).get("images") or []
    if len(images) != len(paths):  # type: ignore[arg-type]
        return list(paths)
    out = []
    for path, image in zip(paths, images, strict=True):  # type: ignore[call-overload]
        sha = image.get("sha256") if isinstance(image, dict) else None
        out.append(str(source_alias(path, sha, folder)) if sha and Path(path).exists()
                   else path)
    return out
