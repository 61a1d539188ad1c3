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
    cohorts: list[str] = Field(default_factory=list)
    """Cohort folders (``cohort.json`` from ``twinflow cohort generate``): every member case
    runs, and ``results/<cohort>/cohort.parquet`` collects them."""

    @field_validator("cases", "cohorts", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def validate_config(raw: dict[str, Any]) -> WorkflowConfig:
    try:
        return WorkflowConfig.model_validate(raw)
    except ValidationError as exc:
        raise TwinflowError(*(f"config: {'.'.join(map(str, e['loc']))}: {e['msg']}"
                              for e in exc.errors(include_url=False))) from None


def load_cohorts(folders: list[str], root: Path | None = None) -> dict[str, tuple[Path, Any]]:
    """Cohort id -> (its folder, its :class:`~twinflow.artifacts.cohort.CohortManifest`)."""
    from twinflow.artifacts.cohort import CohortManifest

    root = root or Path.cwd()
    found: dict[str, tuple[Path, Any]] = {}
    for folder in folders:
        path = Path(folder)
        manifest = path if path.name == "cohort.json" else path / "cohort.json"
        if not (root / manifest).is_file():
            raise TwinflowError(f"config: cohorts: no cohort.json in {folder} (make one with "
                                "'twinflow cohort generate SPEC --n N')")
        m = CohortManifest.read(root / manifest)
        if m.cohort in found and found[m.cohort][0] != manifest.parent:
            raise TwinflowError(f"config: cohorts: two cohorts named '{m.cohort}'")
        found[m.cohort] = (manifest.parent, m)
    return found


def select_cases(config: WorkflowConfig, root: Path | None = None
                 ) -> tuple[dict[str, Path], dict[str, tuple[Path, Any]]]:
    """Case id -> file of every selected case (the ``cases`` and the cohorts' members) and
    the cohorts; ids must be unique, a cohort id must not be a case id."""
    cohorts = load_cohorts(config.cohorts, root)
    cases = expand_cases(config.cases, root) if config.cases or not cohorts else {}
    for folder, m in cohorts.values():
        for member in m.members:
            path = folder / member.case
            if member.id in cases and cases[member.id] != path:
                raise TwinflowError(f"config: two case files named '{member.id}': "
                                    f"{cases[member.id]} and {path}")
            cases[member.id] = path
    for cid in cohorts:
        if cid in cases:
            raise TwinflowError(f"config: cohort '{cid}' has the id of a case")
    return cases, cohorts


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
