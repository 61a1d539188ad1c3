"""The patient's identifiers as the DICOM headers of a case's images state them.

A case's free text (its ``description``) is masked for the names and IDs the hospital's own
export wrote into the images it describes (:mod:`twinflow.case.privacy`); this module reads
them. Only header elements are read (pydicom ``stop_before_pixels=True`` and
``specific_tags``): no pixel decoding, so a case is validated in milliseconds, and the
values are read *before* de-identification (:mod:`twinflow.imaging.deid` empties them) and
never written anywhere: they live in memory while the case is canonicalised.

Files are judged by ``stat`` first (:func:`twinflow.io.file_kind`: regular files of at most
:data:`~twinflow.imaging.guard.MAX_FILE_BYTES` only; a FIFO is never opened); a file that is
not a readable DICOM is skipped here (ingest reports it with its one-line error).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.valuerep import PersonName

from twinflow.imaging.guard import MAX_FILE_BYTES
from twinflow.io import file_kind

log = logging.getLogger(__name__)

#: Person-name (PN) elements: each name component is an identifier.
NAME_KEYWORDS: tuple[str, ...] = (
    "PatientName", "OtherPatientNames", "PatientBirthName", "PatientMotherBirthName",
    "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName",
    "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "RequestingPhysician",
    "ResponsiblePerson",
)
#: Text elements whose whole value is an identifier (IDs, places, numbers); PS3.15 Annex E
#: Table E.1-1 removes or empties each of them.
TEXT_KEYWORDS: tuple[str, ...] = (
    "PatientID", "OtherPatientIDs", "IssuerOfPatientID", "AccessionNumber", "StudyID",
    "AdmissionID", "MedicalRecordLocator", "InstitutionName", "InstitutionAddress",
    "InstitutionalDepartmentName", "StationName", "PatientAddress",
    "PatientTelephoneNumbers", "DeviceSerialNumber",
)
#: Date elements of the patient (DA, YYYYMMDD): matched in every common written form.
DATE_KEYWORDS: tuple[str, ...] = ("PatientBirthDate",)
#: Most files of one image folder (a DICOM series) whose headers are read.
MAX_FILES_PER_FOLDER = 2000


@dataclass(slots=True)
class HeaderIdentifiers:
    """Identifier strings by the DICOM keyword they came from (never logged or written)."""

    names: dict[str, set[str]] = field(default_factory=dict)
    """Name components (family, given, middle names) of the PN elements, >= 2 characters."""
    texts: dict[str, set[str]] = field(default_factory=dict)
    """Whole values of ID and place elements, >= 3 characters."""
    dates: dict[str, set[str]] = field(default_factory=dict)
    """DA values ``YYYYMMDD``."""

    def add(self, kind: dict[str, set[str]], keyword: str, value: str) -> None:
        kind.setdefault(keyword, set()).add(value)

    def __bool__(self) -> bool:
        return bool(self.names or self.texts or self.dates)


def _values(element_value: object) -> list[object]:
    if isinstance(element_value, list | tuple | pydicom.multival.MultiValue):
        return list(element_value)
    return [element_value]


def _read_one(path: Path, found: HeaderIdentifiers) -> None:
    keywords = NAME_KEYWORDS + TEXT_KEYWORDS + DATE_KEYWORDS
    try:
        with warnings.catch_warnings():  # malformed values warn: not the user's business here
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(keywords))
            items = [(k, ds[k].value) for k in keywords if k in ds]
    except Exception:  # noqa: BLE001 - any garbage: not a DICOM, ingest reports it
        log.debug("image file %d bytes: no readable DICOM header", path.stat().st_size)
        return
    for keyword, value in items:
        for v in _values(value):
            if v is None or v == "":
                continue
            if keyword in NAME_KEYWORDS:
                pn = v if isinstance(v, PersonName) else PersonName(str(v))
                parts = [pn.family_name, pn.given_name, pn.middle_name]
                for part in parts:
                    for word in str(part).replace(",", " ").split():
                        if len(word.strip(".")) >= 2:
                            found.add(found.names, keyword, word.strip("."))
            elif keyword in DATE_KEYWORDS:
                text = str(v).strip()
                if len(text) == 8 and text.isdigit():
                    found.add(found.dates, keyword, text)
            else:
                text = " ".join(str(v).split())
                if len(text) >= 3:
                    found.add(found.texts, keyword, text)


def _is_dicom_candidate(path: Path) -> bool:
    """A ``.dcm``/``.dicom`` name, no suffix (DICOMDIR exports), or the ``DICM`` preamble."""
    if path.suffix.lower() in (".dcm", ".dicom", ""):
        return True
    try:
        with path.open("rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM"


def header_identifiers(paths: list[Path]) -> HeaderIdentifiers:
    """The identifiers in the DICOM headers of ``paths`` (files, or folders of files)."""
    found = HeaderIdentifiers()
    for path in paths:
        kind = file_kind(path)
        if kind == "folder":
            try:
                files = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            except OSError:
                continue
            files = files[:MAX_FILES_PER_FOLDER]
        elif kind == "regular file":
            files = [path]
        else:
            continue
        for f in files:
            if file_kind(f) != "regular file" or f.stat().st_size > MAX_FILE_BYTES:
                continue
            if _is_dicom_candidate(f):
                _read_one(f, found)
    return found
