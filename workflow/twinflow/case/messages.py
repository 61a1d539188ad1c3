"""Validation errors of a YAML document as compiler-style lines::

    cases/bad.yaml:12:16: physics.blood.viscosity: expected a dynamic viscosity, got 12 kg

Shared by case files (:mod:`twinflow.case.load`) and drug-library entries
(:mod:`twinflow.drugs.library`): a pydantic error location is mapped onto the document's
key path and its line and column (:mod:`twinflow.case.yamlpos`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from twinflow.case.yamlpos import Loc, Position, PositionedDocument

DISCRIMINATORS = ("anatomy", "law", "distribution")


def known_keys(roots: Sequence[type[BaseModel]]) -> list[str]:
    """Every field name (or alias) of the ``roots`` and of the models they nest."""
    classes: list[type[BaseModel]] = []
    todo = list(roots)
    while todo:
        cls = todo.pop()
        if cls in classes:
            continue
        classes.append(cls)
        for f in cls.model_fields.values():
            todo += [t for t in _model_types(f.annotation) if t not in classes]
    keys: set[str] = set()
    for cls in classes:
        for name, f in cls.model_fields.items():
            keys.add(f.alias or name)
    return sorted(keys)


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field annotation (``list[X]``, ``X | None`` ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [t for arg in getattr(annotation, "__args__", ()) for t in _model_types(arg)]


def _data_path(loc: tuple[Any, ...], data: Any) -> Loc:
    """Map a pydantic error location onto a path in the document data.

    Pydantic inserts discriminator tags (``left-ventricle``, ``guccione``) and validator
    names (``function-before[...]``) into locations; they are dropped here.
    """
    path: list[str | int] = []
    node = data
    tag_seen = False  # a tag comes first at its node, even if a key has the same name
    for part in loc:
        if (isinstance(node, dict) and not tag_seen
                and any(node.get(k) == part for k in DISCRIMINATORS)):
            tag_seen = True
            continue
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
            tag_seen = False
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
            tag_seen = False
        elif isinstance(part, str) and ("[" in part or part in {"str", "float", "int", "bool"}):
            continue
        else:
            path.append(part)
            node = None
    return tuple(path)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def format_path(path: Loc) -> str:
    """``physics.blood.viscosity``, ``scenarios[1].dose``; odd keys as ``["a b"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):  # (match would accept a trailing newline)
            out += f".{part}" if out else str(part)
        else:
            quoted = json.dumps(str(part), ensure_ascii=True).replace(" ", "\\u0020")
            out += f"[{quoted}]"
    return out or "(document)"


def _message(err: dict[str, Any], path: Loc, roots: Sequence[type[BaseModel]]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = path[-1] if path else "?"
        known = [k for k in known_keys(roots) if k != key]
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{key}'{hint}"
    if kind == "missing":
        return "missing required key"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"expected one of {ctx.get('expected_tags')}, got {ctx.get('tag')}"
    if kind == "union_tag_not_found":
        return f"missing key '{err.get('ctx', {}).get('discriminator', '?').strip(chr(39))}'"
    if kind in ("int_type", "bool_type", "int_from_float"):  # strict: no bool -> int
        got = err.get("input")
        want = "true or false" if kind == "bool_type" else "a whole number"
        shown = "a boolean" if isinstance(got, bool) else f"{type(got).__name__} {got!r}"
        return f"expected {want}, got {shown}"[:160]
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg[:1].lower() + msg[1:] if msg[1:2].islower() else msg


def problems_from_validation(exc: ValidationError, doc: PositionedDocument, name: str,
                             roots: Sequence[type[BaseModel]]) -> list[tuple[Position, str]]:
    """One ``FILE:LINE:COL: key: message`` line per validation error of ``doc`` (validated
    against ``roots``: their keys are the "did you mean" candidates), with its position."""
    seen: set[str] = set()
    problems: list[tuple[Position, str]] = []
    for err in exc.errors(include_url=False):
        path = _data_path(tuple(err["loc"]), doc.data)
        if err["type"] == "union_tag_invalid":  # point at the tag itself (anatomy, law)
            path = (*path, str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
        pos = doc.position(path, key=err["type"] == "extra_forbidden")
        line = f"{name}:{pos.line}:{pos.column}: {format_path(path)}: {_message(err, path, roots)}"
        if line not in seen:
            seen.add(line)
            problems.append((pos, line))
    return problems


def read_document(path: Any, kind: str) -> tuple[PositionedDocument, list[str]]:
    """A YAML file of ``kind`` (``drug file``, ``cohort spec``) read with positions, and the
    lines of its duplicate keys; :class:`~twinflow.errors.CaseError` in one line when it is
    not a regular file, cannot be read or is not a mapping of keys (shared by drug entries
    and cohort specs; case files have their own reader with the plausibility checks)."""
    import os
    from pathlib import Path

    from twinflow.case.yamlpos import YamlSyntaxError, read_yaml_with_positions
    from twinflow.errors import CaseError

    path = Path(path)
    name = os.fspath(path)
    if not path.is_file():
        raise CaseError(f"{name}:1:1: (document): "
                        f"{'not a regular file' if path.exists() else f'no such {kind}'}")
    try:
        doc = read_yaml_with_positions(path)
    except YamlSyntaxError as err:
        raise CaseError(f"{name}:{err.position.line}:{err.position.column}: (document): "
                        f"{err}") from None
    except OSError as err:
        raise CaseError(f"{name}:1:1: (document): cannot read: {err.strerror}") from None
    if not isinstance(doc.data, dict):
        raise CaseError(f"{name}:1:1: (document): a {kind} must be a mapping of keys")
    return doc, [f"{name}:{pos.line}:{pos.column}: {format_path(loc)}: duplicate key "
                 f"'{loc[-1]}'" for loc, pos in doc.duplicates]
