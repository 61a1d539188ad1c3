"""Stage ``collect_cohort``: every member x arm of a cohort in one table, and its summary.

Reads the cohort's ``cohort.json`` (:class:`~twinflow.artifacts.cohort.CohortManifest`) and,
per member and arm, the typed artifacts of its chain (:func:`chain`): the calibrated
baseline (``personalisation/personalisation.json``), the arm's ``drug_effects.json``, mesh
information and cycle ``summary.json``, and each step's provenance record (wall time, peak
memory). Writes in ``results/<cohort>/``:

* ``cohort.parquet`` (pyarrow) — one row per member x arm: sampled inputs, the synthetic
  LV's truth, calibrated parameters, the outputs of :data:`twinflow.report.compare.QUANTITIES`
  (display units in the column names), per-step wall time and peak memory, ``status``
  (``ok``, ``uncalibrated``, ``failed``), the step that did not finish and why;
* ``summary.json`` (:class:`~twinflow.artifacts.cohort.CohortSummary`) and ``summary.md`` —
  per arm mean ± SD and the 95 % CI of the mean (Student t, scipy.stats) of every output,
  the paired differences against the baseline (same members, 95 % CI) next to the trials'
  directions of the arm's drug, and every member x arm without results with its reason;
* ``outputs.png`` — box plots per output and arm, members as points;
* ``report.html`` — all of it on one self-contained page (:mod:`twinflow.cohort.report`).

A member x arm counts only when its whole chain finished; a failed step's reason is the last
error line of its log (the one-line error of the stage). Members are never dropped silently:
a row exists for each member x arm, and the statistics' ``n`` says how many completed.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from twinflow.artifacts.cohort import (
    ArmSummary,
    CohortManifest,
    CohortSummary,
    Failure,
    PairedDifference,
    Statistic,
)
from twinflow.cohort.report import cohort_html, row_cells
from twinflow.errors import InputError
from twinflow.io import atomic_path, write_text_atomic

log = logging.getLogger(__name__)



def unit_slug(unit: str) -> str:
    """A unit in a column name: ``mL`` -> ``ml``, ``%`` -> ``pct``, ``mmHg*s/mL`` ->
    ``mmhg_s_ml``."""
    return re.sub(r"[^a-z0-9]+", "_", unit.replace("%", "pct").lower()).strip("_")


def chain(results: Path, member: str, arm: str, baseline: str) -> list[tuple[str, Path, Path]]:
    """The steps an arm's results depend on, in order: (step, its artifact, its log)."""
    base = results / member
    steps = [("canonical", base / "case.json", "canonical"),
             ("ingest", base / "images" / "manifest.json", "ingest"),
             ("segment", base / "masks" / "manifest.json", "segment"),
             ("reconstruct_lv", base / "geometry" / "measurements.json", "reconstruct_lv"),
             ("drug_effects", base / baseline / "drug_effects.json", f"drug_effects-{baseline}"),
             ("mesh_lv", base / baseline / "mesh" / "mesh.json", f"mesh_lv-{baseline}"),
             ("personalise_lv", base / "personalisation" / "personalisation.json",
              "personalise_lv")]
    if arm != baseline:
        steps += [("drug_effects", base / arm / "drug_effects.json", f"drug_effects-{arm}"),
                  ("mesh_lv", base / arm / "mesh" / "mesh.json", f"mesh_lv-{arm}")]
    steps.append(("simulate_heart", base / arm / "summary.json", f"simulate_heart-{arm}"))
    return [(step, path, base / "logs" / f"{name}.log") for step, path, name in steps]


def complete(results: Path, member: str, arm: str, baseline: str) -> bool:
    """Whether every artifact of the arm's chain exists (what the collect rule declares)."""
    return all(path.is_file() for _, path, _ in chain(results, member, arm, baseline))


def arm_inputs(results: Path, member: str, arm: str, baseline: str) -> list[Path]:
    """The files the table reads for one complete member x arm (its chain's artifacts)."""
    return [p for _, p, _ in chain(results, member, arm, baseline)]


def _failure(results: Path, member: str, arm: str, baseline: str) -> Failure:
    from twinflow.processes import last_error_line

    for step, path, log_file in chain(results, member, arm, baseline):
        if path.is_file():
            continue
        reason = last_error_line(log_file) if log_file.is_file() else None
        if reason is None:
            reason = ("did not run (an earlier step failed or the run stopped)"
                      if not log_file.is_file() else "failed (no error line in its log)")
        return Failure(member=member, arm=arm, step=step, reason=reason,
                       log=str(log_file) if log_file.is_file() else None)
    raise AssertionError("a complete chain has no failure")  # pragma: no cover


def _record(results: Path, member: str, name: str) -> tuple[float | None, float | None]:
    """Wall time (s) and peak memory (MB) of one step from its provenance record."""
    from twinflow.artifacts.provenance import StepRecord

    path = results / member / "provenance" / "steps" / f"{name}.json"
    if not path.is_file():
        return None, None
    rec = StepRecord.read(path)
    return rec.wall_time_s, rec.peak_rss_mb


