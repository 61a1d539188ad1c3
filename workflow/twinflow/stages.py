"""The stage contract: which slice of a case each stage reads, and which code it runs.

A stage is one Snakemake rule, one ``twinflow`` sub-command and one function, all with the
same name (``mesh_lv`` ↔ ``twinflow mesh-lv`` ↔ :func:`twinflow.geometry.lv.mesh.mesh_lv`).
It reads only

* its **settings**: the case sections it depends on, taken from the canonical case and
  written by :func:`write_stage_settings` to ``results/<id>/settings/<stage>.json`` (per
  scenario: ``results/<id>/settings/<scenario>/<stage>.json``) *only when the bytes change*,
  so the file's modification time moves exactly when a value the stage reads does; and
* the typed artifacts of earlier stages (:mod:`twinflow.artifacts`);

and its rule declares, besides those, the package modules it runs: their manifest
``results/.twinflow/code/<stage>.json`` (:func:`write_code_manifest`: every file of
:func:`code_files`, the import closure of the stage's module inside ``twinflow``, with its
SHA-256; rewritten only when one changes, like a settings file). Snakemake's ordinary ``mtime``
trigger then re-runs exactly what an edit affects: reformatting a case changes no settings
file; a new mesh cell size changes ``mesh_*.json`` alone; a drug arm's dose changes that
arm's files alone; editing ``geometry/lv/mesh.py`` re-runs the LV meshes and what reads them.
(Snakemake 9 also compares the content of an input whose modification time moved with the
checksum it recorded, so touching a file without changing it re-runs nothing; the settings
files are still rewritten only on a change, so the contract holds without that metadata.)

A settings file is a sub-document of ``case.json`` (same keys, SI values) plus ``anatomy``
and, for ``drug_effects``, ``scenario`` (that one scenario): the other per-scenario stages
read the scenario's effects from its ``drug_effects.json`` artifact, so a new dose re-runs
that arm alone. :func:`read_stage_settings`
validates it against the case models, so a stage never sees a key outside its slice.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError, create_model

from twinflow.errors import InputError
from twinflow.io import canonical_json, read_json, write_text_if_changed

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of the graph (rule = sub-command = function name)."""

    name: str
    module: str
    """The module holding the function ``name`` (its import closure is the stage's code)."""
    sections: tuple[str, ...]
    """Case sections the stage reads, besides ``anatomy``; ``scenario`` is the one scenario
    of a per-scenario stage."""
    per_scenario: bool = False
    """Runs once per scenario (its files lie in per-scenario folders)."""
    anatomies: tuple[str, ...] = ("carotid", "left-ventricle")
    """The anatomies whose cases run the stage."""

    @property
    def command(self) -> str:
        """The ``twinflow`` sub-command."""
        return self.name.replace("_", "-")


CAROTID, LV = ("carotid",), ("left-ventricle",)

STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("ingest", "twinflow.imaging.ingest", ("images", "preprocessing")),
    Stage("segment", "twinflow.segmentation.infer", ("segmentation",)),
    Stage("reconstruct_carotid", "twinflow.geometry.carotid.reconstruct", ("geometry",),
          anatomies=CAROTID),
    Stage("mesh_carotid", "twinflow.geometry.carotid.mesh", ("geometry", "mesh"),
          anatomies=CAROTID),
    Stage("mesh_tube", "twinflow.geometry.tube", ("geometry", "mesh"), anatomies=CAROTID),
    Stage("simulate_flow", "twinflow.physics.flow.simulate", ("geometry", "physics", "simulation"),
          per_scenario=True, anatomies=CAROTID),
    Stage("reconstruct_lv", "twinflow.geometry.lv.reconstruct", ("geometry",), anatomies=LV),
    Stage("drug_effects", "twinflow.drugs.effects", ("scenario",), per_scenario=True,
          anatomies=LV),
    Stage("mesh_lv", "twinflow.geometry.lv.mesh", ("mesh",), per_scenario=True, anatomies=LV),
    Stage("personalise_lv", "twinflow.physics.heart.personalise",
          ("geometry", "physics", "simulation", "measurements", "personalisation"),
          anatomies=LV),
    Stage("simulate_heart", "twinflow.physics.heart.cycle",
          ("geometry", "physics", "simulation", "measurements"), per_scenario=True,
          anatomies=LV),
    Stage("land2015", "twinflow.verification.land2015",
          ("benchmark", "problem", "mesh", "simulation"), anatomies=("benchmark",)),
    Stage("compare_arms", "twinflow.report.compare", ("scenarios",), anatomies=LV),
    Stage("report", "twinflow.report.case_report", ("description", "patient", "scenarios")),
    Stage("provenance", "twinflow.provenance.crate", (),
          anatomies=("carotid", "left-ventricle", "benchmark")),
)}


