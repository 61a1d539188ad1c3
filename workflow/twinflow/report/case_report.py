"""One self-contained HTML page per case (figures embedded), for modellers and auditors.

The page reads only the stage outputs under ``results/<case>/``: the canonical case, the
geometry measurements, the mesh summary and each scenario's ``summary.json`` (+ ``series.csv``
and PNG figures). It repeats every simplification the stages declared, so a reader sees what
the numbers rest on. For the left ventricle, the P–V loops of all scenarios are overlaid.
Written with the standard library (``html``, ``base64``): the page is simple enough that a
template engine would add a dependency without adding clarity.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from twinflow.errors import InputError
from twinflow.io import write_text_atomic

PA_PER_MMHG = 133.322387415

# (key in summary.json, label, scale from SI, unit)
LV_ROWS = [
    ("edv_m3", "End-diastolic volume", 1e6, "mL"),
    ("esv_m3", "End-systolic volume", 1e6, "mL"),
    ("stroke_volume_m3", "Stroke volume", 1e6, "mL"),
    ("ejection_fraction", "Ejection fraction", 100, "%"),
    ("peak_systolic_pressure_pa", "Peak systolic LV pressure", 1 / PA_PER_MMHG, "mmHg"),
    ("end_diastolic_pressure_pa", "End-diastolic LV pressure", 1 / PA_PER_MMHG, "mmHg"),
    ("stroke_work_j", "Stroke work", 1, "J"),
]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found (run the workflow first)") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg})") from None


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">' \
           f"<figcaption>{html.escape(alt)}</figcaption></figure>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return html.escape(json.dumps(value)[:200])
    return html.escape(str(value))


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flat_scalars(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in sorted(data.items()):
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _flat_scalars(value, f"{name}.")
        elif isinstance(value, int | float | str | bool) and key != "simplifications":
            out.append((html.escape(name), _fmt(value)))
    return out


def _pv_loops(case_dir: Path, scenarios: list[str]) -> str:
    """Overlay of the last-beat P–V loops of all scenarios (from series.csv)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    drawn = 0
    for sid in scenarios:
        series = case_dir / sid / "series.csv"
        if not series.is_file():
            continue
        df = pd.read_csv(series)
        if "beat" in df:
            df = df[df["beat"] == df["beat"].max()]
        vol = [c for c in df.columns if c.lower().startswith("v_lv")]
        prs = [c for c in df.columns if c.lower().startswith("p_lv")]
        if not vol or not prs:
            continue
        v_scale = 1e6 if df[vol[0]].abs().max() < 1 else 1.0  # m^3 -> mL
        p_scale = 1 / PA_PER_MMHG if df[prs[0]].abs().max() > 1000 else 1.0  # Pa -> mmHg
        ax.plot(df[vol[0]] * v_scale, df[prs[0]] * p_scale, label=sid)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return ""
    ax.set_xlabel("LV volume [mL]")
    ax.set_ylabel("LV pressure [mmHg]")
    ax.set_title("Pressure–volume loops (last beat)")
    ax.legend()
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<figure><img alt="P-V loops" src="data:image/png;base64,{data}">' \
           "<figcaption>Pressure–volume loops of all scenarios</figcaption></figure>"


def build_report(case_dir: Path) -> str:
    """The HTML text of the report of ``results/<case>``."""
    case_dir = Path(case_dir)
    case = _read_json(case_dir / "case.json")
    cid = case_dir.name
    scenarios = [s["id"] for s in case.get("scenarios", [])]
    parts = [f"<h1>twinflow report — {html.escape(cid)}</h1>",
             f"<p>{html.escape(case.get('description', ''))}</p>",
             f"<p>Anatomy: <b>{html.escape(case['anatomy'])}</b>. Values in SI unless a unit "
             "is shown.</p>"]
    simplifications: list[str] = []

    geometry = case_dir / "geometry" / "measurements.json"
    if geometry.is_file():
        meas = _read_json(geometry)
        simplifications += meas.get("simplifications", [])
        parts.append("<h2>Geometry</h2>" + _table(_flat_scalars(meas), ("measurement", "value")))

    summaries = {sid: _read_json(case_dir / sid / "summary.json") for sid in scenarios
                 if (case_dir / sid / "summary.json").is_file()}
    for summary in summaries.values():
        simplifications += summary.get("simplifications", [])

    if case["anatomy"] == "left-ventricle" and summaries:
        rows = []
        for key, label, scale, unit in LV_ROWS:
            cells = [f"{summaries[s][key] * scale:.1f}" if isinstance(summaries[s].get(key),
                     int | float) else "—" for s in summaries]
            rows.append((html.escape(label), *cells, unit))
        parts.append("<h2>Scenarios</h2>" + _table(rows, ("", *summaries, "unit")))
        parts.append(_pv_loops(case_dir, list(summaries)))
    for sid, summary in summaries.items():
        parts.append(f"<h2>Scenario {html.escape(sid)}</h2>")
        parts.append(_table(_flat_scalars(summary), ("result", "value")))
        for png in sorted((case_dir / sid).glob("*.png")):
            parts.append(_img(png, f"{sid}: {png.stem}"))

    unique = list(dict.fromkeys(simplifications))
    if unique:
        parts.append("<h2>Simplifications</h2><ul>"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in unique) + "</ul>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
             "padding:.2em .6em;text-align:left}img{max-width:100%}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>twinflow — {html.escape(cid)}</title><style>{style}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")


def write_report(case_dir: Path, out: Path) -> Path:
    return write_text_atomic(out, build_report(case_dir))
