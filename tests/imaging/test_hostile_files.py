"""Hostile and broken image files through the real ``twinflow ingest`` (issue 19, item 2).

Each input is made in ``tmp_path``; each run must end within 10 s with exit status 2, one
line on stderr that names the file, no traceback, and no output written. Then the outputs:
a FIFO, folder or unwritable place where ingest writes a file is refused and left alone.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate

from tests.imaging.test_read_ingest import write_case, write_us_dicom
from twinflow.imaging.guard import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[2]


def ingest_cli(settings: Path, out: Path, *images: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "twinflow", "ingest", "--settings", str(settings),
           "--out", str(out)]
    if images:
        cmd += ["--images", *map(str, images)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10, cwd=ROOT)


def assert_one_line(proc: subprocess.CompletedProcess[str], name: str, *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0] and all(n in lines[0] for n in needles), lines[0]
    return lines[0]


def us_dicom(path: Path, rows: int = 591, cols: int = 526) -> Path:
    rng = np.random.default_rng(3)
    return write_us_dicom(path, rng.integers(0, 255, (rows, cols)))


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose IHDR claims ``width`` x ``height`` grey pixels, with a tiny IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def with_pixel_data(path: Path, syntax: str | None = None, pixels: bytes | None = None,
                    **header: int) -> Path:
    """Rewrite a DICOM with another transfer syntax, pixel data or header values."""
    ds = pydicom.dcmread(path)
    if syntax is not None:
        ds.file_meta.TransferSyntaxUID = syntax
    if pixels is not None:
        ds.PixelData = pixels
        ds["PixelData"].VR = "OB"
    for key, value in header.items():
        setattr(ds, key, value)
    ds.save_as(path)
    return path


# Each maker returns (the image path given to ingest, the name the error line must hold,
# words the line must hold).
Maker = Callable[[Path], tuple[Path, str, tuple[str, ...]]]


def fifo(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    os.mkfifo(tmp / "scan.dcm")  # opening it would block for ever
    return tmp / "scan.dcm", "scan.dcm", ("FIFO",)


def fifo_in_series_folder(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    folder = tmp / "series"
    folder.mkdir()
    us_dicom(folder / "a.dcm", 32, 32)
    os.mkfifo(folder / "b.dcm")
    return folder, "b.dcm", ("FIFO",)


def symlink_loop(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    (tmp / "loop.dcm").symlink_to(tmp / "loop.dcm")
    return tmp / "loop.dcm", "loop.dcm", ("symlink loop",)


def device(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    (tmp / "dev.dcm").symlink_to("/dev/zero")  # reading it never ends
    return tmp / "dev.dcm", "dev.dcm", ("device",)


def unix_socket(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = tmp / "s.dcm"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays
    return path, "s.dcm", ("socket",)


def empty_folder(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    (tmp / "scan.png").mkdir()
    return tmp / "scan.png", "scan.png", ("folder",)


def too_large(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = tmp / "huge.dcm"
    with path.open("wb") as f:  # sparse: no disk used
        f.truncate(MAX_FILE_BYTES + 1)
    return path, "huge.dcm", ("over the limit", "512 MiB")


def truncated_pixel_element(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = with_pixel_data(us_dicom(tmp / "short.dcm"), pixels=bytes(1000))
    return path, "short.dcm", ("truncated", "1000 bytes", "310866")


def truncated_file(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = us_dicom(tmp / "cut.dcm")
    path.write_bytes(path.read_bytes()[:5000])
    return path, "cut.dcm", ()


def truncated_deferred(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    """Pixel data over pydicom's defer size (512 KB): its length is checked, not read."""
    path = us_dicom(tmp / "cut-large.dcm", 1000, 1000)
    path.write_bytes(path.read_bytes()[:600_000])
    return path, "cut-large.dcm", ("truncated", "needs 1000000")


