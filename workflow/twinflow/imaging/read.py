"""Reading medical images with their physical geometry.

Supported inputs (format chosen from the file, not only from its name):

* DICOM: a single file (single- or multi-frame; ultrasound cine, CT/MR slice or enhanced
  multi-frame) or a folder holding one series. Pixels come from SimpleITK (GDCM decodes the
  JPEG / RLE transfer syntaxes); pydicom reads the header (it knows the ultrasound region
  calibration, ``SequenceOfUltrasoundRegions``, that GDCM ignores) and is the pixel fallback.
  The header is de-identified (:func:`twinflow.imaging.deid.deidentify_dataset`) right
  after reading and only whitelisted values are kept.
* NIfTI / MetaImage / NRRD (any format SimpleITK reads): spacing and direction from the header.
* PNG / JPEG / BMP / TIFF frames (a file, or a folder of frames = a cine): there is no
  spacing in such files, so the case must give ``pixel_spacing`` ([row_m, col_m]).

Colour (RGB screenshots, YBR ultrasound) becomes grey by the ITU-R BT.601 luma
``Y = 0.299 R + 0.587 G + 0.114 B``. A tinted grey scale (sepia, blue) is one curve in colour
space, the image's own: per luma bin (32 bins) the median chroma vector
:math:`(R - Y, B - Y)` of the frame is its reference colour. Colour *overlays* (Doppler,
calipers, coloured text, ECG traces) are the pixels whose chroma lies more than 40/255 from
the reference of their bin; they are replaced by the nearest non-overlay pixel
(``scipy.ndimage.distance_transform_edt`` with ``return_indices``) so that they neither look
like tissue nor leave holes.

Spacing is kept in SI metres (:attr:`MedicalImage.spacing_m`, ITK axis order x = column,
y = row, z = slice/frame). A ``pixel_spacing`` given in the case overrides the file. Every
problem a user can cause (missing, corrupt, no pixel data, no spacing, frames of different
sizes) is an :class:`~twinflow.errors.InputError` with one line naming the file. Hostile
files (FIFOs, symlink loops, decompression bombs, truncated DICOM pixel data, compressed data
without a decoder) are refused before decoding by :mod:`twinflow.imaging.guard`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.errors import InvalidDicomError
from scipy import ndimage

from twinflow.errors import InputError
from twinflow.imaging.deid import deidentify_dataset, safe_header
from twinflow.imaging.guard import (
    MAX_FRAME_PIXELS,
    check_dicom_pixel_data,
    check_image_path,
    check_pixel_count,
    quiet_decoders,
    undecodable,
)

log = logging.getLogger(__name__)
sitk.ProcessObject.SetGlobalWarningDisplay(False)  # ITK warnings would bypass one-line errors

#: Raster formats that carry no physical spacing.
RASTER_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
#: Formats with geometry in their header, read by SimpleITK.
VOLUME_SUFFIXES: tuple[str, ...] = (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr")

#: Overlay detection (module docstring): luma bins, least pixels for a bin's reference colour,
#: and the chroma distance from it above which a pixel is an overlay.
OVERLAY_BINS = 32
OVERLAY_MIN_COUNT = 64
OVERLAY_CHROMA = 40.0 / 255.0

#: DICOM ultrasound region unit codes (PS3.3 C.8.5.5.1.15): 3 = cm, 4 = s, ...
_US_UNIT_CM = 3


@dataclass(slots=True)
class MedicalImage:
    """A de-identified grey image with its geometry.

    ``array`` is float32: ``(rows, cols)`` for ``kind == "2d"``, ``(frames, rows, cols)`` for
    ``"cine"``, ``(slices, rows, cols)`` for ``"volume"``. ``spacing_m``, ``origin_m`` and
    ``direction`` follow ITK order (x = column first). ``header`` holds whitelisted
    non-identifying DICOM values only.
    """

    array: np.ndarray
    kind: str
    spacing_m: tuple[float, ...]
    origin_m: tuple[float, ...]
    direction: tuple[float, ...]
    source_format: str
    spacing_source: str
    frame_times_s: list[float] | None = None
    overlay_pixels: int = 0
    was_colour: bool = False
    modality: str | None = None
    burned_in_annotation: bool | None = None
    header: dict[str, object] = field(default_factory=dict)
    #: burned-in text blanked: boxes the case declared, boxes found by text detection
    declared_boxes_blanked: int = 0
    detected_text_boxes_blanked: int = 0

    def to_sitk(self) -> sitk.Image:
        """The image as SimpleITK (spacing and origin in mm, the ITK/NIfTI convention)."""
        image = sitk.GetImageFromArray(self.array.astype(np.float32, copy=False))
        image.SetSpacing([s * 1e3 for s in self.spacing_m])
        image.SetOrigin([o * 1e3 for o in self.origin_m])
        image.SetDirection(self.direction)
        return image


def _overlay_mask(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Pixels off the image's own colour curve (module docstring), one 2D frame."""
    y = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / scale
    cr, cb = rgb[..., 0] / scale - y, rgb[..., 2] / scale - y
    bins = np.clip((y * OVERLAY_BINS).astype(int), 0, OVERLAY_BINS - 1)
    count = np.bincount(bins.ravel(), minlength=OVERLAY_BINS)
    ref_r = np.zeros(OVERLAY_BINS)
    ref_b = np.zeros(OVERLAY_BINS)
    order = np.argsort(bins.ravel(), kind="stable")
    starts = np.concatenate([[0], np.cumsum(count)])
    flat_r, flat_b = cr.ravel()[order], cb.ravel()[order]
    good = count >= OVERLAY_MIN_COUNT
    for k in np.flatnonzero(good):
        ref_r[k] = np.median(flat_r[starts[k]:starts[k + 1]])
        ref_b[k] = np.median(flat_b[starts[k]:starts[k + 1]])
    if good.any() and not good.all():
        idx = np.arange(OVERLAY_BINS)
        ref_r = np.interp(idx, idx[good], ref_r[good])
        ref_b = np.interp(idx, idx[good], ref_b[good])
    return np.hypot(cr - ref_r[bins], cb - ref_b[bins]) > OVERLAY_CHROMA


