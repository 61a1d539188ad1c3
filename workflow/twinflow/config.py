"""Workflow configuration (which cases to run, where results go), validated by pydantic.

The Snakefile reads ``config/config.default.yaml`` and any ``--config`` overrides, validates
them once with :class:`WorkflowConfig`, then expands the case selection. Science settings
never live here: they belong to case files.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twinflow.errors import TwinflowError


class WorkflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    cases: list[str] = Field(
        default_factory=lambda: ["cases/carotid-demo.yaml", "cases/lv-demo.yaml"])
    """Case files to run: paths or glob patterns, relative to the project root."""
    results: str = "results"
    """Folder receiving results/<case-id>/..."""

    @field_validator("cases", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def validate_config(raw: dict[str, Any]) -> WorkflowConfig:
    try:
        return WorkflowConfig.model_validate(raw)
    except ValidationError as exc:
        raise TwinflowError(*(f"config: {'.'.join(map(str, e['loc']))}: {e['msg']}"
                              for e in exc.errors(include_url=False))) from None


def expand_cases(patterns: list[str], root: Path | None = None) -> dict[str, Path]:
    """Case id -> file for the selected patterns; ids must be unique."""
    root = root or Path.cwd()
    found: dict[str, Path] = {}
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, root_dir=root))
        else:
            matches = [Path(pattern)]
            if not (root / pattern).is_file():
                raise TwinflowError(f"config: cases: no such case file: {pattern}")
        for path in matches:
            cid = path.name.removesuffix(".yaml").removesuffix(".yml")
            if cid in found and found[cid] != path:
                raise TwinflowError(f"config: cases: two case files named '{cid}': "
                                    f"{found[cid]} and {path}")
            found[cid] = path
    if not found:
        raise TwinflowError(f"config: cases: no case file matches {patterns}")
    return found
