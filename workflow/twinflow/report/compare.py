"""Stage ``compare_arms``: baseline vs each drug arm of an LV case, next to the trials.

Reads each scenario's typed artifacts (``summary.json``: :class:`~twinflow.artifacts.cycle.
CycleSummary`; ``drug_effects.json``; ``mesh/mesh.json`` for the wall volume; ``series.csv``
for the loops) and writes ``comparison/comparison.json``
(:class:`~twinflow.artifacts.comparison.ArmComparison`), ``comparison.md`` (the same table)
and ``pv_loops.png`` (the last beat's P–V loop of every scenario overlaid, as the source
paper's Fig. 11).

For each quantity of :data:`QUANTITIES` the arm's value, the baseline's, the change, the
direction a trial of the drug observed (the entry's ``outcomes``) and whether the model
moved the same way. LV mass = wall volume of the arm's mesh x 1.05 g/mL (Lang et al. 2015,
JASE 28:1, the myocardial density of echocardiographic LV mass).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from twinflow.artifacts.comparison import Arm, ArmComparison, ArmValue
from twinflow.artifacts.cycle import CycleSummary
from twinflow.artifacts.drugs import DrugEffects
from twinflow.artifacts.mesh import LVMeshInfo
from twinflow.errors import InputError
from twinflow.io import atomic_path, write_text_atomic
from twinflow.stages import baseline_scenario, read_stage_settings
from twinflow.units import to_si

log = logging.getLogger(__name__)

#: Myocardial density (kg/m³; Lang et al. 2015, JASE 28:1-39: 1.05 g/mL).
MYOCARDIAL_DENSITY = 1050.0
#: A relative change below this counts as "unchanged".
UNCHANGED = 0.02
MMHG = to_si(1.0, "mmHg")

Getter = Callable[[CycleSummary, LVMeshInfo], float]
#: quantity -> (label, unit, value in display units).
QUANTITIES: dict[str, tuple[str, str, Getter]] = {
    "systolic_pressure": ("Aortic systolic pressure", "mmHg",
                          lambda s, m: s.peak_aortic_pressure_pa / MMHG),
    "diastolic_pressure": ("Aortic diastolic pressure", "mmHg",
                           lambda s, m: s.min_aortic_pressure_pa / MMHG),
    "lv_systolic_pressure": ("Peak LV pressure", "mmHg",
                             lambda s, m: s.peak_systolic_pressure_pa / MMHG),
    "end_diastolic_volume": ("End-diastolic volume", "mL", lambda s, m: s.edv_m3 * 1e6),
    "end_systolic_volume": ("End-systolic volume", "mL", lambda s, m: s.esv_m3 * 1e6),
    "stroke_volume": ("Stroke volume", "mL", lambda s, m: s.stroke_volume_m3 * 1e6),
    "ejection_fraction": ("Ejection fraction", "%", lambda s, m: 100 * s.ejection_fraction),
    "stroke_work": ("Stroke work", "J", lambda s, m: s.stroke_work_j),
    "lv_mass": ("LV mass", "g",
                lambda s, m: m.wall_volume_mesh_m3 * MYOCARDIAL_DENSITY * 1e3),
}


def agrees(direction: str, relative_change: float) -> bool:
    """Whether a model change has a trial's direction."""
    if direction == "unchanged":
        return abs(relative_change) <= UNCHANGED
    return relative_change < 0 if direction == "down" else relative_change > 0


