"""Ingest one case's images: read, de-identify, window, normalise, write NIfTI + sidecars.

``ingest(settings, manifest)`` reads the stage's settings (``images`` and ``preprocessing``
of the case, ``results/<id>/settings/ingest.json``) and writes, for image entry ``i``:

* ``<ii>-<view>[-<phase>].nii.gz`` — float32 grey, the static window of
  :mod:`twinflow.imaging.preprocess` for 2D views (``(frames, rows, cols)`` for a cine when no
  ``frame`` is chosen), the whole volume for ``view: volume``; spacing and origin in mm
  (ITK/NIfTI convention), direction kept;
* ``<ii>-<view>[-<phase>].json`` — the sidecar: modality, view, phase, kind,
  ``spacing_m`` (ITK order x, y[, z]), frame times in s, window, normalisation and what
  de-identification did;
* ``manifest`` (``images/manifest.json``, :class:`~twinflow.artifacts.images.ImagesManifest`)
  — the list of both, written last.

All images are read and checked, and every output path too (a FIFO, device or folder where
a file goes is refused, :func:`twinflow.io.check_output_path`), before the first file is
written, so a bad image or output path leaves no partial output. Each file is written to a
temporary name beside its target and renamed; the same inputs give byte-identical files.

Burned-in text is blanked in the boxes the case declares (``burned_in_text``) and, in 2D
images and cines, wherever :mod:`twinflow.imaging.textdetect` finds text outside the imaged
area; the sidecar and the manifest count both.

No identifier is written anywhere: images are rebuilt from pixel arrays, sidecars hold
whitelisted values only (:mod:`twinflow.imaging.deid`), the source is named by its SHA-256
(not its path, which may contain a name), and log lines carry neither paths nor header
values.

Run as ``twinflow ingest --settings SETTINGS --images FILE... --out MANIFEST`` (rule
``ingest``; the canonical settings name each image by its SHA-256, not by its path, and the
workflow passes hash-named links, ``.snakemake/twinflow/sources/<sha256><suffix>``, so no
source path reaches Snakemake's log: :mod:`twinflow.imaging.aliases`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import SimpleITK as sitk

from twinflow.artifacts.images import ImageEntry, ImagesManifest
from twinflow.errors import InputError
from twinflow.imaging.deid import PROFILE
from twinflow.imaging.guard import check_image_path
from twinflow.imaging.preprocess import DEFAULT_WINDOW, choose_window, normalise
from twinflow.imaging.read import MedicalImage, read_image
from twinflow.io import atomic_path, check_output_path, read_json, sha256_path, write_json_atomic
from twinflow.logs import progress
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

#: Named in the sidecar of each 2D image or cine: burned-in text outside the declared boxes
#: is found and blanked by :mod:`twinflow.imaging.textdetect` (volumes are not screens).
TEXT_DETECTION = "twinflow.imaging.textdetect: bright text lines outside the field of view"

MODALITIES: tuple[str, ...] = ("ultrasound", "echo", "ct", "mr")
VIEWS: tuple[str, ...] = ("transversal-cca", "transversal-ica", "longitudinal", "apical-4ch",
                          "apical-2ch", "volume")
PHASES: tuple[str | None, ...] = ("end-diastole", "end-systole", None)
#: DICOM Modality values compatible with each case modality.
_DICOM_MODALITY: dict[str, tuple[str, ...]] = {
    "ultrasound": ("US",), "echo": ("US",), "ct": ("CT",), "mr": ("MR",)}


@dataclass(slots=True)
class IngestedImage:
    """One processed image, ready to write."""

    stem: str
    image: sitk.Image
    sidecar: dict[str, Any]


def _check_entry(entry: dict[str, Any], i: int, case: str) -> None:
    where = f"{case}: images[{i}]"
    if not isinstance(entry, dict) or not entry.get("path"):
        raise InputError(f"{where}: no image file (pass the case's images with --images)")
    if entry.get("modality") not in MODALITIES:
        raise InputError(f"{where}: modality {entry.get('modality')!r} is not one of "
                         f"{', '.join(MODALITIES)}")
    if entry.get("view") not in VIEWS:
        raise InputError(f"{where}: view {entry.get('view')!r} is not one of {', '.join(VIEWS)}")
    if entry.get("phase") not in PHASES:
        raise InputError(f"{where}: phase {entry.get('phase')!r} is not end-diastole, "
                         "end-systole or null")


def process_image(entry: dict[str, Any], index: int, root: Path,
                  preprocessing: dict[str, Any]) -> IngestedImage:
    """Read and pre-process one case image entry (see module docstring)."""
    path = Path(entry["path"])
    path = path if path.is_absolute() else root / path
    boxes = entry.get("burned_in_text") or []
    image = read_image(path, pixel_spacing_m=entry.get("pixel_spacing"),
                       frame=entry.get("frame"), burned_in_boxes=boxes, detect_text=True)
    modality, view, phase = entry["modality"], entry["view"], entry.get("phase")
    if image.modality and image.modality not in _DICOM_MODALITY[modality]:
        raise InputError(f"{path}: DICOM modality {image.modality} does not match the case "
                         f"modality {modality!r}")
    if (view == "volume") != (image.kind == "volume"):
        rule = "3D volumes need" if image.kind == "volume" else "only 3D volumes are"
        raise InputError(f"{path}: a {image.kind} image cannot be view {view!r} "
                         f"({rule} view 'volume')")
    method = str(preprocessing.get("normalisation", "percentile"))
    window_info: dict[str, Any] | None = None
    if image.kind == "volume":
        array = normalise(image.array, method)
        origin, spacing = image.origin_m, image.spacing_m
    else:
        first = image.array if image.kind == "2d" else image.array[0]
        window, box = choose_window(first, preprocessing.get("window", DEFAULT_WINDOW),
                                    preprocessing.get("window_origin"))
        array = window.cut(normalise(image.array, method, region=box))
        sx, sy = image.spacing_m[:2]
        origin = (image.origin_m[0] + window.col0 * sx, image.origin_m[1] + window.row0 * sy) \
            + tuple(image.origin_m[2:])
        spacing = image.spacing_m
        window_info = {"row0": window.row0, "col0": window.col0, "rows": window.rows,
                       "cols": window.cols, "content_box": list(box)}
    out = MedicalImage(array, image.kind, spacing, origin, image.direction,
                       image.source_format, image.spacing_source)
    stem = f"{index:02d}-{view}" + (f"-{phase}" if phase else "")
    sidecar = {
        "modality": modality,
        "view": view,
        "phase": phase,
        "kind": image.kind,
        "shape": list(array.shape),
        "spacing_m": list(spacing),
        "origin_m": list(origin),
        "direction": list(image.direction),
        "frame": entry.get("frame"),
        "frame_times_s": image.frame_times_s,
        "window": window_info,
        "normalisation": method,
        "intensity": "float32, normalised" if method != "none" else "float32, as read",
        "file_units": "NIfTI spacing and origin in mm (ITK convention); JSON values SI",
        "source": {"index": index, "format": image.source_format, "sha256": sha256_path(path),
                   "spacing_source": image.spacing_source, "colour": image.was_colour,
                   "overlay_pixels_replaced": image.overlay_pixels,
                   "dicom": image.header},
        "deidentification": {"profile": PROFILE,
                             "declared_boxes_blanked": image.declared_boxes_blanked,
                             "detected_text_boxes_blanked": image.detected_text_boxes_blanked,
                             "text_detection": TEXT_DETECTION if image.kind != "volume"
                             else None,
                             "dicom_burned_in_annotation": image.burned_in_annotation},
    }
    if image.detected_text_boxes_blanked:
        log.info("image %d: %d burned-in text box(es) found outside the declared ones and "
                 "blanked", index, image.detected_text_boxes_blanked)
    if image.burned_in_annotation and not boxes and not image.detected_text_boxes_blanked:
        log.warning("image %d: DICOM flags burned-in annotation but the case marks no "
                    "burned_in_text boxes and none was found outside the field of view (text "
                    "over the image is not detected)", index)
    return IngestedImage(stem, out.to_sitk(), sidecar)


def attach_images(entries: list[dict[str, Any]], images: Sequence[str | Path],
                  settings: Path) -> list[dict[str, Any]]:
    """The settings' image entries with ``path`` set to the files given on the command line,
    each checked against the entry's SHA-256 (the canonical case names images by hash)."""
    if len(images) != len(entries):
        raise InputError(f"{settings}: the case lists {len(entries)} image(s), --images gives "
                         f"{len(images)}")
    out = []
    for i, (entry, path) in enumerate(zip(entries, images, strict=True)):
        if not Path(path).exists() and not Path(path).is_symlink():
            raise InputError(f"{path}: image file not found (images[{i}] of the case)")
        check_image_path(Path(path))  # before hashing: a FIFO is never opened
        digest = sha256_path(path)
        if entry.get("sha256") and entry["sha256"] != digest:
            raise InputError(f"{path}: SHA-256 {digest[:12]}... does not match images[{i}] of "
                             f"the case ({entry['sha256'][:12]}..., {settings})")
        out.append({**entry, "path": str(path)})
    return out


