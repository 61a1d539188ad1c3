"""JSON Schemas generated from the pydantic models (the one source of truth).

``schemas/case.schema.json`` lets editors complete and check case files (each case starts
with ``# yaml-language-server: $schema=...``); ``schemas/config.schema.json`` covers the
workflow configuration. ``twinflow schema --check`` fails when the files are stale.
"""

from __future__ import annotations

from pathlib import Path

from twinflow.case.models import Case
from twinflow.config import WorkflowConfig
from twinflow.io import canonical_json, write_text_atomic

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def schemas() -> dict[str, str]:
    """File name -> canonical JSON text of every generated schema."""
    out = {}
    for name, model, title in (
        ("case.schema.json", Case, "twinflow case"),
        ("config.schema.json", WorkflowConfig, "twinflow workflow configuration"),
    ):
        schema = model.model_json_schema(mode="validation")
        schema = {"$schema": SCHEMA_URI, **schema, "title": title}
        out[name] = canonical_json(schema)
    return out


def write_schemas(folder: Path) -> list[Path]:
    return [write_text_atomic(folder / name, text) for name, text in schemas().items()]


def stale_schemas(folder: Path) -> list[str]:
    """Names of schema files in ``folder`` that are missing or differ from the models."""
    stale = []
    for name, text in schemas().items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale
