"""Typed artifacts: every file that crosses a stage boundary, as a pydantic model.

A producer builds the model and calls :meth:`Artifact.write`; a consumer (the next stage, the
report, replay, cohort collection) calls :meth:`Artifact.read`, so a renamed or missing field
fails where it is written or read, not as an empty cell in a report. The models are pure
pydantic (no DOLFINx, TensorFlow or VTK import), one module per stage output:

========================  ===========================================================
module                    artifact
========================  ===========================================================
``artifacts.images``      ``images/manifest.json`` (ingest) and ``masks/manifest.json``
``artifacts.geometry``    ``geometry/measurements.json`` (carotid and LV reconstruction)
``artifacts.drugs``       ``<scenario>/drug_effects.json`` (a drug arm's parameter factors)
``artifacts.mesh``        mesh information and quality (``mesh/mesh_quality.json`` ...)
``artifacts.flow``        ``<scenario>/summary.json`` of the carotid flow solve
``artifacts.cycle``       ``<scenario>/summary.json`` of the LV cardiac cycle
``artifacts.verification`` ``verification/land2015.json``
``artifacts.provenance``  ``provenance/steps/<step>.json`` (the record of one executed step)
========================  ===========================================================

Units convention (docs/conventions.md): values are SI; a field holding a dimensional float
ends with its SI unit (``_pa``, ``_m``, ``_m2``, ``_m3``, ``_s``, ``_j``, ``_m3_per_s``); a
dimensionless field has no suffix (``ejection_fraction``, ``osi``). ``schemas/<name>.schema.json``
is generated from these models (``twinflow schema``; a test fails when one is stale).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twinflow.errors import InputError
from twinflow.io import canonical_json, write_text_atomic


def _is_none(value: Any) -> bool:
    return value is None


def omitted_when_none(**field: Any) -> Any:
    """Default of a field that only some runs produce: ``None``, and then absent from the JSON
    (a key that is written is never ``null``; readers get ``None`` back). ``field``: more
    arguments of :func:`pydantic.Field` (e.g. ``alias``)."""
    return Field(default=None, exclude_if=_is_none, **field)


class Artifact(BaseModel):
    """Base of every artifact model: unknown fields are errors, JSON is canonical."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write canonical JSON (sorted keys, no NaN) atomically; returns the path."""
        return write_text_atomic(path, canonical_json(self.model_dump(mode="json")))

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Self:
        """Read and validate ``path``; a missing or malformed file is an :class:`InputError`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: not found (run the step that writes it first)") from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise InputError(f"{path}: not a valid {cls.__name__}: {where}: {first['msg']} "
                             f"({err.error_count()} problem(s))") from None