def rows(manifest: CohortManifest, results: Path
         ) -> tuple[list[dict[str, Any]], dict[str, str], list[Failure], dict[str, dict[str, str]]]:
    """The table's rows, the display unit of each output column, the failures and, per drug
    arm, the trials' direction of each quantity (from the drug_effects.json read here)."""
    from twinflow.artifacts.cycle import CycleSummary
    from twinflow.artifacts.drugs import DrugEffects
    from twinflow.artifacts.mesh import LVMeshInfo
    from twinflow.artifacts.personalisation import Personalisation
    from twinflow.report.compare import QUANTITIES

    out, failures = [], []
    directions: dict[str, dict[str, str]] = {}
    units = {q: unit for q, (_, unit, _) in QUANTITIES.items()}
    for m in manifest.members:
        for arm in manifest.arms:
            row: dict[str, Any] = {"cohort": manifest.cohort, "member": m.id, "arm": arm,
                                   "drug": None, "sex": m.sex}
            for var, value in m.variables.items():
                row[_column("in", var, m.units[var])] = value
            for key, value in m.truth.items():
                row[f"true_{key}"] = value
            if not complete(results, m.id, arm, manifest.baseline):
                f = _failure(results, m.id, arm, manifest.baseline)
                failures.append(f)
                row.update(status="uncalibrated" if f.step == "personalise_lv" else "failed",
                           failed_step=f.step, reason=f.reason)
                out.append(row)
                continue
            base = results / m.id
            pers = Personalisation.read(base / "personalisation" / "personalisation.json")
            for p in pers.parameters:
                row[f"cal_{p.name}_{unit_slug(p.unit)}"] = p.value
            row["cal_passive_scale"] = pers.passive.scale
            row["cal_beats"] = len(pers.beats)
            for t in pers.targets:
                scale = 1e6 if t.unit == "m3" else 1 / 133.322387415
                unit = "ml" if t.unit == "m3" else "mmhg"
                row[f"target_{t.name}_{unit}"] = t.measured * scale
            summary = CycleSummary.read(base / arm / "summary.json")
            mesh = LVMeshInfo.read(base / arm / "mesh" / "mesh.json")
            effects = DrugEffects.read(base / arm / "drug_effects.json")
            if effects.drug:
                directions.setdefault(arm, {o.quantity: o.direction for o in effects.outcomes})
            row["drug"] = effects.drug
            for q, (_, unit, get) in QUANTITIES.items():
                row[_column("out", q, unit)] = float(get(summary, mesh))
            row["periodic"] = summary.periodic
            row["beats_run"] = summary.beats_run
            row["cells"] = summary.cells
            for step in ("personalise_lv", f"mesh_lv-{arm}", f"simulate_heart-{arm}"):
                wall, mem = _record(results, m.id, step)
                short = step.split("-")[0]
                row[f"wall_{short}_s"], row[f"peak_rss_{short}_mb"] = wall, mem
            row.update(status="ok", failed_step=None, reason=None)
            out.append(row)
    return out, units, failures, directions


def _column(prefix: str, name: str, unit: str) -> str:
    slug = unit_slug(unit)
    return f"{prefix}_{name}" + (f"_{slug}" if slug else "")


def statistic(values: list[float]) -> dict[str, Any]:
    """n, mean, SD (n-1) and the 95 % CI of the mean (Student t; None below n = 2)."""
    from scipy import stats

    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "ci95_low": None, "ci95_high": None}
    mean = float(x.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "sd": None, "ci95_low": None, "ci95_high": None}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
    return {"n": n, "mean": mean, "sd": sd, "ci95_low": mean - half, "ci95_high": mean + half}


def summarise(manifest: CohortManifest, table: list[dict[str, Any]], units: dict[str, str],
              failures: list[Failure], trial_directions: dict[str, dict[str, str]]
              ) -> CohortSummary:
    """Per arm statistics and paired differences against the baseline."""
    from twinflow.report.compare import agrees

    ok = {(r["member"], r["arm"]): r for r in table if r["status"] == "ok"}
    arms = []
    for arm in manifest.arms:
        done = [r for (m, a), r in ok.items() if a == arm]
        outputs, diffs = {}, {}
        for q, unit in units.items():
            col = _column("out", q, unit)
            outputs[q] = Statistic(**statistic([r[col] for r in done]))
            if arm == manifest.baseline:
                continue
            pairs = [(r[col], ok[(r["member"], manifest.baseline)][col]) for r in done
                     if (r["member"], manifest.baseline) in ok]
            st = statistic([arm_value - base for arm_value, base in pairs])
            direction = trial_directions.get(arm, {}).get(q)
            rel = None
            if pairs:  # mean change relative to the same members' baseline mean
                base_mean = float(np.mean([base for _, base in pairs]))
                rel = st["mean"] / abs(base_mean) if base_mean else 0.0
            diffs[q] = PairedDifference(
                **st, trial_direction=direction,
                agrees=None if direction is None or rel is None else agrees(direction, rel),
                significant=None if st["ci95_low"] is None
                else bool(st["ci95_low"] > 0 or st["ci95_high"] < 0))
        drug = next((r["drug"] for r in done), None)
        arms.append(ArmSummary(arm=arm, drug=drug, completed=len(done), outputs=outputs,
                               differences=diffs))
    notes = ["95 % CI of the mean: Student t with n - 1 degrees of freedom; paired "
             "differences over the members whose baseline and arm both completed",
             "a trial direction 'unchanged' agrees when the mean relative change is within 2 %",
             "outputs of the coarse model the spec's settings select; see each member's "
             "report for its convergence"]
    return CohortSummary(cohort=manifest.cohort, members=len(manifest.members), arms=arms,
                         units=units, failures=failures, notes=notes)


