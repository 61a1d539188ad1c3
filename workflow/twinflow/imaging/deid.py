"""De-identification at ingest: DICOM PS3.15 basic profile and burned-in text.

Two layers, so that no identifier reaches any output:

1. **Header** — :func:`deidentify_dataset` applies the Basic Application Level Confidentiality
   Profile of DICOM PS3.15 Annex E (Table E.1-1) to a pydicom dataset right after it is read:
   identifying attributes are removed (action X), emptied (Z) or given a dummy value (D), UIDs
   are replaced by deterministic hashes (U), private tags, curves and overlays are removed,
   and ``PatientIdentityRemoved = YES`` / ``DeidentificationMethod`` are set (PS3.15 E.1.1).
   The table below lists the attributes of Table E.1-1 that occur in the modalities twinflow
   reads (US, CT, MR); it is data, written out here rather than pulling in a de-identification
   package (``deid``, ``dicognito``) for some sixty lines, and it is backed by layer 2.
2. **Whitelist** — nothing is ever copied from a DICOM header to an output except the
   whitelisted, non-identifying values of :data:`SAFE_KEYWORDS` (modality, spacing, frame
   time); images are rebuilt from their pixel arrays, so no metadata dictionary travels with
   them (SimpleITK would otherwise write DICOM tags into ``.mha`` / ``.nrrd`` headers).

Burned-in text (names, dates on the screen) is blanked with :func:`blank_boxes` in the pixel
boxes the case marks (``burned_in_text: [[x0, y0, x1, y1], ...]``, half-open, x = column),
and at ingest also wherever :mod:`twinflow.imaging.textdetect` finds text outside the imaged
area of a 2D image or cine (:func:`twinflow.imaging.read.read_image`, ``detect_text``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset

#: Profile name written to sidecars (DICOM PS3.15 2024b, Annex E, Table E.1-1).
PROFILE = "DICOM PS3.15 Annex E basic application level confidentiality profile"

#: Attributes removed (action X, or X/Z/D treated as X where the attribute is type 3).
REMOVE: tuple[str, ...] = (
    "AccessionNumber", "AdmittingDiagnosesDescription", "AdditionalPatientHistory",
    "AdmissionID", "Allergies", "CountryOfResidence", "CurrentPatientLocation",
    "DerivationDescription", "EthnicGroup", "ImageComments", "InstitutionAddress",
    "InstitutionName", "InstitutionalDepartmentName", "MedicalRecordLocator",
    "MilitaryRank", "NameOfPhysiciansReadingStudy", "Occupation", "OperatorsName",
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames",
    "PatientAddress", "PatientAge", "PatientBirthName", "PatientBirthTime",
    "PatientComments", "PatientMotherBirthName", "PatientReligiousPreference",
    "PatientSize", "PatientTelephoneNumbers", "PatientWeight", "PatientInsurancePlanCodeSequence",
    "PerformedProcedureStepID", "PerformedProcedureStepDescription",
    "PerformingPhysicianName", "PhysiciansOfRecord", "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers", "RequestingPhysician", "RequestAttributesSequence",
    "ResponsiblePerson", "ResponsibleOrganization", "ScheduledProcedureStepID",
    "StationName", "DeviceSerialNumber", "ProtocolName", "StudyDescription",
    "SeriesDescription", "RequestedProcedureDescription", "ReasonForStudy",
    "MedicalAlerts", "SmokingStatus", "PregnancyStatus", "LastMenstrualDate",
    "BranchOfService", "PatientState", "VisitComments", "AdmittingDate", "AdmittingTime",
    "InstanceCreatorUID", "TextComments", "TextString", "Overlays", "AcquisitionComments",
    "PatientSex", "PatientSexNeutered", "IssuerOfPatientID",
)

#: Attributes kept but emptied (action Z: type 2, must be present).
EMPTY: tuple[str, ...] = (
    "PatientName", "PatientID", "PatientBirthDate", "ReferringPhysicianName", "StudyID",
    "StudyDate", "StudyTime", "AccessionNumber", "ContentCreatorName",
)

#: Dates and times replaced by a dummy value (action D, PS3.15 allows any valid value).
DUMMY_DATES: tuple[str, ...] = ("SeriesDate", "AcquisitionDate", "ContentDate",
                                "InstanceCreationDate", "PerformedProcedureStepStartDate")
DUMMY_TIMES: tuple[str, ...] = ("SeriesTime", "AcquisitionTime", "ContentTime",
                                "InstanceCreationTime", "PerformedProcedureStepStartTime")

#: UIDs replaced (action U) by a deterministic hash of the original.
UIDS: tuple[str, ...] = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                         "FrameOfReferenceUID", "SynchronizationFrameOfReferenceUID",
                         "MediaStorageSOPInstanceUID", "ReferencedSOPInstanceUID",
                         "IrradiationEventUID")

#: The only header values that may reach an output (sidecar JSON), none identifying.
SAFE_KEYWORDS: frozenset[str] = frozenset({
    "Modality", "PhotometricInterpretation", "NumberOfFrames", "Rows", "Columns",
    "FrameTime", "FrameTimeVector", "PixelSpacing", "ImagerPixelSpacing", "SliceThickness",
    "BurnedInAnnotation",
})


def _hashed_uid(uid: str) -> str:
    """A new UID ``2.25.<int>`` derived from ``uid`` (PS3.5 Annex B.2, UUID-derived root)."""
    digest = hashlib.sha256(("twinflow-deid:" + str(uid)).encode()).digest()[:16]
    return "2.25." + str(int.from_bytes(digest, "big"))


def deidentify_dataset(ds: Dataset) -> Dataset:
    """Apply the basic profile to ``ds`` in place (see module docstring) and return it."""
    ds.remove_private_tags()
    for keyword in REMOVE:
        if keyword in ds and keyword not in EMPTY:
            delattr(ds, keyword)
    for keyword in EMPTY:
        if keyword in ds:
            ds[keyword].value = ""
    for keyword in DUMMY_DATES:
        if keyword in ds:
            ds[keyword].value = "19000101"
    for keyword in DUMMY_TIMES:
        if keyword in ds:
            ds[keyword].value = "000000"
    for keyword in UIDS:
        if keyword in ds and ds[keyword].value:
            ds[keyword].value = _hashed_uid(ds[keyword].value)
    if hasattr(ds, "file_meta") and "MediaStorageSOPInstanceUID" in ds.file_meta:
        ds.file_meta.MediaStorageSOPInstanceUID = _hashed_uid(
            ds.file_meta.MediaStorageSOPInstanceUID)
    # curves (50xx) and overlays (60xx) may carry annotations (PS3.15 E.1-1: X)
    for tag in [t for t in ds.keys() if (t.group & 0xFF00) in (0x5000, 0x6000)]:
        del ds[tag]
    # sequences may nest identifiers (e.g. referenced patient): recurse
    for element in ds.iterall():
        if element.VR == "SQ":
            for item in element.value:
                deidentify_dataset(item)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "DICOM PS3.15 E.1 basic profile (twinflow)"
    return ds


def safe_header(ds: Dataset) -> dict[str, object]:
    """The whitelisted header values of ``ds`` as plain Python values."""
    out: dict[str, object] = {}
    for keyword in sorted(SAFE_KEYWORDS):
        if keyword in ds and ds[keyword].value not in (None, ""):
            value = ds[keyword].value
            if isinstance(value, pydicom.multival.MultiValue | list | tuple):
                out[keyword] = [float(v) if isinstance(v, int | float) or _is_number(v)
                                else str(v) for v in value]
            elif _is_number(value):
                out[keyword] = float(value)
            else:
                out[keyword] = str(value)
    return out


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def blank_boxes(array: np.ndarray, boxes: Iterable[Sequence[int]],
                source: str = "image") -> tuple[np.ndarray, int]:
    """Set the pixels of each ``[x0, y0, x1, y1]`` box (half-open, x = column) to 0.

    Works on ``(rows, cols)``, ``(rows, cols, channels)`` and frame stacks
    ``(frames, rows, cols[, channels])``; a last axis of length 3 or 4 is colour.
    Boxes are clipped to the image. Returns a blanked copy and the number of boxes applied.
    """
    from twinflow.errors import InputError

    out = np.array(array, copy=True)
    # find the (rows, cols) axes: last two of a grey stack, or the two before channels
    colour = out.ndim >= 3 and out.shape[-1] in (3, 4) and out.shape[-2] > 4
    row_axis = out.ndim - (3 if colour else 2)
    rows, cols = out.shape[row_axis], out.shape[row_axis + 1]
    n = 0
    for box in boxes:
        if len(box) != 4:
            raise InputError(f"{source}: burned_in_text box {list(box)} needs 4 numbers "
                             "[x0, y0, x1, y1]")
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        if x1 <= x0 or y1 <= y0:
            raise InputError(f"{source}: burned_in_text box {list(box)} is empty "
                             "(need x1 > x0 and y1 > y0)")
        x0, x1 = max(0, x0), min(cols, x1)
        y0, y1 = max(0, y0), min(rows, y1)
        if x1 <= x0 or y1 <= y0:
            continue
        index: list[slice] = [slice(None)] * out.ndim
        index[row_axis] = slice(y0, y1)
        index[row_axis + 1] = slice(x0, x1)
        out[tuple(index)] = 0
        n += 1
    return out, n
