"""``twinflow cohort generate SPEC --n N --seed S``: a cohort spec made into N member cases.

Writes, in the cohort folder (default ``cohorts/<cohort>``)::

    cohort.json                 CohortManifest (twinflow.artifacts.cohort): members, variables
    cases/<cohort>-001.yaml     a case per member: the template, the spec's settings, the
                                member's patient, measurements and images, the spec's arms
    data/<cohort>-001/*.png     its synthetic apical echo views (twinflow synth, LV with the
                                member's EDV, EF and wall thickness), truth.json

Member ``k``'s images are drawn from ``default_rng([seed, k])`` and its variables from
``default_rng([seed, k, 1])`` (:mod:`twinflow.cohort.sample`), so generating again with the
same spec and seed writes the same bytes, and a file whose bytes are unchanged is left as it
is (its modification time too): after an edit of one arm's dose only the case files change,
and the workflow re-runs that arm alone. Members beyond a smaller ``--n`` are removed.
Every member case is validated like any case file before ``cohort.json`` is written.
"""

from __future__ import annotations

import copy
import filecmp
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from twinflow.artifacts.cohort import CohortManifest, Member
from twinflow.case.yamlpos import read_yaml_with_positions
from twinflow.cohort.sample import sample_member
from twinflow.cohort.spec import VARIABLES, CohortSpec, display, read_spec
from twinflow.errors import CaseError, InputError
from twinflow.io import canonical_json, write_text_if_changed
from twinflow.logs import Progress

log = logging.getLogger(__name__)

MAX_MEMBERS = 10_000


def member_id(cohort: str, k: int) -> str:
    return f"{cohort}-{k + 1:03d}"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base`` (mappings key by key, anything else replaced)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _rebase(value: str, source_dir: Path, case_dir: Path) -> str:
    """A relative path written in a file in ``source_dir``, as seen from ``case_dir``."""
    if Path(value).expanduser().is_absolute():
        return value
    return os.path.relpath((source_dir / value).resolve(), case_dir.resolve())


def _rebased_paths(data: dict[str, Any], source_dir: Path, case_dir: Path) -> dict[str, Any]:
    """The path-valued keys a template or the settings may hold (drug_library,
    segmentation.model), rebased onto the member case's folder."""
    data = copy.deepcopy(data)
    if isinstance(data.get("drug_library"), str):
        data["drug_library"] = _rebase(data["drug_library"], source_dir, case_dir)
    seg = data.get("segmentation")
    if isinstance(seg, dict) and isinstance(seg.get("model"), str):
        seg["model"] = _rebase(seg["model"], source_dir, case_dir)
    return data


def _quantity(variable: str, value_si: float, decimals: int) -> str:
    unit = VARIABLES[variable][1]
    return f"{display(variable, value_si):.{decimals}f} {unit}".strip()


def member_case(spec: CohortSpec, spec_dir: Path, template: dict[str, Any], template_dir: Path,
                case_dir: Path, sampled: dict[str, Any], images: list[dict[str, Any]],
                description: str) -> dict[str, Any]:
    """The case document of one member (plain YAML data, units as strings)."""
    case = _merge(_rebased_paths(template, template_dir, case_dir),
                  _rebased_paths(spec.settings, spec_dir, case_dir))
    values, sex = sampled["values"], sampled["sex"]
    patient = {}
    for key, decimals in (("age", 0), ("height", 0), ("weight", 1)):
        if key in values:
            patient[key] = _quantity(key, values[key], decimals)
    if sex:
        patient["sex"] = sex
    circulation = case.get("physics", {}).get("circulation", {})
    circulation.pop("heart_rate", None)  # measurements.heart_rate sets it
    case.update({
        "description": description,
        "patient": patient,
        "images": images,
        "measurements": {
            "blood_pressure": {"systolic": _quantity("systolic_pressure",
                                                     values["systolic_pressure"], 0),
                               "diastolic": _quantity("diastolic_pressure",
                                                      values["diastolic_pressure"], 0)},
            "heart_rate": _quantity("heart_rate", values["heart_rate"], 0)},
        "scenarios": copy.deepcopy(spec.arms),
    })
    case.setdefault("geometry", {})["source"] = "images"
    return {"anatomy": spec.anatomy, **{k: v for k, v in case.items() if k != "anatomy"}}


def _sync_folder(new: Path, dst: Path) -> None:
    """Make ``dst`` hold the files of ``new`` (flat folders), rewriting only files whose
    bytes differ; ``new`` is consumed."""
    dst.mkdir(parents=True, exist_ok=True)
    names = {p.name for p in new.iterdir()}
    for path in dst.iterdir():
        if path.name not in names:
            path.unlink() if path.is_file() else shutil.rmtree(path)
    for name in sorted(names):
        src, old = new / name, dst / name
        if old.is_file() and filecmp.cmp(src, old, shallow=False):
            continue
        os.replace(src, old)
    shutil.rmtree(new, ignore_errors=True)