def ingest(settings: Path, manifest: Path, root: Path | None = None,
           images: Sequence[str | Path] | None = None) -> Path:
    """Ingest every image of a case (stage ``ingest``); returns the manifest path.

    ``settings`` is the stage's settings file (``images`` and ``preprocessing`` of the
    case, :mod:`twinflow.stages`); images and sidecars are written beside ``manifest``.
    ``images`` are the image files in the order of the case (the workflow passes them: the
    canonical settings name each image by its SHA-256, which must match); without them, the
    entries' own ``path`` (hand-written settings) is used, relative to ``root`` (default:
    the working directory, the project root where Snakemake runs).
    """
    manifest = check_output_path(manifest)
    out_dir = manifest.parent
    root = Path.cwd() if root is None else Path(root)
    case = read_stage_settings(settings, "ingest")
    entries = case["images"]
    if not entries:
        raise InputError(f"{settings}: case lists no images")
    if images is not None:
        entries = attach_images(entries, images, Path(settings))
    else:  # hand-written settings may name the files (the canonical form never does)
        raw = read_json(settings, "settings file")["images"]
        entries = [{**e, "path": r.get("path")} for e, r in zip(entries, raw, strict=True)]
    for i, entry in enumerate(entries):
        _check_entry(entry, i, str(settings))
    processed = [process_image(e, i, root, case["preprocessing"])
                 for i, e in enumerate(entries)]
    for item in processed:
        for suffix in (".nii.gz", ".json"):
            check_output_path(out_dir / f"{item.stem}{suffix}")
    listing = []
    for item in progress(processed, "write images", unit="image", logger=log):
        image_path = out_dir / f"{item.stem}.nii.gz"
        with atomic_path(image_path) as tmp:
            sitk.WriteImage(item.image, str(tmp), useCompression=True)
        sidecar_path = write_json_atomic(out_dir / f"{item.stem}.json", item.sidecar)
        deid = item.sidecar["deidentification"]
        listing.append(ImageEntry(image=image_path.name, sidecar=sidecar_path.name,
                                  modality=item.sidecar["modality"],
                                  view=item.sidecar["view"], phase=item.sidecar["phase"],
                                  kind=item.sidecar["kind"],
                                  declared_boxes_blanked=deid["declared_boxes_blanked"],
                                  detected_text_boxes_blanked=deid[
                                      "detected_text_boxes_blanked"]))
        log.info("image %s: %s %s written", item.sidecar["source"]["index"],
                 item.sidecar["view"], item.sidecar["kind"])
    return ImagesManifest(images=listing, deidentification=PROFILE).write(manifest)
