"""Guards for image files from other people: checked before any decoder sees them.

An image named in a case may be anything: a FIFO (opening it blocks for ever), a device, a
symlink loop, a 20000 x 20000 PNG of a few kB (a decompression bomb), a DICOM whose header
promises more pixel bytes than the file holds (SimpleITK then decodes memory garbage: a
different image on every run), or compressed pixel data no installed decoder reads. Each is
refused here with one line naming the file, from ``stat`` and the header alone:

* :func:`check_image_path` — a regular file of at most :data:`MAX_FILE_BYTES` (each file of
  a folder too: a DICOM series or a folder of frames), never opened to find out;
* :func:`check_pixel_count` — at most :data:`MAX_FRAME_PIXELS` per frame and
  :data:`MAX_FILE_PIXELS` in all, from the header before decoding;
* :func:`check_dicom_pixel_data` — uncompressed pixel data at least
  Rows x Columns x SamplesPerPixel x NumberOfFrames x BitsAllocated / 8 bytes, inside the
  file; compressed data in a known transfer syntax;
* :func:`quiet_decoders` — GDCM, libjpeg and pydicom report decoder trouble on the process's
  stderr or through pydicom's logger (with a traceback); inside it that text is held back,
  so the user sees the one-line error only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
from pydicom.uid import UID

from twinflow.errors import InputError
from twinflow.io import file_kind, require_regular_file

log = logging.getLogger(__name__)

#: Largest image file read (each file of a folder): 512 MiB. An uncompressed 300-frame
#: 800 x 600 RGB ultrasound cine is 430 MB, a 1000-slice enhanced CT 500 MiB; decoded to
#: float32 grey such a file already needs several GiB of memory.
MAX_FILE_BYTES = 512 * 2**20
#: Most pixels of one frame: 100 megapixels. The largest clinical 2D images (digital
#: mammography, 4096 x 5120) have 21; PIL's own bomb limit is 89.
MAX_FRAME_PIXELS = 100_000_000
#: Most pixels of one file, all frames together: 2**28 (1 GiB as float32 grey).
MAX_FILE_PIXELS = 2**28


def check_image_path(path: Path) -> None:
    """``path`` is a regular file, or a folder whose entries are regular files or folders,
    each file within :data:`MAX_FILE_BYTES` (judged by ``stat``; nothing is opened)."""
    kind = file_kind(path)
    if kind == "folder":
        for entry in sorted(path.iterdir()):
            if file_kind(entry) != "folder":
                require_regular_file(entry, "image file", MAX_FILE_BYTES)
        return
    if kind == "missing":
        raise InputError(f"{path}: image not found")
    require_regular_file(path, "image", MAX_FILE_BYTES)


def check_pixel_count(rows: int, cols: int, frames: int, source: object) -> None:
    """Refuse a header that promises more pixels than :data:`MAX_FRAME_PIXELS` per frame or
    :data:`MAX_FILE_PIXELS` in all (before anything is decoded)."""
    if rows <= 0 or cols <= 0 or frames <= 0:
        raise InputError(f"{source}: image header gives {cols} x {rows} pixels x {frames} "
                         "frames")
    if rows * cols > MAX_FRAME_PIXELS:
        raise InputError(f"{source}: image of {cols} x {rows} pixels is over the limit of "
                         f"{MAX_FRAME_PIXELS // 10**6} megapixels per frame")
    if rows * cols * frames > MAX_FILE_PIXELS:
        raise InputError(f"{source}: {frames} frames of {cols} x {rows} pixels are over the "
                         f"limit of {MAX_FILE_PIXELS} pixels per file")


def _header_int(ds: pydicom.Dataset, keyword: str, default: int | None, path: Path) -> int:
    value = ds.get(keyword, default)
    try:
        return int(value if value not in (None, "") else default)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{path}: DICOM {keyword} is missing or not a number "
                         f"({value!r})") from None


def transfer_syntax(ds: pydicom.Dataset) -> UID:
    """The dataset's transfer syntax (pydicom's guess when the file meta lacks it)."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid is None:
        implicit = getattr(ds, "is_implicit_VR", True)
        return UID("1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1")
    return UID(str(uid))


