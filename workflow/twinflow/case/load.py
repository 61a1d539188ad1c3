"""Reading case files: YAML -> validated :class:`Case` -> canonical SI JSON.

Errors are reported the way compilers do, one line each::

    cases/bad.yaml:12:16: physics.blood.viscosity: expected a dynamic viscosity, got 12 kg

and raised together as one :class:`~twinflow.errors.CaseError`, so ``twinflow validate`` lists
every problem of a file at once and never shows a traceback for a user's mistake. Values
outside the ranges of :mod:`twinflow.case.plausibility` are checked once the file is valid:
outside a hard range an error line as above, outside a typical range a logged warning of the
same form (the run goes on). Identifiers in the free text (``description``: dates, long
digit runs, e-mail addresses, phone numbers and the names and IDs in the DICOM headers of the
case's images) are masked with ``[removed]`` before anything is written, with a warning naming
the key and the kinds found, never the text (:mod:`twinflow.case.privacy`); a scenario id
holding one is an error (an id names files and cannot be masked).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from twinflow.case import models, plausibility, privacy
from twinflow.case.messages import format_path, problems_from_validation
from twinflow.case.models import Case
from twinflow.case.yamlpos import (
    Position,
    PositionedDocument,
    YamlSyntaxError,
    read_yaml_with_positions,
)
from twinflow.errors import CaseError, printable
from twinflow.io import canonical_json, file_kind, write_text_atomic

log = logging.getLogger(__name__)


def _case_models() -> list[type[BaseModel]]:
    return [obj for obj in vars(models).values()
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel]


def validate_document(doc: PositionedDocument, name: str, base_dir: Path,
                      root: Path | None = None, check_paths: bool = True) -> Case:
    """Validate parsed YAML data; raise :class:`CaseError` with one line per problem (values
    outside a hard plausibility range included); log values outside a typical range."""
    problems: list[tuple[Position, str]] = []
    for loc, pos in doc.duplicates:
        problems.append((pos, f"{name}:{pos.line}:{pos.column}: {format_path(loc)}: "
                              f"duplicate key '{loc[-1]}'"))
    if doc.data is None:
        raise CaseError(f"{name}:1:1: (document): empty case file "
                        "(a case needs at least 'anatomy: carotid', 'anatomy: left-ventricle' "
                        "or 'anatomy: benchmark')")
    if not isinstance(doc.data, dict):
        pos = doc.position(())
        raise CaseError(f"{name}:{pos.line}:{pos.column}: (document): a case must be a "
                        "mapping of keys, "
                        f"got a {type(doc.data).__name__}")
    bad_keys = [k for k in doc.data if not isinstance(k, str)]
    for k in bad_keys:
        pos = doc.position((k,), key=True)
        problems.append((pos, f"{name}:{pos.line}:{pos.column}: {k!r}: keys must be text"))
    context = {"base_dir": str(base_dir), "root": str(root or Path.cwd()),
               "check_paths": check_paths}
    library = doc.data.get("drug_library")
    if isinstance(library, str) and library:  # the scenarios' drugs are looked up there
        context["drug_library"] = str((Path(base_dir) / Path(library).expanduser()).resolve())
    case: Case | None = None
    try:
        case = Case.model_validate(doc.data, context=context)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, doc, name, _case_models()))
    warnings: list[tuple[Position, str]] = []
    if case is not None and not problems:
        for finding in plausibility.check(case.root):
            path = next((p for p in finding.paths if p in doc.positions), finding.paths[0])
            pos = doc.position(path)
            line = f"{name}:{pos.line}:{pos.column}: {format_path(path)}: {finding.message}"
            (problems if finding.error else warnings).append((pos, line))
    if case is not None and not problems:
        privacy_lines = _mask_identifiers(case, doc, name, Path(context["root"]), check_paths)
        for pos, line, error in privacy_lines:
            (problems if error else warnings).append((pos, line))
    if problems or case is None:
        problems.sort(key=lambda p: (p[0].line, p[0].column))
        raise CaseError(*(line for _, line in problems))
    for _, line in sorted(warnings, key=lambda p: (p[0].line, p[0].column)):
        log.warning(printable(line))
    return case


def _mask_identifiers(case: Case, doc: PositionedDocument, name: str, root: Path,
                      read_images: bool) -> list[tuple[Position, str, bool]]:
    """Mask identifiers in the case's free text in place (module docstring); return
    ``(position, message, is_error)`` lines naming the key and the kinds found."""
    from twinflow.imaging.identifiers import header_identifiers

    c = case.root
    ids = None
    images = [Path(i.path) for i in getattr(c, "images", []) if i.path]
    if read_images and images:
        ids = header_identifiers([p if p.is_absolute() else root / p for p in images])
    out: list[tuple[Position, str, bool]] = []
    masked = privacy.mask_text(c.description, ids)
    if masked.kinds:
        c.description = masked.text
        pos = doc.position(("description",))
        out.append((pos, f"{name}:{pos.line}:{pos.column}: description: identifiers masked "
                         f"as '{privacy.MASK}' ({', '.join(masked.kinds)}); the canonical "
                         "case, settings and report hold the masked text", False))
    for i, scenario in enumerate(getattr(c, "scenarios", [])):
        kinds = privacy.mask_text(scenario.id, ids).kinds
        if kinds:
            pos = doc.position(("scenarios", i, "id"))
            out.append((pos, f"{name}:{pos.line}:{pos.column}: scenarios[{i}].id: looks like "
                             f"an identifier ({', '.join(kinds)}); an id names result files "
                             "and cannot be masked: choose a neutral one", True))
    return out


def load_case(path: str | os.PathLike[str], root: Path | None = None,
              check_paths: bool = True) -> Case:
    """Read and validate a YAML case file."""
    path = Path(path)
    name = os.fspath(path)
    kind = file_kind(path)  # stat only: a FIFO is never opened
    if kind != "regular file":
        what = "no such case file" if kind == "missing" else "not a regular file"
        raise CaseError(f"{name}:1:1: (document): {what}")
    try:
        doc = read_yaml_with_positions(path)
    except YamlSyntaxError as err:
        raise CaseError(f"{name}:{err.position.line}:{err.position.column}: (document): {err}") \
            from None
    except OSError as err:
        raise CaseError(f"{name}:1:1: (document): cannot read: {err.strerror}") from None
    return validate_document(doc, name, base_dir=path.parent, root=root,
                             check_paths=check_paths)


def case_id(path: str | os.PathLike[str]) -> str:
    """A case is named after its file: ``cases/lv-demo.yaml`` -> ``lv-demo``."""
    return Path(path).name.removesuffix(".yaml").removesuffix(".yml")


def to_canonical(case: Case) -> dict[str, Any]:
    """The canonical form: plain JSON data in SI units (serialised with sorted keys)."""
    return case.model_dump(mode="json")


def image_paths(case: Case) -> list[str]:
    """The image files of a validated case, in its order (paths as the case resolves them:
    relative to the project root, else absolute). The canonical form has only their
    SHA-256; the ingest rule passes these files on its command line."""
    return [str(image.path) for image in getattr(case.root, "images", [])]


def canonical_text(case: Case) -> str:
    return canonical_json(to_canonical(case))


def from_canonical(data: dict[str, Any], root: Path | None = None) -> Case:
    """Load the canonical form back (bare numbers are SI values, paths root-relative)."""
    root = root or Path.cwd()
    return Case.model_validate(
        data, context={"canonical": True, "base_dir": str(root), "root": str(root),
                       "check_paths": False})


def write_canonical(case_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> Path:
    """Validate ``case_path`` and write its canonical JSON to ``out_path`` atomically."""
    return write_text_atomic(out_path, canonical_text(load_case(case_path)))