def case_stages(case: dict[str, Any]) -> list[str]:
    """The stages a canonical case runs through, in graph order (``provenance`` last)."""
    return [*_computing_stages(case), "provenance"]


def _computing_stages(case: dict[str, Any]) -> list[str]:
    anatomy = case["anatomy"]
    if anatomy == "benchmark":
        return ["land2015"]
    imaged = ["ingest", "segment"] if case.get("images") else []
    if anatomy == "carotid":
        if case["geometry"]["kind"] == "tube":
            return ["mesh_tube", "simulate_flow", "report"]
        return [*imaged, "reconstruct_carotid", "mesh_carotid", "simulate_flow", "report"]
    if case["geometry"]["source"] == "measurements":
        imaged = []
    personalised = ["personalise_lv"] if personalised_case(case) else []
    compared = ["compare_arms"] if compared_case(case) else []
    return [*imaged, "reconstruct_lv", "drug_effects", "mesh_lv", *personalised,
            "simulate_heart", *compared, "report"]


def compared_case(case: dict[str, Any]) -> bool:
    """Whether an LV case compares arms with its baseline (a cycle study with a drug or
    placebo arm besides the baseline: ``compare_arms``)."""
    return (case.get("anatomy") == "left-ventricle"
            and case["physics"].get("study", "cycle") == "cycle"
            and len(case.get("scenarios", [])) > 1)


def personalised_case(case: dict[str, Any]) -> bool:
    """Whether an LV case calibrates its baseline (a cycle study with a measured blood
    pressure: ``personalise_lv``)."""
    return (case.get("anatomy") == "left-ventricle"
            and case["physics"].get("study", "cycle") == "cycle"
            and (case.get("measurements") or {}).get("blood_pressure") is not None)


def baseline_scenario(case: dict[str, Any]) -> str:
    """The first scenario without a drug and a duration: the untreated patient (a
    placebo arm has a duration)."""
    return next(s["id"] for s in case["scenarios"]
                if s.get("drug") is None and s.get("duration") is None)


def settings_path(case_dir: str | os.PathLike[str], stage: str,
                  scenario: str | None = None) -> Path:
    """``<case_dir>/settings[/<scenario>]/<stage>.json``."""
    folder = Path(case_dir) / "settings"
    if STAGES[stage].per_scenario:
        if scenario is None:
            raise ValueError(f"stage {stage} runs per scenario: name one")
        folder = folder / scenario
    return folder / f"{stage}.json"


def stage_settings(case: dict[str, Any], stage: str,
                   scenario: str | None = None) -> dict[str, Any]:
    """The slice of the canonical ``case`` that ``stage`` reads."""
    spec = STAGES[stage]
    data = {"anatomy": case["anatomy"],
            **{key: case[key] for key in spec.sections if key != "scenario"}}
    if "scenario" in spec.sections:
        matches = [s for s in case["scenarios"] if s["id"] == scenario]
        if not matches:
            raise ValueError(f"no scenario {scenario!r} in the case")
        data["scenario"] = matches[0]
    return data