def _pixel_bytes(ds: pydicom.Dataset, path: Path) -> int:
    """Bytes of PixelData present in the file (a deferred element is not read: its length
    is checked against the file size)."""
    elem = ds.get_item("PixelData")
    value = getattr(elem, "value", None)
    if value is not None:
        return len(value)
    start = getattr(elem, "value_tell", None)
    length = int(getattr(elem, "length", 0) or 0)
    if start is None:
        return length
    return max(0, min(length, os.stat(path).st_size - int(start)))


def check_dicom_pixel_data(ds: pydicom.Dataset, path: Path) -> UID:
    """Check a DICOM header against its pixel data before decoding; return the transfer
    syntax. Pixel counts within the limits; uncompressed data at least as long as the
    header says; compressed data in a transfer syntax pydicom knows."""
    rows = _header_int(ds, "Rows", None, path)
    cols = _header_int(ds, "Columns", None, path)
    frames = _header_int(ds, "NumberOfFrames", 1, path)
    check_pixel_count(rows, cols, frames, path)
    syntax = transfer_syntax(ds)
    if not syntax.is_transfer_syntax:
        raise InputError(f"{path}: unknown DICOM transfer syntax {syntax}")
    if "PixelData" not in ds or syntax.is_encapsulated:
        return syntax
    samples = _header_int(ds, "SamplesPerPixel", 1, path)
    bits = _header_int(ds, "BitsAllocated", None, path)
    if bits not in (1, 8, 16, 32, 64):
        raise InputError(f"{path}: DICOM BitsAllocated {bits} is not 1, 8, 16, 32 or 64")
    expected = (rows * cols * samples * frames * bits + 7) // 8
    if str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422":
        expected = expected // 3 * 2  # two chroma samples per two pixels
    found = _pixel_bytes(ds, path)
    if found < expected:
        raise InputError(f"{path}: DICOM pixel data is truncated: {found} bytes, the header "
                         f"({rows} rows x {cols} columns x {samples} samples x {frames} "
                         f"frames x {bits} bits) needs {expected}")
    return syntax


def undecodable(path: Path, syntax: UID) -> InputError:
    """The error for pixel data that no decoder read: names the transfer syntax and says
    whether an installed decoder knows it (then the data is corrupt)."""
    from pydicom.pixels import get_decoder

    name = f"{syntax.name} ({syntax})" if syntax.name != str(syntax) else str(syntax)
    try:
        available = get_decoder(syntax).is_available
    except (NotImplementedError, ValueError):
        available = False
    if syntax.is_encapsulated and not available:
        return InputError(f"{path}: DICOM pixel data in transfer syntax {name} cannot be "
                          "decoded: no installed decoder handles it")
    return InputError(f"{path}: DICOM pixel data ({name}) cannot be decoded (corrupt)")


@contextlib.contextmanager
def quiet_decoders() -> Iterator[None]:
    """Hold back what native decoders (GDCM, libjpeg, openjpeg) write to file descriptor 2,
    pydicom's log records and warnings while the block runs (a debug line counts the bytes).

    Process-wide while it runs (file descriptor 2 is shared by every thread)."""
    pydicom_log = logging.getLogger("pydicom")
    saved_level, saved_fd = pydicom_log.level, None
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pydicom_log.setLevel(logging.CRITICAL + 1)
        try:
            sys.stderr.flush()
            saved_fd = os.dup(2)
            os.dup2(sink.fileno(), 2)
        except (OSError, ValueError, AttributeError):  # no fd 2 (embedded): leave it
            saved_fd = None
        try:
            yield
        finally:
            if saved_fd is not None:
                os.dup2(saved_fd, 2)
                os.close(saved_fd)
            pydicom_log.setLevel(saved_level)
            size = sink.seek(0, os.SEEK_END)
            if size:  # not the text: it may hold a path, and paths may hold names
                log.debug("native decoders wrote %d bytes of messages (not shown)", size)
