"""The drug library: YAML entries shipped with the package plus a user's folder.

The package ships ``twinflow/drugs/data/<id>.yaml`` (sacubitril/valsartan, valsartan,
enalapril). A case adds its own entries with ``drug_library: <folder>`` (relative to the case
file): every ``*.yaml`` there is validated as a :class:`~twinflow.drugs.model.DrugEntry`, and
an entry with the id of a shipped one replaces it for that case. A bad entry is reported like
a bad case file, one line per problem (``FILE:LINE:COL: key: message``), exit status 2.

Files are read with the bounded YAML reader of case files (size, depth and alias limits:
:mod:`twinflow.case.yamlpos`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from twinflow.case.messages import format_path, problems_from_validation, read_document
from twinflow.drugs.model import DrugEntry
from twinflow.errors import CaseError

PACKAGE_LIBRARY = Path(__file__).resolve().parent / "data"
#: The largest number of entries read from one folder (a library, not a data dump).
MAX_ENTRIES = 500


@dataclass(frozen=True, slots=True)
class Library:
    """Entries by id, and the file each was read from."""

    entries: dict[str, DrugEntry]
    files: dict[str, Path]

    def get(self, drug_id: str) -> DrugEntry:
        """The entry ``drug_id``; ``KeyError`` names the known entries."""
        try:
            return self.entries[drug_id]
        except KeyError:
            raise KeyError(f"unknown drug '{drug_id}' (library: "
                           f"{', '.join(sorted(self.entries))})") from None

    def __contains__(self, drug_id: object) -> bool:
        return drug_id in self.entries


def read_entry(path: Path) -> DrugEntry:
    """Read and validate one drug file; :class:`CaseError` with one line per problem."""

    name = os.fspath(path)
    doc, lines = read_document(path, "drug file")
    entry = None
    try:
        entry = DrugEntry.model_validate(doc.data)
    except ValidationError as exc:
        lines += [line for _, line in problems_from_validation(exc, doc, name, [DrugEntry])]
    if entry is not None:
        for loc, message in entry.problems():
            pos = doc.position(loc)
            lines.append(f"{name}:{pos.line}:{pos.column}: {format_path(loc)}: {message}")
    if lines or entry is None:
        raise CaseError(*lines)
    if entry.id != path.stem:
        pos = doc.position(("id",))
        raise CaseError(f"{name}:{pos.line}:{pos.column}: id: '{entry.id}' must match the "
                        f"file name '{path.stem}'")
    return entry


def _folder(folder: Path) -> dict[str, tuple[DrugEntry, Path]]:
    """The entries of ``folder``, read once for as long as its files are unchanged (a case
    looks its drugs up once per scenario, the workflow once per arm)."""
    if not folder.is_dir():
        raise CaseError(f"{folder}: drug library folder not found")
    files = sorted(folder.glob("*.yaml"))
    if len(files) > MAX_ENTRIES:
        raise CaseError(f"{folder}: more than {MAX_ENTRIES} drug files")
    stamps = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return _read_folder(folder, stamps)


@functools.lru_cache(maxsize=16)
def _read_folder(folder: Path, stamps: tuple[tuple[str, int, int], ...]
                 ) -> dict[str, tuple[DrugEntry, Path]]:
    files = [folder / name for name, _, _ in stamps]
    problems: list[str] = []
    out = {}
    for path in files:
        try:
            out[path.stem] = (read_entry(path), path)
        except CaseError as err:
            problems += err.lines
    if problems:
        raise CaseError(*problems)
    return out


def load_library(user_folder: str | os.PathLike[str] | None = None) -> Library:
    """The shipped entries, with those of ``user_folder`` added (same id: replaced)."""
    found = dict(_folder(PACKAGE_LIBRARY))
    if user_folder is not None:
        found.update(_folder(Path(user_folder)))
    return Library({k: e for k, (e, _) in found.items()}, {k: p for k, (_, p) in found.items()})


def drug_file(drug_id: str, user_folder: str | os.PathLike[str] | None = None) -> Path:
    """The file the entry ``drug_id`` is read from (for the workflow's dependencies)."""
    return load_library(user_folder).files[drug_id]


def scenario_drug_file(case: dict, scenario_id: str, root: Path | None = None) -> str | None:
    """The drug file of a canonical case's scenario (None for a baseline); the case's
    ``drug_library`` is relative to the project ``root`` (default: the working folder)."""
    scenario = next(s for s in case["scenarios"] if s["id"] == scenario_id)
    if scenario.get("drug") is None:
        return None
    folder = case.get("drug_library")
    if folder is not None:
        folder = Path(root or Path.cwd()) / folder
    return str(drug_file(scenario["drug"], folder))