def markdown(s: CohortSummary) -> str:
    lines = [f"# Virtual cohort {s.cohort}: {s.members} members", ""]
    for a in s.arms:
        lines += [f"## {a.arm}" + (f" ({a.drug})" if a.drug else "")
                  + f": {a.completed} of {s.members} completed", "",
                  "| output | mean ± SD | 95 % CI | vs baseline (paired, 95 % CI) | trial "
                  "| agrees |",
                  "|---|---|---|---|---|---|"]
        for q, st in a.outputs.items():
            label, ms, ci, dd, trial, ok = row_cells(s, q, st, a.differences.get(q))
            ok = "**no**" if ok == "no" else ok
            lines.append(f"| {label} | {ms} | {ci} | {dd} | {trial} | {ok} |")
        lines.append("")
    lines += ["## Members without results", ""]
    if s.failures:
        lines += ["| member | arm | step | reason |", "|---|---|---|---|"]
        lines += [f"| {f.member} | {f.arm} | {f.step} | {f.reason.replace('|', '/')} |"
                  for f in s.failures]
    else:
        lines.append("None: every member x arm completed.")
    lines += ["", "Notes:", *[f"- {n}" for n in s.notes], ""]
    return "\n".join(lines)


def boxplots_png(table: list[dict[str, Any]], units: dict[str, str], arms: list[str]) -> bytes:
    """Box plots per output (panels) and arm, each member a point (matplotlib, Agg)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from twinflow.report.compare import QUANTITIES

    names = list(units)
    cols = 3
    rows_n = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.2 * rows_n), squeeze=False)
    rng = np.random.default_rng(0)  # jitter of the points only
    for ax, q in zip(axes.flat, names, strict=False):
        col = _column("out", q, units[q])
        data = [[r[col] for r in table if r["arm"] == a and r["status"] == "ok"] for a in arms]
        ax.boxplot([d if d else [np.nan] for d in data], tick_labels=arms, showfliers=False)
        for i, d in enumerate(data, start=1):
            ax.plot(i + rng.uniform(-0.12, 0.12, len(d)), d, "o", ms=3, alpha=0.6, color="C0")
        ax.set_title(f"{QUANTITIES[q][0]} ({units[q]})", fontsize=9)
        ax.tick_params(axis="x", labelsize=7, rotation=20)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def write_parquet(table: list[dict[str, Any]], path: Path, manifest: CohortManifest,
                  units: dict[str, str]) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: list[str] = []
    for r in table:
        columns += [c for c in r if c not in columns]
    data = {c: [r.get(c) for r in table] for c in columns}
    t = pa.table(data)
    meta = {"twinflow.cohort": manifest.cohort, "twinflow.seed": str(manifest.seed),
            "twinflow.spec_sha256": manifest.spec_sha256,
            "twinflow.output_units": json.dumps(units, sort_keys=True)}
    t = t.replace_schema_metadata({**(t.schema.metadata or {}), **meta})
    with atomic_path(path) as tmp:
        pq.write_table(t, tmp)


def collect_cohort(manifest_path: Path, results: Path, out: Path) -> Path:
    """Write the table, the summary, its Markdown and the box plots (module docstring)."""
    manifest = CohortManifest.read(manifest_path)
    if not manifest.members:
        raise InputError(f"{manifest_path}: a cohort without members")
    table, units, failures, directions = rows(manifest, results)
    summary = summarise(manifest, table, units, failures, directions)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(table, out, manifest, units)
    summary.write(out.parent / "summary.json")
    write_text_atomic(out.parent / "summary.md", markdown(summary))
    png = boxplots_png(table, units, manifest.arms)
    with atomic_path(out.parent / "outputs.png") as tmp:
        Path(tmp).write_bytes(png)
    write_text_atomic(out.parent / "report.html",
                      cohort_html(summary, png, manifest.description))
    done = sum(1 for r in table if r["status"] == "ok")
    log.info("cohort %s: %d of %d member x arm rows completed; %d without results",
             manifest.cohort, done, len(table), len(failures))
    return out
