"""Stage ``report``: one self-contained HTML page per case, from the typed stage artifacts.

The page reads only what the stages wrote, through their models (:mod:`twinflow.artifacts`):
the report settings (description, patient, scenarios), the geometry measurements, the mesh
quality and each scenario's summary (+ its ``series.csv`` and PNG figures). Headline values
are read as model attributes, so a producer that renames a field breaks the report's test,
not the page. Values are shown in clinical units (mL, mmHg, mm) converted with pint; every
simplification the stages declared is repeated, so a reader sees what the numbers rest on.
For the left ventricle the P–V loops of all scenarios are overlaid.

Written with the standard library (``html``, ``base64``): the page is simple enough that a
template engine would add a dependency without adding clarity (the readable case report of
the reports issue may well need one).
"""

from __future__ import annotations

import base64
import html
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from twinflow.artifacts.comparison import ArmComparison
from twinflow.artifacts.cycle import CycleSummary, InflationSummary
from twinflow.artifacts.flow import FlowSummary
from twinflow.artifacts.geometry import CarotidMeasurements, LVMeasurements
from twinflow.artifacts.mesh import CarotidMeshQuality, MeshQuality
from twinflow.io import read_json, write_text_atomic
from twinflow.stages import read_stage_settings
from twinflow.units import to_si

log = logging.getLogger(__name__)

#: A headline row: label, value getter on the artifact (SI or dimensionless), display unit.
Row = tuple[str, Callable[[Any], float | None], str]

LV_GEOMETRY_ROWS: list[Row] = [
    ("End-diastolic volume (images)", lambda m: m.end_diastolic_volume_m3, "mL"),
    ("End-systolic volume (images)", lambda m: m.end_systolic_volume_m3, "mL"),
    ("Ejection fraction (images)", lambda m: m.ejection_fraction, "%"),
    ("LV mass", lambda m: m.lv_mass_kg, "g"),
    ("Wall thickness", lambda m: m.wall_thickness_m, "mm"),
]
CAROTID_GEOMETRY_ROWS: list[Row] = [
    ("CCA lumen diameter", lambda m: m.cca_lumen_diameter_m, "mm"),
    ("ICA bulb maximum diameter", lambda m: m.ica_bulb_max_diameter_m, "mm"),
    ("Distal ICA diameter", lambda m: m.ica_distal_diameter_m, "mm"),
    ("ECA diameter", lambda m: m.eca_diameter_m, "mm"),
    ("Stenosis (NASCET)", lambda m: m.stenosis_nascet, "%"),
    ("Stenosis (ECST)", lambda m: m.stenosis_ecst, "%"),
    ("Intima-media thickness", lambda m: m.intima_media_thickness_m, "mm"),
    ("Bifurcation angle", lambda m: m.bifurcation_angle_rad, "deg"),
]
LV_RESULT_ROWS: list[Row] = [
    ("End-diastolic volume", lambda s: s.edv_m3, "mL"),
    ("End-systolic volume", lambda s: s.esv_m3, "mL"),
    ("Stroke volume", lambda s: s.stroke_volume_m3, "mL"),
    ("Ejection fraction", lambda s: s.ejection_fraction, "%"),
    ("Peak systolic LV pressure", lambda s: s.peak_systolic_pressure_pa, "mmHg"),
    ("End-diastolic LV pressure", lambda s: s.end_diastolic_pressure_pa, "mmHg"),
    ("Aortic pressure, peak", lambda s: s.peak_aortic_pressure_pa, "mmHg"),
    ("Aortic pressure, minimum", lambda s: s.min_aortic_pressure_pa, "mmHg"),
    ("Stroke work", lambda s: s.stroke_work_j, "J"),
    ("Beats run (periodic)", lambda s: s.beats_run, ""),
]
INFLATION_ROWS: list[Row] = [
    ("End-diastolic pressure", lambda s: s.end_diastolic_pressure_pa, "mmHg"),
    ("End-diastolic volume", lambda s: s.edv_m3, "mL"),
    ("Isovolumic peak pressure", lambda s: s.isovolumic_peak_pressure_pa, "mmHg"),
]
FLOW_RESULT_ROWS: list[Row] = [
    ("TAWSS, CCA segment", lambda s: s.tawss_cca_segment_pa.mean, "Pa"),
    ("TAWSS, wall mean", lambda s: s.tawss_pa.mean, "Pa"),
    ("OSI, wall mean", lambda s: s.osi.mean, ""),
    ("RRT, wall mean", lambda s: s.rrt_per_pa.mean, "1/Pa"),
    ("Wall area with TAWSS < 0.4 Pa", lambda s: s.low_tawss_area_fraction, "%"),
    ("Flow split ICA", lambda s: _split(s, "ica"), "%"),
    ("Flow split ECA", lambda s: _split(s, "eca"), "%"),
    ("Pressure drop CCA→ICA, mean", lambda s: _drop(s, "mean"), "mmHg"),
    ("Pressure drop CCA→ICA, max", lambda s: _drop(s, "max"), "mmHg"),
    ("Inlet flow, mean", lambda s: s.inlet_flow_m3_s.mean, "mL/s"),
    ("Reynolds number at the inlet, mean / peak",
     lambda s: f"{s.reynolds_inlet.mean:.0f} / {s.reynolds_inlet.peak:.0f}", ""),
    ("Womersley number at the inlet", lambda s: s.womersley_inlet, ""),
    ("Mass balance error", lambda s: s.mass_balance_relative, "%"),
]