def rgb_to_grey(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """Grey float32 (same scale as input) from ``(..., 3|4)`` colour, overlays replaced.

    Works per 2D frame; returns the grey array and the number of overlay pixels replaced.
    """
    rgb = np.asarray(rgb, dtype=np.float32)[..., :3]
    scale = 255.0 if rgb.max(initial=0.0) > 1.0 else 1.0
    grey = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])
    frames = grey.reshape((-1,) + grey.shape[-2:]).copy()
    colour = rgb.reshape((-1,) + rgb.shape[-3:])
    n = 0
    for k in range(frames.shape[0]):
        mask = _overlay_mask(colour[k], scale)
        if mask.any() and not mask.all():
            n += int(mask.sum())
            _, (ri, ci) = ndimage.distance_transform_edt(mask, return_indices=True)
            frames[k] = frames[k][ri, ci]
    return frames.reshape(grey.shape), n


@dataclass(frozen=True, slots=True)
class Blanking:
    """What :func:`_blank` did: boxes declared by the case and blanked, text boxes found."""

    declared: int = 0
    detected: int = 0


def _blank(arr: np.ndarray, boxes: Sequence[Sequence[int]], source: str, colour: bool,
           detect: bool) -> tuple[np.ndarray, Blanking]:
    """Blank the declared boxes, then (``detect``) the text found outside the field of view
    (:mod:`twinflow.imaging.textdetect`), on the pixels as read (colour included)."""
    from twinflow.imaging.deid import blank_boxes
    from twinflow.imaging.textdetect import blank_text

    arr, declared = blank_boxes(arr, boxes, source)
    detected = 0
    if detect:
        arr, detected = blank_text(arr, colour)
    return arr, Blanking(declared, detected)


def _is_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _spacing_from_case(pixel_spacing_m: Sequence[float] | None, source: str
                       ) -> tuple[float, float] | None:
    if pixel_spacing_m is None:
        return None
    if len(pixel_spacing_m) != 2 or not all(float(v) > 0 for v in pixel_spacing_m):
        raise InputError(f"{source}: pixel_spacing must be two positive numbers [row_m, col_m], "
                         f"got {list(pixel_spacing_m)}")
    row, col = (float(v) for v in pixel_spacing_m)
    if row > 0.01 or col > 0.01:
        raise InputError(f"{source}: pixel_spacing {row}, {col} m is over 1 cm per pixel; "
                         "spacing is in metres (e.g. 1e-4 for 0.1 mm)")
    return row, col