def write_stage_settings(case: dict[str, Any], case_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every settings file of a canonical case; rewrite only those whose bytes change.

    Returns the files that were (re)written.
    """
    written = []
    scenarios = [s["id"] for s in case.get("scenarios", [])]
    for stage in case_stages(case):
        if not STAGES[stage].sections:  # provenance reads the step records, no settings
            continue
        for scenario in (scenarios if STAGES[stage].per_scenario else [None]):
            path = settings_path(case_dir, stage, scenario)
            if write_text_if_changed(path, canonical_json(stage_settings(case, stage,
                                                                         scenario))):
                written.append(path)
    return written


@functools.cache
def _settings_model(stage: str, anatomy: str) -> type[BaseModel]:
    """A pydantic model of one stage's settings: the case model's fields of its sections."""
    from twinflow.case.models import (
        BenchmarkCase,
        CarotidCase,
        LeftVentricleCase,
        Scenario,
        Strict,
    )

    case_model = {"carotid": CarotidCase, "left-ventricle": LeftVentricleCase,
                  "benchmark": BenchmarkCase}[anatomy]
    spec = STAGES[stage]
    fields: dict[str, Any] = {
        key: (Scenario if key == "scenario" else case_model.model_fields[key].annotation, ...)
        for key in ("anatomy", *spec.sections)}
    name = "".join(part.title() for part in stage.split("_")) + "Settings"
    return create_model(name, __base__=Strict, **fields)


def read_stage_settings(path: str | os.PathLike[str], stage: str) -> dict[str, Any]:
    """Read a settings file, validate it against the case models, return its canonical data.

    The returned dict has exactly the keys of the stage's slice (SI values, defaults filled
    in), the shape of ``case.json`` restricted to them; anything else, or a wrong value, is
    an :class:`InputError` naming the file.
    """
    path = Path(path)
    data = read_json(path, "settings file (the workflow writes it from the case)")
    if not isinstance(data, dict) or data.get("anatomy") not in (
            "carotid", "left-ventricle", "benchmark"):
        raise InputError(f"{path}: not a twinflow settings file (no known anatomy)")
    if data["anatomy"] not in STAGES[stage].anatomies:
        raise InputError(f"{path}: stage {stage} is for {' or '.join(STAGES[stage].anatomies)} "
                         f"cases, not {data['anatomy']}")
    model = _settings_model(stage, data["anatomy"])
    try:
        validated = model.model_validate(data, context={"canonical": True, "check_paths": False,
                                                        "base_dir": ".", "root": "."})
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: {where}: {first['msg']}") from None
    return validated.model_dump(mode="json")


# --------------------------------------------------------------------------- code closure


def _module_file(module: str) -> Path | None:
    """The source file of a ``twinflow`` module (package ``__init__.py`` or ``.py``)."""
    parts = module.split(".")
    if parts[0] != "twinflow":
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import\b|import[ \t]+\w)", re.M)


def _import_statements(text: str) -> Iterator[ast.stmt]:
    """The import statements of a module's source, parsed one by one.

    Only the lines that start an import (at any indentation, so imports inside functions
    count) are parsed, with their parenthesised or backslash continuations: parsing whole
    modules with :func:`ast.parse` cost ~0.9 s per workflow load for the ~120 modules, this
    ~20 ms. A docstring line that reads like an import may add a dependency (harmless: a
    spurious re-run trigger, never a missed one); one that does not parse is skipped.
    """
    lines = text.splitlines()
    for match in _IMPORT_LINE.finditer(text):
        first = text.count("\n", 0, match.start())
        chunk = [lines[first].strip()]
        i = first
        while (chunk[-1].endswith("\\") or chunk[0].count("(") > "".join(chunk).count(")")) \
                and i + 1 < len(lines):
            i += 1
            chunk.append(lines[i].strip())
        try:
            yield from ast.parse("\n".join(chunk)).body
        except SyntaxError:
            continue


@functools.cache
def _imports(path: Path, module: str) -> frozenset[str]:
    """``twinflow`` modules imported anywhere in ``path`` (top level or inside functions);
    cached: every stage's closure shares the modules it walks (each file read once)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_statements(path.read_text(encoding="utf-8")):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(name for name in found
                     if name == "twinflow" or name.startswith("twinflow."))


@functools.cache
def code_files(module: str) -> tuple[str, ...]:
    """Source files a module runs: its import closure inside ``twinflow`` (sorted paths).

    Every parent package's ``__init__.py`` is included (Python executes it on import).
    Rules declare these files as inputs, so editing a module re-runs the stages whose code
    imports it and nothing else.
    """
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            parent = ".".join(parts[:i])
            if parent in seen:
                continue
            path = _module_file(parent)
            if path is None:
                continue
            seen[parent] = path
            todo.extend(_imports(path, parent))
    return tuple(sorted(str(p) for p in set(seen.values())))


@functools.cache
def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def module_manifest(module: str) -> dict[str, str]:
    """``{"twinflow/...py": sha256}`` of ``module``'s import closure (:func:`code_files`)."""
    base = PACKAGE_DIR.parent
    return {Path(name).relative_to(base).as_posix(): _sha256(name)
            for name in code_files(module)}


def code_manifest(stage: str) -> dict[str, str]:
    """``{"twinflow/...py": sha256}`` of the files ``stage`` runs (:func:`code_files`)."""
    return module_manifest(STAGES[stage].module)


def write_code_manifest(stage: str, folder: str | os.PathLike[str]) -> Path:
    """Write ``<folder>/<stage>.json``, the stage's :func:`code_manifest`, only when its bytes
    change; rules declare it as their code input (one file instead of the ~20-40 modules of
    the closure, which made Snakemake's graph ~50,000 input files for a 200-case cohort).
    Its modification time moves exactly when a module the stage runs changes content, so
    an edit re-runs the stage and a bare ``touch`` re-runs nothing."""
    return write_module_manifest(stage, STAGES[stage].module, folder)


def write_module_manifest(name: str, module: str, folder: str | os.PathLike[str]) -> Path:
    """``<folder>/<name>.json``: :func:`module_manifest` of ``module``, written only when its
    bytes change (also for steps outside :data:`STAGES`, such as ``collect_cohort``)."""
    path = Path(folder) / f"{name}.json"
    write_text_if_changed(path, canonical_json(module_manifest(module)))
    return path