def _split(summary: FlowSummary, branch: str) -> float | None:
    from twinflow.geometry import tags

    tag = str({"ica": tags.OUTLET_ICA, "eca": tags.OUTLET_ECA}[branch])
    return summary.flow_split.get(tag)


def _drop(summary: FlowSummary, which: str) -> float | None:
    drop = summary.pressure_drop_cca_ica_pa
    return None if drop is None else getattr(drop, which)


def display(value: float | str | None, unit: str) -> str:
    """An SI (or dimensionless) value in a display unit: ``display(1.6e-4, "mL") == "160"``."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return html.escape(value)
    if unit == "%":
        value = 100 * value
    elif unit == "deg":
        value = math.degrees(value)
    elif unit not in ("", "Pa", "J", "1/Pa"):
        value = value / to_si(1.0, unit)
    if isinstance(value, int):
        return str(value)
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _rows_table(rows: list[Row], columns: dict[str, Any]) -> str:
    """A table of headline rows, one column per artifact (scenario)."""
    body = []
    for label, get, unit in rows:
        cells = [display(get(item), unit) for item in columns.values()]
        body.append((html.escape(label), *cells, html.escape(unit)))
    return _table(body, ("", *map(html.escape, columns), "unit"))


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flat(model: BaseModel) -> list[tuple[str, str]]:
    """Every scalar of a model by dotted key (the 'all values' part of a section)."""
    out: list[tuple[str, str]] = []

    def walk(data: Any, prefix: str) -> None:
        if isinstance(data, dict):
            for key, value in sorted(data.items()):
                if key != "simplifications":
                    walk(value, f"{prefix}{key}.")
        elif isinstance(data, int | float | str | bool) or data is None:
            text = f"{data:.4g}" if isinstance(data, float) else str(data)
            out.append((html.escape(prefix.rstrip(".")), html.escape(text[:200])))

    walk(model.model_dump(mode="json", by_alias=True), "")
    return out


def _details(title: str, model: BaseModel) -> str:
    return (f"<details><summary>{html.escape(title)}</summary>"
            + _table(_flat(model), ("key (SI units)", "value")) + "</details>")


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


def _pv_loops(series: dict[str, Path]) -> str:
    """Overlay of the last-beat P–V loops of all scenarios (from their ``series.csv``)."""
    from twinflow.report.compare import pv_loops_png

    data = base64.b64encode(pv_loops_png(series)).decode("ascii")
    return ('<figure><img alt="P-V loops" src="data:image/png;base64,' + data + '">'
            "<figcaption>Pressure–volume loops of all scenarios</figcaption></figure>")


def _comparison(c: ArmComparison) -> str:
    """Each drug arm against the baseline, with the trials' directions."""
    out = ["<h2>Drug arms against the baseline</h2>"]
    for arm in c.arms:
        rows = []
        for v in arm.values:
            ok = "—" if v.agrees is None else ("yes" if v.agrees else "<b>no</b>")
            rows.append(f"<tr><td>{html.escape(v.label)} ({html.escape(v.unit)})</td>"
                        f"<td>{v.baseline:.4g}</td><td>{v.value:.4g}</td>"
                        f"<td>{v.change:+.3g} ({100 * v.relative_change:+.1f} %)</td>"
                        f"<td>{html.escape(v.trial_direction or '—')}</td><td>{ok}</td></tr>")
        note = "" if arm.periodic else " (not periodic: last beat)"
        out.append(f"<h3>{html.escape(arm.scenario)}: {html.escape(arm.drug or '')}{note}</h3>"
                   "<table><tr><th>quantity</th><th>baseline</th><th>arm</th><th>change</th>"
                   "<th>trial</th><th>agrees</th></tr>" + "".join(rows) + "</table>")
        sources = sorted({v.trial_source for v in arm.values if v.trial_source})
        out.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in sources) + "</ul>")
    out.append("<p>" + html.escape("; ".join(c.notes)) + ".</p>")
    return "".join(out)