def compare(case: str, scenarios: list[str], baseline: str, summaries: list[CycleSummary],
            effects: list[DrugEffects], meshes: list[LVMeshInfo]) -> ArmComparison:
    """The comparison of every other scenario (drug or placebo arm) with ``baseline``."""
    i_base = scenarios.index(baseline)
    base_s, base_m = summaries[i_base], meshes[i_base]
    arms = []
    for i, (sid, s, e, m) in enumerate(zip(scenarios, summaries, effects, meshes,
                                           strict=True)):
        if i == i_base:
            continue
        expected = {o.quantity: o for o in e.outcomes}
        values = []
        for q, (label, unit, get) in QUANTITIES.items():
            value, base = float(get(s, m)), float(get(base_s, base_m))
            rel = (value - base) / abs(base) if base else 0.0
            trial = expected.get(q)
            values.append(ArmValue(
                quantity=q, label=label, unit=unit, value=value, baseline=base,
                change=value - base, relative_change=rel,
                trial_direction=trial.direction if trial else None,
                trial_source=trial.source if trial else None,
                agrees=agrees(trial.direction, rel) if trial else None))
        arms.append(Arm(scenario=sid, drug=e.drug or "placebo", periodic=s.periodic,
                        values=values))
    notes = [f"'unchanged' means within {100 * UNCHANGED:g} % of the baseline",
             "LV mass from the wall volume of each arm's mesh at 1.05 g/mL (Lang 2015)",
             "systolic/diastolic pressure: the 0D systemic arterial compartment (the cuff's "
             "analogue, no brachial amplification)"]
    return ArmComparison(case=case, baseline=scenarios[i_base], arms=arms,
                         lv_mass_density_kg_m3=MYOCARDIAL_DENSITY, notes=notes)


def markdown(c: ArmComparison) -> str:
    """The comparison as a Markdown table per arm."""
    lines = [f"# Drug arms of {c.case} against the baseline ({c.baseline})", ""]
    for arm in c.arms:
        lines += [f"## {arm.scenario}: {arm.drug}" + ("" if arm.periodic else
                                                        " (not periodic: last beat)"), "",
                  "| quantity | baseline | arm | change | trial | agrees |",
                  "|---|---|---|---|---|---|"]
        for v in arm.values:
            trial = v.trial_direction or "—"
            ok = "—" if v.agrees is None else ("yes" if v.agrees else "**no**")
            lines.append(f"| {v.label} ({v.unit}) | {v.baseline:.4g} | {v.value:.4g} | "
                         f"{v.change:+.3g} ({100 * v.relative_change:+.1f} %) | {trial} | {ok} |")
        sources = sorted({v.trial_source for v in arm.values if v.trial_source})
        lines += ["", *[f"- {s}" for s in sources], ""]
    lines += ["Notes:", *[f"- {n}" for n in c.notes], ""]
    return "\n".join(lines)


def pv_loops_png(series: dict[str, Path]) -> bytes:
    """PNG of the last beat's P–V loop of every scenario (``series``: scenario -> its
    ``series.csv``) in one figure; also embedded by the case report."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=120)
    for sid, csv in series.items():
        df = pd.read_csv(csv)
        df = df[df["beat"] == df["beat"].max()]
        ax.plot(df["V_LV_mL"], df["p_LV_mmHg"], label=sid, lw=1.6)
    ax.set_xlabel("LV volume (mL)")
    ax.set_ylabel("LV pressure (mmHg)")
    ax.set_title("P–V loops, last beat of each scenario")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def compare_arms(settings: Path, summaries: list[Path], drug_effects: list[Path],
                 meshes: list[Path], out: Path) -> Path:
    """Stage ``compare_arms`` (module docstring): the files of one scenario each, in the
    case's scenario order; writes ``out`` (comparison.json) and, beside it,
    ``comparison.md`` and ``pv_loops.png``."""
    case = read_stage_settings(settings, "compare_arms")
    scenarios = [s["id"] for s in case["scenarios"]]
    if not len(summaries) == len(drug_effects) == len(meshes) == len(scenarios):
        raise InputError(f"{settings}: one summary, drug effects and mesh per scenario "
                         f"({len(scenarios)})")
    result = compare(Path(out).parent.parent.name, scenarios, baseline_scenario(case),
                     [CycleSummary.read(p) for p in summaries],
                     [DrugEffects.read(p) for p in drug_effects],
                     [LVMeshInfo.read(p) for p in meshes])
    out = Path(out)
    write_text_atomic(out.with_name("comparison.md"), markdown(result))
    with atomic_path(out.with_name("pv_loops.png")) as tmp:
        tmp.write_bytes(pv_loops_png({sid: Path(p).with_name("series.csv")
                                      for sid, p in zip(scenarios, summaries, strict=True)}))
    for arm in result.arms:
        missed = [v.label for v in arm.values if v.agrees is False]
        log.info("%s (%s): %s", arm.scenario, arm.drug,
                 "agrees with every trial direction" if not missed
                 else "differs from the trials on " + ", ".join(missed))
    return result.write(out)
