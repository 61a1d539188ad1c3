"""Identifiers in a case's free text are masked before anything is written (issue 19, item 3).

The scanner (:mod:`twinflow.case.privacy`) on the written forms of dates, numbers, e-mail,
phone numbers and titled names; the names and IDs of the case's own DICOM headers
(:mod:`twinflow.imaging.identifiers`); and the whole path: ``twinflow canonical`` writes the
masked text and logs the key and the kinds, never the identifier.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.imaging.test_read_ingest import write_us_dicom
from twinflow.case.load import load_case, to_canonical
from twinflow.case.privacy import MASK, mask_text
from twinflow.errors import CaseError
from twinflow.imaging.identifiers import header_identifiers

ROOT = Path(__file__).resolve().parents[2]

DATES = ["1961-03-04", "1961/3/4", "04/03/1961", "4.3.1961", "04-03-61", "4 March 1961",
         "4th of Mar. 1961", "March 4, 1961", "Mar 4th 1961", "March 1961", "4 March",
         "04-Mar-1961", "4 MARCH 1961"]


@pytest.mark.parametrize("date", DATES)
def test_dates_in_every_common_form_are_masked(date: str) -> None:
    masked = mask_text(f"Seen on {date} for a check-up.")
    assert masked.text == f"Seen on {MASK} for a check-up.", masked.text
    assert masked.kinds == ("date",)


@pytest.mark.parametrize(("text", "kind"), [
    ("MRN 12345678 on file", "digit run"),
    ("born 19610304", "digit run"),
    ("write to john.doe@example.org today", "e-mail address"),
    ("phone +44 20 7946 0958 anytime", "phone number"),
    ("phone (555) 123-4567 anytime", "phone number"),
    ("SSN 123-45-6789", "phone number"),
    ("referred by Dr. Smith", "name after a title"),
    ("patient DOE^JOHN from the export", "DICOM-style name"),
])
def test_numbers_addresses_and_names_are_masked(text: str, kind: str) -> None:
    masked = mask_text(text)
    assert kind in masked.kinds and MASK in masked.text
    for word in ("12345678", "19610304", "john.doe", "7946", "4567", "6789", "Smith", "DOE"):
        assert word not in masked.text


@pytest.mark.parametrize("text", [
    "Hypertensive patient with LV hypertrophy; baseline vs 8 months of Entresto.",
    "EF 0.55, BP 138/84 mmHg, 3.14159 rad, 3.5 mPa*s, 75 bpm, 97 mg twice a day, 2019",
    "it may be 2 May be given",  # 'may' alone is a verb, not a month
    "reference endo/epi apex z -26.612/-28.279 mm, 10 x 1 x 1 mm, (10, 0.5, 1)",
])
def test_clinical_text_without_identifiers_is_left_alone(text: str) -> None:
    assert mask_text(text).text == text


def test_shipped_cases_have_nothing_to_mask() -> None:
    for case in sorted((ROOT / "cases").rglob("*.yaml")):
        description = yaml.safe_load(case.read_text()).get("description", "")
        assert mask_text(description).kinds == (), case


def dicom_case(tmp: Path, description: str, scenario: str = "baseline") -> Path:
    """An LV case with one identifying echo DICOM in a folder named after the patient."""
    folder = tmp / "cases" / "data" / "DOE^JOHN_MRN12345678"
    folder.mkdir(parents=True)
    write_us_dicom(folder / "DOE_JOHN_19610304.dcm",
                   np.random.default_rng(0).integers(0, 255, (64, 64)),
                   PatientName="Doe^John^Quentin", PatientID="MRN12345678",
                   OtherPatientIDs="HX-99881", PatientBirthDate="19610304",
                   InstitutionName="Saint Elsewhere Hospital")
    case = tmp / "cases" / "patient.yaml"
    case.write_text(
        "anatomy: left-ventricle\n"
        f"description: {json.dumps(description)}\n"
        "images:\n"
        "  - {path: data/DOE^JOHN_MRN12345678/DOE_JOHN_19610304.dcm, modality: echo,\n"
        "     view: apical-4ch, phase: end-diastole}\n"
        f"scenarios: [{{id: {scenario}}}]\n")
    return case


def test_header_identifiers_are_read_before_deidentification(tmp_path: Path) -> None:
    case = dicom_case(tmp_path, "")
    ids = header_identifiers([case.parent / "data" / "DOE^JOHN_MRN12345678"])
    assert ids.names["PatientName"] == {"Doe", "John", "Quentin"}
    assert ids.texts["PatientID"] == {"MRN12345678"}
    assert ids.texts["OtherPatientIDs"] == {"HX-99881"}
    assert ids.texts["InstitutionName"] == {"Saint Elsewhere Hospital"}
    assert ids.dates["PatientBirthDate"] == {"19610304"}


def test_description_masked_with_the_dicom_names_and_a_warning_without_them(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = ("quentin doe (hx-99881), seen at Saint-Elsewhere hospital; birth 04.03.1961; "
            "follow-up in 8 months")
    case = dicom_case(tmp_path, text)
    with caplog.at_level(logging.WARNING):
        loaded = load_case(case, root=tmp_path)
    assert loaded.root.description == (f"{MASK} {MASK} ({MASK}), seen at {MASK}; "
                                       f"birth {MASK}; follow-up in 8 months")
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"{case}:2:14: description: identifiers masked")
    assert all(f"DICOM {k}" in line for k in ("PatientName", "OtherPatientIDs",
                                                "InstitutionName", "PatientBirthDate"))
    canonical = json.dumps(to_canonical(loaded)).lower()
    for needle in ("quentin", "doe", "99881", "elsewhere", "1961"):
        assert needle not in canonical and needle not in line.lower()


def test_scenario_id_with_an_identifier_is_an_error(tmp_path: Path) -> None:
    case = dicom_case(tmp_path, "", scenario="doe-19610304")
    with pytest.raises(CaseError) as err:
        load_case(case, root=tmp_path)
    assert "scenarios[0].id: looks like an identifier" in str(err.value)
    assert "19610304" not in str(err.value).replace(str(case), "")


def test_canonical_cli_writes_masked_text_and_warns_by_kind(tmp_path: Path) -> None:
    case = dicom_case(tmp_path, "John Doe, MRN12345678, born 4 March 1961")
    out = tmp_path / "case.json"
    proc = subprocess.run([sys.executable, "-m", "twinflow", "canonical", str(case), "-o",
                           str(out)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes().lower()
    for needle in (b"john", b"doe", b"12345678", b"1961", b"march"):
        assert needle not in data and needle.decode() not in proc.stderr.lower()
    assert json.loads(out.read_text())["description"] == f"{MASK} {MASK}, {MASK}, born {MASK}"
    assert "description: identifiers masked" in proc.stderr


@pytest.mark.parametrize("unit", ["a", "a.", "1-", "Mr ", "a^", "1 ,", "March ", "(1) ",
                                  "x@", "Dr Ab "])
def test_scanning_is_linear_in_the_length_of_hostile_text(unit: str) -> None:
    """Repeated fragments that make naive patterns backtrack (quadratic or worse): 200 kB
    of each is scanned in well under the 10 s a hostile input may take."""
    text = unit * (200_000 // len(unit))
    t0 = time.perf_counter()
    mask_text(text)
    assert time.perf_counter() - t0 < 3