def _read_summary(anatomy: str, path: Path) -> CycleSummary | InflationSummary | FlowSummary:
    if anatomy == "carotid":
        return FlowSummary.read(path)
    import json

    study = json.loads(path.read_text(encoding="utf-8")).get("study")
    return (InflationSummary if study == "inflation" else CycleSummary).read(path)


def build_report(case_id: str, settings: dict[str, Any],
                 measurements: CarotidMeasurements | LVMeasurements | None,
                 mesh_quality: MeshQuality | None,
                 summaries: dict[str, CycleSummary | InflationSummary | FlowSummary],
                 folders: dict[str, Path], comparison: ArmComparison | None = None) -> str:
    """The HTML text of a case's report (``folders``: each scenario's result folder)."""
    anatomy = settings["anatomy"]
    parts = [f"<h1>twinflow report — {html.escape(case_id)}</h1>",
             f"<p>{html.escape(settings['description'])}</p>",
             f"<p>Anatomy: <b>{html.escape(anatomy)}</b>. Scenarios: "
             + ", ".join(html.escape(s["id"] + (f" ({s['drug']})" if s["drug"] else ""))
                         for s in settings["scenarios"]) + ".</p>"]
    simplifications: list[str] = []

    if measurements is not None:
        rows = LV_GEOMETRY_ROWS if isinstance(measurements, LVMeasurements) \
            else CAROTID_GEOMETRY_ROWS
        parts += ["<h2>Geometry</h2>", f"<p>{html.escape(measurements.method)}</p>",
                  _rows_table(rows, {"reconstruction": measurements}),
                  _details("all measurements", measurements)]
        simplifications += measurements.simplifications
    if mesh_quality is not None:
        parts += ["<h2>Mesh</h2>", _table([
            ("cells", str(mesh_quality.cells)),
            ("minimum dihedral angle", f"{mesh_quality.min_dihedral_angle_deg:.1f}°"),
            ("inverted cells", str(mesh_quality.inverted_cells))], ("", "value")),
            _details("mesh quality", mesh_quality)]
        if isinstance(mesh_quality, CarotidMeshQuality):
            simplifications += mesh_quality.simplifications

    if summaries:
        parts.append("<h2>Results</h2>")
        first = next(iter(summaries.values()))
        rows = {CycleSummary: LV_RESULT_ROWS, InflationSummary: INFLATION_ROWS,
                FlowSummary: FLOW_RESULT_ROWS}[type(first)]
        parts.append(_rows_table(rows, summaries))
        cycles = {sid: folders[sid] / "series.csv" for sid, s in summaries.items()
                  if isinstance(s, CycleSummary)}
        if cycles:
            parts.append(_pv_loops(cycles))
    if comparison is not None:
        parts.append(_comparison(comparison))
    for sid, summary in summaries.items():
        simplifications += summary.simplifications
        parts.append(f"<h3>Scenario {html.escape(sid)}</h3>")
        for png in sorted(folders[sid].glob("*.png")):
            parts.append(_img(png, f"{sid}: {png.stem}"))
        parts.append(_details(f"all results of {sid}", summary))

    unique = list(dict.fromkeys(simplifications))
    if unique:
        parts.append("<h2>Simplifications</h2><ul>"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in unique) + "</ul>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:.2em .6em;text-align:left}img{max-width:100%}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>twinflow — {html.escape(case_id)}</title><style>{style}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")


def report(settings: Path, out: Path, measurements: Path | None = None,
           mesh_quality: Path | None = None, summaries: Sequence[Path] = (),
           comparison: Path | None = None) -> Path:
    """Stage ``report``: write ``out`` (``results/<case>/report.html``) from the artifacts.

    ``summaries`` are the scenarios' ``summary.json`` (the scenario is the folder name);
    ``comparison`` the drug arms against the baseline (``compare_arms``).
    """
    case = read_stage_settings(settings, "report")
    anatomy = case["anatomy"]
    geometry = None
    if measurements is not None:
        geometry = (LVMeasurements if anatomy == "left-ventricle"
                    else CarotidMeasurements).read(measurements)
    quality = None
    if mesh_quality is not None:
        # the carotid mesher adds its vessel-wall section; the tube mesher writes the base
        bifurcation = "wall_mesh" in read_json(mesh_quality, "mesh quality")
        quality = (CarotidMeshQuality if bifurcation else MeshQuality).read(mesh_quality)
    folders = {Path(p).parent.name: Path(p).parent for p in summaries}
    results = {Path(p).parent.name: _read_summary(anatomy, Path(p)) for p in summaries}
    arms = None if comparison is None else ArmComparison.read(comparison)
    text = build_report(Path(out).parent.name, case, geometry, quality, results, folders, arms)
    log.info("report of %s: %d scenario(s)", Path(out).parent.name, len(results))
    return write_text_atomic(out, text)