def read_image(path: str | Path, *, pixel_spacing_m: Sequence[float] | None = None,
               frame: int | None = None, burned_in_boxes: Sequence[Sequence[int]] = (),
               detect_text: bool = False) -> MedicalImage:
    """Read ``path`` (file or folder) into a de-identified grey :class:`MedicalImage`.

    ``pixel_spacing_m`` ([row, col] in m) overrides or supplies the in-plane spacing;
    ``frame`` picks one frame of a cine; ``burned_in_boxes`` are blanked before anything
    else happens to the pixels (:func:`twinflow.imaging.deid.blank_boxes`), and with
    ``detect_text`` (ingest sets it) the text found outside the field of view of a 2D image
    or cine too (:mod:`twinflow.imaging.textdetect`; volumes are not screens and are left
    alone). Off by default: label maps and already ingested images are read here as well.
    """
    path = Path(path)
    source = str(path)
    check_image_path(path)  # stat only: a FIFO or device is never opened
    case_spacing = _spacing_from_case(pixel_spacing_m, source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise InputError(f"{source}: folder holds no image files")
        if all(p.suffix.lower() in RASTER_SUFFIXES for p in files):
            image = _read_raster(files, source, case_spacing, burned_in_boxes, detect_text)
        else:
            image = _read_dicom_series(path, files, case_spacing, burned_in_boxes)
    elif _is_dicom(path) or path.suffix.lower() in (".dcm", ".dicom"):
        image = _read_dicom_file(path, case_spacing, burned_in_boxes, detect_text)
    elif path.suffix.lower() in RASTER_SUFFIXES:
        image = _read_raster([path], source, case_spacing, burned_in_boxes, detect_text)
    elif any(path.name.lower().endswith(s) for s in VOLUME_SUFFIXES):
        image = _read_itk(path, case_spacing, burned_in_boxes, detect_text)
    else:
        raise InputError(f"{source}: unknown image format (expected DICOM, NIfTI, MHA, NRRD, "
                         "PNG or JPEG)")
    if frame is not None:
        image = _pick_frame(image, frame, source)
    if not np.all(np.isfinite(image.array)):
        raise InputError(f"{source}: image holds NaN or infinite values")
    return image


def _pick_frame(image: MedicalImage, frame: int, source: str) -> MedicalImage:
    if image.kind == "2d":
        if frame != 0:
            raise InputError(f"{source}: frame {frame} requested but the image has one frame")
        return image
    if image.kind != "cine":
        raise InputError(f"{source}: frame {frame} requested but the image is a volume")
    n = image.array.shape[0]
    if not 0 <= frame < n:
        raise InputError(f"{source}: frame {frame} out of range (image has {n} frames)")
    times = image.frame_times_s
    image.array = image.array[frame]
    image.kind = "2d"
    image.frame_times_s = [times[frame]] if times else None
    image.spacing_m = image.spacing_m[:2]
    image.origin_m = image.origin_m[:2]
    image.direction = (1.0, 0.0, 0.0, 1.0)
    return image


def _grey(array: np.ndarray, colour: bool) -> tuple[np.ndarray, int]:
    if colour:
        return rgb_to_grey(array)
    return array.astype(np.float32), 0


def _raster_frame(f: Path, n_files: int) -> np.ndarray:
    """One raster frame as an array (grey, grey float or RGB), its size checked from the
    header before PIL decodes it (PIL's own bomb warning is silenced: ours is the limit)."""
    from PIL import Image, UnidentifiedImageError

    # PIL, not SimpleITK, for rasters: libpng/libjpeg errors inside ITK go to stderr
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(f) as pil:
                check_pixel_count(pil.height, pil.width, n_files, f)  # header only
                pil.load()
                if pil.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
                    return np.asarray(pil.convert("RGB"))
                if pil.mode in ("I;16", "I;16B", "I", "F"):
                    return np.asarray(pil.convert("F"))
                return np.asarray(pil)
    except Image.DecompressionBombError:
        raise InputError(f"{f}: image is over the limit of "
                         f"{MAX_FRAME_PIXELS // 10**6} megapixels per frame") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise InputError(f"{f}: cannot read image (corrupt or not an image)") from None


def _read_raster(files: list[Path], source: str, case_spacing: tuple[float, float] | None,
                 boxes: Sequence[Sequence[int]], detect: bool = False) -> MedicalImage:
    from twinflow.imaging.deid import blank_boxes
    from twinflow.imaging.textdetect import background_fill, blank_mask, detect_text, intensity

    if case_spacing is None:
        raise InputError(f"{source}: PNG/JPEG images carry no pixel spacing; give "
                         "pixel_spacing [row_m, col_m] in the case")
    frames = []
    for f in files:
        arr = _raster_frame(f, len(files))
        if arr.ndim == 3 and arr.shape[-1] in (2, 4):  # alpha channel
            arr = arr[..., :-1] if arr.shape[-1] == 4 else arr[..., 0]
        if arr.ndim not in (2, 3):
            raise InputError(f"{f}: expected a 2D frame, got shape {arr.shape}")
        if frames and arr.shape[:2] != frames[0][0].shape[:2]:
            raise InputError(f"{f}: frame size {arr.shape[1]}x{arr.shape[0]} differs from "
                             f"{frames[0][0].shape[1]}x{frames[0][0].shape[0]} of "
                             f"{files[0].name}")
        colour = arr.ndim == 3
        arr, declared = blank_boxes(arr, boxes, str(f))
        frames.append((arr, colour))
    detected = 0
    if detect:  # one detection for all frames: on their maximum (textdetect docstring)
        found = detect_text(np.max([intensity(a, c) for a, c in frames], axis=0))
        detected = len(found.boxes)
        if detected:
            mask = blank_mask(found)
            for a, c in frames:
                a[mask] = background_fill(a, c)
    greys, n_overlay = [], 0
    for arr, colour in frames:
        g, n = _grey(arr, colour)
        greys.append(g)
        n_overlay += n
    was_colour = any(c for _, c in frames)
    row, col = case_spacing
    blanked = dict(declared_boxes_blanked=declared, detected_text_boxes_blanked=detected)
    if len(greys) == 1:
        return MedicalImage(greys[0], "2d", (col, row), (0.0, 0.0), (1.0, 0.0, 0.0, 1.0),
                            "raster", "case", overlay_pixels=n_overlay, was_colour=was_colour,
                            **blanked)
    return MedicalImage(np.stack(greys), "cine", (col, row, 1.0), (0.0, 0.0, 0.0),
                        (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0), "raster", "case",
                        overlay_pixels=n_overlay, was_colour=was_colour, **blanked)


def _read_itk(path: Path, case_spacing: tuple[float, float] | None,
              boxes: Sequence[Sequence[int]], detect: bool = False) -> MedicalImage:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        with quiet_decoders():
            reader.ReadImageInformation()  # the header: size before pixels
            size = reader.GetSize()
            check_pixel_count(size[1] if len(size) > 1 else 1, size[0],
                              int(np.prod(size[2:])), path)
            img = reader.Execute()
    except RuntimeError:
        raise InputError(f"{path}: cannot read image (corrupt or truncated file)") from None
    dim = img.GetDimension()
    if dim not in (2, 3):
        raise InputError(f"{path}: {dim}D images are not supported (2D or 3D only)")
    colour = img.GetNumberOfComponentsPerPixel() >= 3
    arr = sitk.GetArrayFromImage(img)
    arr, blanked = _blank(arr, boxes, str(path), colour, detect and dim == 2)
    grey, n = _grey(arr, colour)
    spacing = tuple(s * 1e-3 for s in img.GetSpacing())
    spacing_source = "header"
    if case_spacing is not None:
        spacing = (case_spacing[1], case_spacing[0]) + spacing[2:]
        spacing_source = "case"
    return MedicalImage(grey, "2d" if dim == 2 else "volume", spacing,
                        tuple(o * 1e-3 for o in img.GetOrigin()), tuple(img.GetDirection()),
                        "itk", spacing_source, overlay_pixels=n, was_colour=colour,
                        declared_boxes_blanked=blanked.declared,
                        detected_text_boxes_blanked=blanked.detected)


def _read_header(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():  # pydicom warns on malformed values: not our output
        warnings.simplefilter("ignore")
        return _read_header_quiet(path)


def _read_header_quiet(path: Path) -> pydicom.Dataset:
    try:
        ds = pydicom.dcmread(path, defer_size="512 KB")
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{path}: not a readable DICOM file (corrupt or truncated)") from None
    except Exception as err:  # pydicom raises many kinds on garbage input
        raise InputError(f"{path}: not a readable DICOM file ({type(err).__name__})") from None
    try:
        deidentify_dataset(ds)
        has_pixels = any(k in ds for k in ("PixelData", "FloatPixelData",
                                           "DoubleFloatPixelData"))
    except Exception as err:  # malformed elements surface lazily
        raise InputError(f"{path}: DICOM header cannot be parsed (corrupt or truncated, "
                         f"{type(err).__name__})") from None
    if not has_pixels:
        raise InputError(f"{path}: DICOM file has no pixel data (or is truncated)")
    return ds


def _dicom_in_plane_spacing(ds: pydicom.Dataset, path: Path,
                            case_spacing: tuple[float, float] | None
                            ) -> tuple[tuple[float, float], str]:
    """In-plane (row, col) spacing in m and where it came from."""
    if case_spacing is not None:
        return case_spacing, "case"
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        if keyword in ds and ds[keyword].value:
            row, col = (float(v) * 1e-3 for v in ds[keyword].value)
            if row > 0 and col > 0:
                return (row, col), keyword
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        measures = shared[0].get("PixelMeasuresSequence")
        if measures and "PixelSpacing" in measures[0]:
            row, col = (float(v) * 1e-3 for v in measures[0].PixelSpacing)
            return (row, col), "PixelMeasuresSequence"
    regions = ds.get("SequenceOfUltrasoundRegions")
    if regions:
        for region in regions:
            ux, uy = region.get("PhysicalUnitsXDirection"), region.get("PhysicalUnitsYDirection")
            dx, dy = region.get("PhysicalDeltaX"), region.get("PhysicalDeltaY")
            if ux == _US_UNIT_CM and uy == _US_UNIT_CM and dx and dy:
                return (abs(float(dy)) * 1e-2, abs(float(dx)) * 1e-2), "ultrasound-region"
    raise InputError(f"{path}: DICOM has no pixel spacing (PixelSpacing, ImagerPixelSpacing "
                     "or ultrasound region calibration); give pixel_spacing in the case")


def _frame_times(ds: pydicom.Dataset, n: int) -> list[float] | None:
    if "FrameTimeVector" in ds and ds.FrameTimeVector:
        dt = [float(v) * 1e-3 for v in ds.FrameTimeVector]
        return list(np.cumsum(dt) - dt[0])[:n]
    if "FrameTime" in ds and ds.FrameTime:
        return [i * float(ds.FrameTime) * 1e-3 for i in range(n)]
    return None


def _dicom_pixels(path: Path, ds: pydicom.Dataset) -> np.ndarray:
    """Pixels as ``(frames, rows, cols[, 3])`` (SimpleITK first, pydicom as fallback),
    after :func:`~twinflow.imaging.guard.check_dicom_pixel_data`."""
    syntax = check_dicom_pixel_data(ds, path)
    try:
        with quiet_decoders():
            img = sitk.ReadImage(str(path))
        arr = sitk.GetArrayFromImage(img)
        if img.GetDimension() == 2:
            arr = arr[None]
        return arr
    except RuntimeError:
        pass
    try:
        with quiet_decoders():
            arr = ds.pixel_array
    except Exception:  # decoder errors of every kind
        raise undecodable(path, syntax) from None
    if "RescaleSlope" in ds or "RescaleIntercept" in ds:  # SimpleITK applies it itself
        from pydicom.pixels import apply_rescale
        arr = apply_rescale(arr, ds)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames == 1:
        arr = arr[None]
    return arr


def _read_dicom_file(path: Path, case_spacing: tuple[float, float] | None,
                     boxes: Sequence[Sequence[int]], detect: bool = False) -> MedicalImage:
    ds = _read_header(path)
    arr = _dicom_pixels(path, ds)
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    colour = int(ds.get("SamplesPerPixel", 1) or 1) >= 3
    if rows and cols and tuple(arr.shape[1:3]) != (rows, cols):
        raise InputError(f"{path}: pixel data size {arr.shape[1:3]} does not match "
                         f"Rows x Columns {rows} x {cols}")
    (row_m, col_m), spacing_source = _dicom_in_plane_spacing(ds, path, case_spacing)
    modality = str(ds.get("Modality", "")) or None
    cine = modality in ("US", "IVUS", "XA", "RF") or "FrameTime" in ds \
        or "FrameTimeVector" in ds
    screen = arr.shape[0] == 1 or cine  # a 2D image or a cine: text detection applies
    arr, blanked = _blank(arr, boxes, str(path), colour, detect and screen)
    grey, n = _grey(arr, colour)
    burned = str(ds.get("BurnedInAnnotation", "")).upper() == "YES" if \
        "BurnedInAnnotation" in ds else None
    common = dict(source_format="dicom", spacing_source=spacing_source, overlay_pixels=n,
                  was_colour=colour, modality=modality, burned_in_annotation=burned,
                  header=safe_header(ds), declared_boxes_blanked=blanked.declared,
                  detected_text_boxes_blanked=blanked.detected)
    if grey.shape[0] == 1:
        return MedicalImage(grey[0], "2d", (col_m, row_m), (0.0, 0.0), (1.0, 0.0, 0.0, 1.0),
                            **common)
    if cine:
        times = _frame_times(ds, grey.shape[0])
        dt = (times[1] - times[0]) if times and len(times) > 1 else 1.0
        return MedicalImage(grey, "cine", (col_m, row_m, dt), (0.0, 0.0, 0.0),
                            (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0), frame_times_s=times, **common)
    # enhanced multi-frame CT/MR: let SimpleITK's geometry stand (its header only)
    img = sitk.ImageFileReader()
    img.SetFileName(str(path))
    with quiet_decoders():
        img.ReadImageInformation()
    spacing = tuple(s * 1e-3 for s in img.GetSpacing())
    return MedicalImage(grey, "volume", (col_m, row_m, spacing[2]),
                        tuple(o * 1e-3 for o in img.GetOrigin()), tuple(img.GetDirection()),
                        **common)


def _read_dicom_series(folder: Path, files: list[Path],
                       case_spacing: tuple[float, float] | None,
                       boxes: Sequence[Sequence[int]]) -> MedicalImage:
    with quiet_decoders():
        series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not series:
        bad = next((f for f in files if not _is_dicom(f)), files[0])
        raise InputError(f"{bad}: not a DICOM file (folder {folder} holds no readable series)")
    if len(series) > 1:
        raise InputError(f"{folder}: folder holds {len(series)} DICOM series; point the case "
                         "at one series folder")
    with quiet_decoders():
        names = list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series[0]))
    headers = [_read_header(Path(n)) for n in names]
    for name, header in zip(names, headers, strict=True):
        check_dicom_pixel_data(header, Path(name))
    if len(names) < len(files):
        extra = sorted(set(map(str, files)) - set(names))
        raise InputError(f"{extra[0]}: not part of the DICOM series in {folder} "
                         "(corrupt or foreign file)")
    sizes = {(int(h.Rows), int(h.Columns)) for h in headers}
    if len(sizes) > 1:
        first = (int(headers[0].Rows), int(headers[0].Columns))
        odd = next(n for n, h in zip(names, headers, strict=True)
                   if (int(h.Rows), int(h.Columns)) != first)
        raise InputError(f"{odd}: slice size {sorted(sizes - {first})[0]} differs from "
                         f"{first} of the rest of the series in {folder}")
    check_pixel_count(*sorted(sizes)[0], len(names), folder)
    if any("ImagePositionPatient" not in h for h in headers) and len(names) > 1:
        raise InputError(f"{folder}: DICOM series lacks ImagePositionPatient; slice spacing "
                         "unknown")
    (row_m, col_m), spacing_source = _dicom_in_plane_spacing(headers[0], Path(names[0]),
                                                             case_spacing)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(names)
    try:
        with quiet_decoders():
            img = reader.Execute()
    except RuntimeError:
        raise InputError(f"{folder}: DICOM series pixel data cannot be read "
                         "(corrupt slice)") from None
    arr = sitk.GetArrayFromImage(img)
    colour = img.GetNumberOfComponentsPerPixel() >= 3
    arr, blanked = _blank(arr, boxes, str(folder), colour, detect=False)  # a volume
    grey, n = _grey(arr, colour)
    spacing = tuple(s * 1e-3 for s in img.GetSpacing())
    modality = str(headers[0].get("Modality", "")) or None
    return MedicalImage(grey, "volume", (col_m, row_m, spacing[2]),
                        tuple(o * 1e-3 for o in img.GetOrigin()), tuple(img.GetDirection()),
                        "dicom-series", spacing_source, overlay_pixels=n, was_colour=colour,
                        modality=modality, header=safe_header(headers[0]),
                        declared_boxes_blanked=blanked.declared)
