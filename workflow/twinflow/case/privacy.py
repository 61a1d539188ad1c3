"""Identifiers in a case's free text: found, masked with ``[removed]``, reported by kind.

A case's ``description`` is written by a person and copied into ``case.json``, the settings
slices and ``report.html``; a name, a birth date or an MRN typed there would reach every
output. :func:`mask_text` finds, case-insensitively,

* **dates** in the common written forms (``1961-03-04``, ``1961/3/4``, ``04/03/1961``,
  ``4.3.61``, ``4 March 1961``, ``4th of Mar. 1961``, ``March 4, 1961``, ``March 1961``,
  ``4 March``), in English month names; HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(C))
  counts every date element but the year as an identifier, so a year alone is kept;
* **digit runs** of 5 or more digits with a short letter prefix if any (``MRN12345678``,
  ``19610304``; not the digits after a decimal point, ``3.14159``);
* **e-mail addresses** and **phone numbers** (7 or more digits in groups separated by
  spaces, dots, hyphens or parentheses, an optional ``+country``);
* **names after a title** (``Mr``, ``Mrs``, ``Ms``, ``Dr``, ``Prof`` ... and one or two
  capitalised words) and DICOM-style names (``DOE^JOHN``);
* the **names, IDs, places and birth date in the DICOM headers** of the case's own images
  (:mod:`twinflow.imaging.identifiers`): each name component as a word, each ID or place as
  a phrase, the birth date in each form above.

Every match becomes ``[removed]``. The caller logs the key and the *kinds* found, never the
text. Hand-written patterns rather than a PII library: Presidio and scrubadub find names
with spaCy/NLTK language models that cannot be installed here (no model downloads), and
``phonenumbers`` validates against one region's numbering plan (it misses other countries'
numbers written without ``+``); for masking, recall matters more than validity, so the
patterns deliberately over-match (a ``120 80 75 60`` list is masked too).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from twinflow.imaging.identifiers import HeaderIdentifiers

MASK = "[removed]"

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")
_MONTH = rf"(?:{_MONTHS})\.?"
_MONTH_NOT_MAY = rf"(?:{_MONTHS.replace('may|', '')})\.?"  # 'may' alone is a verb too
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:\d{4}|'?\d{2})"
_SEP = r"[\s,./-]{0,3}"  # bounded: no backtracking over long runs

#: (kind, compiled pattern) of the generic detectors, in the order they are tried.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("e-mail address", r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"),
        ("date", r"(?<![\w.])\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?![\w])"),          # 1961-03-04
        ("date", r"(?<![\w.])\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})(?![\w])"),  # 04/03/1961
        # 4 Mar 1961, 4th of March 61
        ("date", rf"(?<!\w){_DAY}{_SEP}(?:of\s{{1,3}})?{_MONTH}{_SEP}{_YEAR}(?!\w)"),
        ("date", rf"(?<!\w){_MONTH}{_SEP}{_DAY},?{_SEP}{_YEAR}(?!\w)"),          # Mar 4, 1961
        ("date", rf"(?<!\w){_MONTH}{_SEP}\d{{4}}(?!\w)"),                        # March 1961
        ("date", rf"(?<!\w){_DAY}\s{{1,3}}(?:of\s{{1,3}})?{_MONTH_NOT_MAY}(?!\w)"),  # 4 March
        ("date", rf"(?<!\w){_MONTH_NOT_MAY}\s{{1,3}}{_DAY}(?!\w)"),              # March 4
        ("phone number", r"(?<![\w.])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?"
                         r"\d{2,5}(?:[\s.-]\d{2,5}){1,5}(?![\w.]\d)"),
        ("digit run", r"(?<![\w.,])[a-z]{1,6}-?\d{5,}|(?<!\d)(?<!\d[.,])\d{5,}"),  # MRN123456
        ("name after a title", r"(?<!\w)(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|herr|frau)\.?"
                               r"\s{1,3}(?-i:[A-Z][\w'-]{0,40})(?:\s{1,3}(?-i:[A-Z][\w'-]{0,40}))?"),
        ("DICOM-style name", r"(?<![\w'^-])[A-Za-z][\w'-]{0,63}\^[A-Za-z][\w'^-]{0,127}"),
    ))


@dataclass(frozen=True, slots=True)
class Masked:
    """Masked text and the kinds of identifier found (sorted, no duplicates, no text)."""

    text: str
    kinds: tuple[str, ...]


def date_forms(yyyymmdd: str) -> list[str]:
    """The written forms of a DICOM DA date that the generic patterns might not catch."""
    y, m, d = yyyymmdd[:4], yyyymmdd[4:6], yyyymmdd[6:8]
    im, iday = str(int(m)), str(int(d))
    return [yyyymmdd, f"{y}-{m}-{d}", f"{d}{m}{y}", f"{m}{d}{y}", f"{d}{m}{y[2:]}",
            f"{y[2:]}{m}{d}", *(f"{a}{s}{b}{s}{c}" for s in "./- "
                                for a, b, c in ((iday, im, y), (im, iday, y), (d, m, y),
                                                (m, d, y), (d, m, y[2:]), (m, d, y[2:])))]


def _phrase(text: str) -> re.Pattern[str]:
    """``text`` as a case-insensitive phrase: any run of spaces/punctuation between words."""
    words = [re.escape(w) for w in re.split(r"[\W_]+", text) if w]
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(words) + r"(?![^\W_])", re.IGNORECASE)


def _header_patterns(ids: HeaderIdentifiers | None) -> list[tuple[str, re.Pattern[str]]]:
    if not ids:
        return []
    out: list[tuple[str, re.Pattern[str]]] = []
    for keyword, values in sorted(ids.names.items()) + sorted(ids.texts.items()):
        for value in sorted(values, key=len, reverse=True):
            if re.search(r"[^\W_]", value):
                out.append((f"DICOM {keyword}", _phrase(value)))
    for keyword, values in sorted(ids.dates.items()):
        for value in values:
            for form in date_forms(value):
                out.append((f"DICOM {keyword}",
                            re.compile(r"(?<![\w])" + re.escape(form) + r"(?!\w)")))
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint union of ``spans`` (touching spans joined)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def mask_text(text: str, ids: HeaderIdentifiers | None = None) -> Masked:
    """``text`` with every identifier found (module docstring) replaced by :data:`MASK`.

    A kind is reported when one of its matches is not inside what earlier detectors found
    (``1961-03-04`` is a date, not also a phone number). Linear in the text's length (each
    pattern is anchored and bounded; no check is quadratic in the number of matches): a
    1 MiB description is scanned in seconds.
    """
    union: list[tuple[int, int]] = []
    kinds: set[str] = set()
    for kind, pattern in [*_header_patterns(ids), *PATTERNS]:
        found = [m.span() for m in pattern.finditer(text) if m.end() > m.start()
                 and (kind != "phone number" or sum(c.isdigit() for c in m.group()) >= 7)]
        if not found:
            continue
        starts = [s for s, _ in union]
        for start, end in found:
            i = bisect.bisect_right(starts, start) - 1
            if i < 0 or union[i][1] < end:  # not inside an earlier detector's span
                kinds.add(kind)
                break
        union = _merge(union + found)
    if not union:
        return Masked(text, ())
    pieces, last = [], 0
    for start, end in union:
        pieces.append(text[last:start] + MASK)
        last = end
    pieces.append(text[last:])
    return Masked("".join(pieces), tuple(sorted(kinds)))