def no_decoder(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = with_pixel_data(us_dicom(tmp / "video.dcm", 32, 32),
                           syntax="1.2.840.10008.1.2.4.102",  # MPEG-4 AVC/H.264
                           pixels=encapsulate([bytes(100)]))
    return path, "video.dcm", ("MPEG-4", "1.2.840.10008.1.2.4.102", "no installed decoder")


def corrupt_jpeg(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = with_pixel_data(us_dicom(tmp / "jpeg.dcm", 32, 32),
                           syntax="1.2.840.10008.1.2.4.50",  # JPEG baseline: GDCM decodes it
                           pixels=encapsulate([b"\xff\xd8garbage\xff\xd9"]))
    return path, "jpeg.dcm", ("JPEG Baseline", "corrupt")


def dicom_bomb(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = with_pixel_data(us_dicom(tmp / "bomb.dcm", 32, 32), Rows=60000, Columns=60000)
    return path, "bomb.dcm", ("megapixels",)


def png_bomb(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    return png_header_only(tmp / "bomb.png", 20000, 20000), "bomb.png", ("megapixels",)


def png_over_limit(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    # 108 Mpx: over twinflow's limit, under PIL's own (which only warns here)
    return png_header_only(tmp / "big.png", 12000, 9000), "big.png", ("megapixels",)


def random_bytes(suffix: str) -> Maker:
    def make(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
        path = tmp / f"noise{suffix}"
        path.write_bytes(np.random.default_rng(4).bytes(20000))
        return path, path.name, ()
    return make


def control_characters(tmp: Path) -> tuple[Path, str, tuple[str, ...]]:
    path = tmp / "scan\x1b[2J.dcm"
    os.mkfifo(path)
    return path, "scan\\x1b[2J.dcm", ("FIFO",)


HOSTILE: dict[str, Maker] = {
    "fifo": fifo, "fifo-in-series-folder": fifo_in_series_folder,
    "symlink-loop": symlink_loop, "device": device, "socket": unix_socket,
    "empty-folder": empty_folder, "too-large": too_large,
    "truncated-pixel-element": truncated_pixel_element, "truncated-file": truncated_file,
    "truncated-deferred": truncated_deferred,
    "no-decoder": no_decoder, "corrupt-jpeg": corrupt_jpeg, "dicom-bomb": dicom_bomb,
    "png-bomb": png_bomb, "png-over-limit": png_over_limit,
    "random.dcm": random_bytes(".dcm"), "random.png": random_bytes(".png"),
    "random.nii.gz": random_bytes(".nii.gz"), "control-characters": control_characters,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_image_is_one_line_exit_2_no_output(tmp_path: Path, kind: str) -> None:
    image, name, needles = HOSTILE[kind](tmp_path)
    settings = write_case(tmp_path, [{"path": str(image), "modality": "ultrasound",
                                      "view": "longitudinal",
                                      "pixel_spacing": [1e-4, 1e-4]}])
    out = tmp_path / "results" / "images"
    line = assert_one_line(ingest_cli(settings, out / "manifest.json"), name, *needles)
    assert "\x1b" not in line
    assert not out.exists()


def test_hostile_image_given_with_images_is_not_hashed(tmp_path: Path) -> None:
    """The workflow passes images with --images; each is checked before it is hashed."""
    image, name, _ = fifo(tmp_path)
    settings = write_case(tmp_path, [{"sha256": "0" * 64, "modality": "ultrasound",
                                      "view": "longitudinal"}])
    out = tmp_path / "results" / "images"
    assert_one_line(ingest_cli(settings, out / "manifest.json", image), name, "FIFO")
    assert not out.exists()


def test_settings_file_that_is_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ingest.json")
    out = tmp_path / "results" / "images"
    assert_one_line(ingest_cli(tmp_path / "ingest.json", out / "manifest.json"),
                    "ingest.json", "FIFO")
    assert not out.exists()


def good_settings(tmp_path: Path) -> Path:
    image = us_dicom(tmp_path / "good.dcm", 64, 80)
    return write_case(tmp_path, [{"path": str(image), "modality": "ultrasound",
                                  "view": "longitudinal"}])


def test_manifest_path_that_is_a_fifo_or_folder_is_left_alone(tmp_path: Path) -> None:
    settings = good_settings(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "manifest.json")
    assert_one_line(ingest_cli(settings, out / "manifest.json"), "manifest.json", "FIFO")
    assert (out / "manifest.json").is_fifo() and os.listdir(out) == ["manifest.json"]
    folder = tmp_path / "folder"
    folder.mkdir()
    assert_one_line(ingest_cli(settings, folder), "folder", "a folder")
    assert folder.is_dir() and not any(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "good.dcm", "ingest.json",
                                                          "out"]


def test_image_output_path_that_is_a_fifo_stops_before_anything_is_written(
        tmp_path: Path) -> None:
    settings = good_settings(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "00-longitudinal.nii.gz")
    assert_one_line(ingest_cli(settings, out / "manifest.json"), "00-longitudinal.nii.gz",
                    "FIFO")
    assert os.listdir(out) == ["00-longitudinal.nii.gz"]


def test_output_folder_that_is_a_file(tmp_path: Path) -> None:
    settings = good_settings(tmp_path)
    (tmp_path / "out").write_text("a file")
    assert_one_line(ingest_cli(settings, tmp_path / "out" / "manifest.json"), "out",
                    "not a folder")
    assert (tmp_path / "out").read_text() == "a file"


def test_canonical_output_that_is_a_fifo_or_folder(tmp_path: Path) -> None:
    fifo_out = tmp_path / "case.json"
    os.mkfifo(fifo_out)
    folder = tmp_path / "folder"
    folder.mkdir()
    for target, word in ((fifo_out, "FIFO"), (folder, "a folder")):
        proc = subprocess.run([sys.executable, "-m", "twinflow", "canonical",
                               "cases/minimal.yaml", "-o", str(target)],
                              capture_output=True, text=True, timeout=10, cwd=ROOT)
        assert_one_line(proc, target.name, word)
    assert fifo_out.is_fifo() and not any(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.json", "folder"]


def test_same_image_twice_gives_byte_identical_output(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    dcm = write_us_dicom(tmp_path / "a.dcm", rng.integers(0, 255, (120, 140)))
    png = tmp_path / "b.png"
    from PIL import Image
    Image.fromarray(rng.integers(0, 255, (90, 100), dtype=np.uint8)).save(png)
    settings = write_case(tmp_path, [
        {"path": str(dcm), "modality": "ultrasound", "view": "longitudinal"},
        {"path": str(png), "modality": "ultrasound", "view": "transversal-cca",
         "pixel_spacing": [1e-4, 1e-4]}], window=[64, 64])
    runs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        proc = ingest_cli(settings, out / "manifest.json")
        assert proc.returncode == 0, proc.stderr
        runs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert sorted(runs[0]) == ["00-longitudinal.json", "00-longitudinal.nii.gz",
                               "01-transversal-cca.json", "01-transversal-cca.nii.gz",
                               "manifest.json"]
    assert runs[0] == runs[1]
    assert json.loads(runs[0]["01-transversal-cca.json"])["shape"] == [64, 64]