def _write_images(seed: int, k: int, sampled: dict[str, Any], folder: Path,
                  case_dir: Path) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Synthetic apical views of member ``k`` into ``folder``; the case ``images`` entries
    (paths relative to ``case_dir``) and the LV's true values."""
    from twinflow.imaging.synth.dataset import write_case
    from twinflow.imaging.synth.lv import LVTargets

    values = sampled["values"]
    targets = LVTargets(values["end_diastolic_volume"], values["ejection_fraction"],
                        values["wall_thickness"])
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        manifest = write_case("lv", seed, scratch / "images", index=k, targets=targets)
        written = json.loads(manifest.read_text())
        truth = json.loads((scratch / "images" / "truth.json").read_text())
        (scratch / "images" / "images.json").unlink()  # its paths name the scratch folder
        _sync_folder(scratch / "images", folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    entries = []
    for e in written["images"]:
        sp = e["pixel_spacing"]
        entries.append({"path": os.path.relpath(folder / Path(e["path"]).name, case_dir),
                        "modality": e["modality"], "view": e["view"], "phase": e["phase"],
                        "pixel_spacing": [f"{s * 1e3:.10g} mm" for s in sp],
                        "burned_in_text": [list(b) for b in e["burned_in_text"]]})
    true = {"edv_ml": truth["edv_m3"] * 1e6, "esv_ml": truth["esv_m3"] * 1e6,
            "ejection_fraction": truth["ejection_fraction"],
            "wall_thickness_mm": truth["wall_thickness_ed_m"] * 1e3}
    return entries, true


def generate(spec_path: Path, n: int, seed: int, out: Path | None = None) -> Path:
    """Write the cohort (module docstring); returns the path of ``cohort.json``."""
    from twinflow.case.load import load_case

    if not 1 <= n <= MAX_MEMBERS:
        raise InputError(f"cohort generate: --n must be 1-{MAX_MEMBERS} (got {n})")
    if seed < 0:
        raise InputError(f"cohort generate: --seed must be >= 0 (got {seed})")
    spec = read_spec(spec_path)
    spec_dir = spec_path.parent
    template_path = spec_dir / spec.template
    template = read_yaml_with_positions(template_path).data
    if not isinstance(template, dict) or template.get("anatomy") != spec.anatomy:
        raise CaseError(f"{spec_path}: template: {spec.template} is not a {spec.anatomy} case")
    load_case(template_path)  # the template itself validates (errors at its lines)
    out = Path(out) if out is not None else Path("cohorts") / spec.cohort
    cases_dir, data_dir = out / "cases", out / "data"
    cases_dir.mkdir(parents=True, exist_ok=True)
    members = []
    baseline = next(a["id"] for a in spec.arms
                    if a.get("drug") is None and a.get("duration") is None)
    bar = Progress(n, f"cohort {spec.cohort}", unit="member", logger=log)
    for k in range(n):
        mid = member_id(spec.cohort, k)
        sampled = sample_member(spec, seed, k)
        images, truth = _write_images(seed, k, sampled, data_dir / mid, cases_dir)
        # no seed or long number here: the description is scanned for identifiers
        # (twinflow.case.privacy masks runs of 5 digits); the header comment has them
        description = (f"A member of virtual cohort {spec.cohort}, generated from "
                       f"{spec_path.name} (cohort.json): edit the spec, not this file.")
        case = member_case(spec, spec_dir, template, template_path.parent, cases_dir, sampled,
                           images, description)
        case_path = cases_dir / f"{mid}.yaml"
        header = (f"# Generated by twinflow cohort generate {spec_path.name} --n {n} "
                  f"--seed {seed}; member {k + 1}.\n")
        text = yaml.safe_dump(case, sort_keys=False, allow_unicode=True,
                              default_flow_style=None, width=100)
        write_text_if_changed(case_path, header + text)
        load_case(case_path)  # validated like any case (FILE:LINE:COL lines on a problem)
        values = sampled["values"]
        members.append(Member(
            id=mid, index=k + 1, case=str(case_path.relative_to(out)),
            images=str((data_dir / mid).relative_to(out)),
            variables={v: display(v, x) for v, x in values.items()},
            units={v: VARIABLES[v][1] for v in values}, sex=sampled["sex"],
            draws=sampled["draws"], truth=truth))
        bar.update()
    bar.close()
    keep = {m.id for m in members}
    for stale in sorted(cases_dir.glob(f"{spec.cohort}-*.yaml")):
        if stale.stem not in keep:
            stale.unlink()
            shutil.rmtree(data_dir / stale.stem, ignore_errors=True)
            log.info("removed member %s (beyond --n %d)", stale.stem, n)
    manifest = CohortManifest(
        cohort=spec.cohort, description=spec.description, spec=str(spec_path),
        spec_sha256=hashlib.sha256(spec_path.read_bytes()).hexdigest(),
        template=spec.template, seed=seed, n=n, arms=[a["id"] for a in spec.arms],
        baseline=baseline, members=members)
    path = out / "cohort.json"
    write_text_if_changed(path, canonical_json(manifest.model_dump(mode="json")))
    log.info("cohort %s: %d members in %s", spec.cohort, n, out)
    return path
