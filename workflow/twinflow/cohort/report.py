"""``results/<cohort>/report.html``: the cohort summary as one self-contained page.

Per arm the table of :mod:`twinflow.cohort.collect` (mean ± SD, 95 % CI, the paired
difference against the baseline next to the trial's direction), the box plots embedded as a
PNG data URI, and every member x arm without results with its failing step and reason. Built
from the typed :class:`~twinflow.artifacts.cohort.CohortSummary` with the standard library
(``html``, ``base64``), like the case report.
"""

from __future__ import annotations

import base64
import html

from twinflow.artifacts.cohort import CohortSummary, PairedDifference, Statistic

STYLE = ("body{font-family:sans-serif;max-width:64em;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
         "padding:.2em .6em;text-align:left}img{max-width:100%}.no{color:#b00}")


def row_cells(s: CohortSummary, q: str, st: Statistic, d: PairedDifference | None
              ) -> tuple[str, str, str, str, str, str]:
    """One output's cells in the summary tables (Markdown and HTML): label, mean ± SD,
    95 % CI, the paired difference with its CI, the trial's direction, agrees (yes/no/—)."""
    from twinflow.report.compare import QUANTITIES

    label = f"{QUANTITIES[q][0]} ({s.units[q]})"
    ms = "—" if st.mean is None else f"{st.mean:.4g}" + (
        "" if st.sd is None else f" ± {st.sd:.3g}")
    ci = "—" if st.ci95_low is None else f"{st.ci95_low:.4g} – {st.ci95_high:.4g}"
    if d is None or d.mean is None:
        return label, ms, ci, "—", "—", "—"
    diff = f"{d.mean:+.3g}" + ("" if d.ci95_low is None
                               else f" ({d.ci95_low:+.3g} – {d.ci95_high:+.3g})")
    agrees = "—" if d.agrees is None else ("yes" if d.agrees else "no")
    return label, ms, ci, diff, d.trial_direction or "—", agrees


def _cell(text: str) -> str:
    return f"<td>{html.escape(text)}</td>"


def cohort_html(s: CohortSummary, boxplots_png: bytes, description: str = "") -> str:
    """The page (module docstring)."""
    e = html.escape
    parts = [f"<h1>Virtual cohort {e(s.cohort)}</h1>",
             f"<p>{e(description)}</p>" if description else "",
             f"<p>{s.members} members; arms: "
             + ", ".join(f"{e(a.arm)} ({a.completed} completed)" for a in s.arms) + "</p>"]
    data = base64.b64encode(boxplots_png).decode("ascii")
    parts.append(f'<figure><img alt="outputs per arm" src="data:image/png;base64,{data}">'
                 "<figcaption>Outputs per arm (box: quartiles; points: members)"
                 "</figcaption></figure>")
    for a in s.arms:
        parts.append(f"<h2>{e(a.arm)}" + (f" — {e(a.drug)}" if a.drug else "") + "</h2>")
        rows = []
        for q, st in a.outputs.items():
            label, ms, ci, diff, trial, agrees = row_cells(s, q, st, a.differences.get(q))
            cls = ' class="no"' if agrees == "no" else ""
            rows.append(f"<tr>{_cell(label)}{_cell(ms)}{_cell(ci)}{_cell(diff)}"
                        f"{_cell(trial)}<td{cls}>{agrees}</td></tr>")
        parts.append("<table><tr><th>output</th><th>mean ± SD</th><th>95 % CI</th>"
                     "<th>vs baseline (paired, 95 % CI)</th><th>trial</th><th>agrees</th>"
                     "</tr>" + "".join(rows) + "</table>")
    parts.append("<h2>Members without results</h2>")
    if s.failures:
        parts.append("<table><tr><th>member</th><th>arm</th><th>step</th><th>reason</th>"
                     "</tr>" + "".join(f"<tr>{_cell(f.member)}{_cell(f.arm)}{_cell(f.step)}"
                                       f"{_cell(f.reason)}</tr>" for f in s.failures)
                     + "</table>")
    else:
        parts.append("<p>None: every member x arm completed.</p>")
    parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in s.notes)
                 + "</ul>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>twinflow — cohort {e(s.cohort)}</title><style>{STYLE}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")
