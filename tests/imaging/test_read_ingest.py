"""Reading, de-identification, ingest and error handling (twinflow.imaging)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from twinflow.errors import InputError
from twinflow.imaging.ingest import ingest
from twinflow.imaging.read import read_image, rgb_to_grey

IDENTIFIERS = {
    "PatientName": "Zyxwvut^Quirinus",
    "PatientID": "PID-8837465521",
    "PatientBirthDate": "19470312",
    "InstitutionName": "Saint Xylophone Infirmary",
    "InstitutionAddress": "42 Obscure Lane, Nowhereville",
    "OperatorsName": "Operator^Qwertyuiop",
}


def write_us_dicom(path: Path, array: np.ndarray, spacing_mm: float | None = 0.1,
                   **extra: str) -> Path:
    """A single-frame grey US-like DICOM with identifying attributes."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "US"
    for key, value in {**IDENTIFIERS, **extra}.items():
        setattr(ds, key, value)
    ds.Rows, ds.Columns = array.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if spacing_mm is not None:
        ds.PixelSpacing = [spacing_mm, spacing_mm]
    ds.PixelData = array.astype(np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def phantom(shape=(40, 64, 72), spacing=(0.8, 0.7, 1.5)) -> tuple[np.ndarray, float]:
    """Int16 CT-like ellipsoid phantom (slices, rows, cols) and its analytic volume in m^3."""
    z, y, x = np.meshgrid(*[(np.arange(n) - n / 2 + 0.5) * s
                            for n, s in zip(shape, spacing[::-1], strict=True)], indexing="ij")
    a, b, c = 20.0, 18.0, 24.0  # mm semi-axes (x, y, z)
    inside = (x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2 <= 1
    hu = np.where(inside, 300, 0).astype(np.int16)
    return hu, 4 / 3 * np.pi * a * b * c * 1e-9


def write_case(tmp: Path, images: list[dict], **pre) -> Path:
    """The ingest stage's settings file (its slice of a case: anatomy, images, preprocessing)."""
    case = tmp / "ingest.json"
    case.write_text(json.dumps({"anatomy": "left-ventricle", "images": images,
                                "preprocessing": pre}))
    return case


def grep_results(root: Path, needles: list[str]) -> list[str]:
    hits = []
    for f in root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            hits += [f"{f}: {n}" for n in needles if n.encode() in data]
    return hits


def test_dicom_deidentified_ingest(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    dcm = write_us_dicom(tmp_path / "scan.dcm", rng.integers(0, 255, (300, 400)))
    from pydicom import examples
    case = write_case(tmp_path, [
        {"path": str(dcm), "modality": "ultrasound", "view": "transversal-cca", "phase": None,
         "pixel_spacing": None, "frame": None, "burned_in_text": [[0, 0, 100, 20]]},
        {"path": str(examples.get_path("ybr_color")), "modality": "echo", "view": "apical-4ch",
         "phase": "end-diastole", "pixel_spacing": None, "frame": 3, "burned_in_text": []},
    ], window=[256, 256])
    out = tmp_path / "results" / "case1" / "images"
    assert ingest(case, out / "manifest.json", root=tmp_path) == out / "manifest.json"
    ybr = pydicom.dcmread(examples.get_path("ybr_color"))
    needles = list(IDENTIFIERS.values()) + ["Zyxwvut", "Quirinus", "8837465521", "Xylophone"]
    needles += [str(ybr.PatientName), str(ybr.StudyInstanceUID), str(ybr.SOPInstanceUID),
                "SONOPPS0002171", "SonoSite Private"]
    assert grep_results(tmp_path / "results", needles) == []
    side = json.loads((out / "00-transversal-cca.json").read_text())
    assert side["spacing_m"] == pytest.approx([1e-4, 1e-4])
    assert side["shape"] == [256, 256]
    echo = json.loads((out / "01-apical-4ch-end-diastole.json").read_text())
    # ultrasound region calibration: 0.0510 cm per pixel
    assert echo["spacing_m"][0] == pytest.approx(0.05104970559477806e-2)
    assert echo["source"]["colour"] is True
    img = sitk.ReadImage(str(out / "00-transversal-cca.nii.gz"))
    assert img.GetSpacing() == pytest.approx((0.1, 0.1))
    values = sitk.GetArrayViewFromImage(img)
    assert 0.0 <= values.min() <= values.max() <= 1.0


def test_burned_in_box_blanked(tmp_path: Path) -> None:
    arr = np.full((100, 120), 200, np.uint8)
    dcm = write_us_dicom(tmp_path / "a.dcm", arr)
    image = read_image(dcm, burned_in_boxes=[[10, 5, 50, 25]])
    assert image.array[5:25, 10:50].max() == 0
    assert image.array[30:, :].min() == 200


def test_nifti_and_dicom_series_same_volume(tmp_path: Path) -> None:
    hu, truth_m3 = phantom()
    spacing = (0.8, 0.7, 1.5)
    img = sitk.GetImageFromArray(hu)
    img.SetSpacing(spacing)
    nii = tmp_path / "phantom.nii.gz"
    sitk.WriteImage(img, str(nii))
    series = tmp_path / "series"
    series.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    uid = generate_uid()
    for k in range(hu.shape[0]):
        sl = img[:, :, k]
        for tag, value in (("0010|0010", "Zyxwvut^Quirinus"), ("0010|0020", "PID-8837465521"),
                           ("0008|0060", "CT"), ("0020|000e", uid), ("0020|000d", generate_uid()),
                           ("0020|0032", f"0\\0\\{k * spacing[2]}"),
                           ("0020|0037", "1\\0\\0\\0\\1\\0"), ("0020|0013", str(k)),
                           ("0028|0030", f"{spacing[1]}\\{spacing[0]}")):
            sl.SetMetaData(tag, value)
        writer.SetFileName(str(series / f"s{k:03d}.dcm"))
        writer.Execute(sl)
    a = read_image(nii)
    b = read_image(series)
    assert b.kind == a.kind == "volume"
    assert b.spacing_m == pytest.approx(a.spacing_m)

    def volume(im):
        return float((im.array > 150).sum() * np.prod(im.spacing_m))

    va, vb = volume(a), volume(b)
    assert abs(va - vb) / va < 0.01
    assert abs(va - truth_m3) / truth_m3 < 0.02
    case = write_case(tmp_path, [{"path": "series", "modality": "ct", "view": "volume"}])
    out = tmp_path / "results" / "ct" / "images"
    ingest(case, out / "manifest.json", root=tmp_path)
    assert grep_results(tmp_path / "results", ["Zyxwvut", "8837465521"]) == []
    ingested = sitk.ReadImage(str(out / "00-volume.nii.gz"))
    arr = sitk.GetArrayFromImage(ingested)
    v_ing = float((arr > 0.5).sum() * np.prod(ingested.GetSpacing()) * 1e-9)
    assert abs(v_ing - va) / va < 0.01


def test_rgb_overlay_removed() -> None:
    from twinflow.imaging.synth.ultrasound import tint
    rng = np.random.default_rng(1)
    grey = rng.random((120, 160))
    for name in ("grey", "sepia", "blue", "bronze"):
        rgb = tint(grey, name)
        rgb[40:42, 20:140] = (240, 220, 60)  # yellow text / calipers (~1 % of pixels)
        out, n = rgb_to_grey(rgb)
        assert n == 2 * 120, name
        # replaced by neighbouring tissue values, not the bright yellow luma (207)
        assert abs(out[40:42, 20:140].mean() - out.mean()) < 30


@pytest.mark.parametrize("kind", ["corrupt", "no-pixels", "no-spacing", "mismatch", "png"])
def test_bad_inputs_one_line_exit_2_no_output(tmp_path: Path, kind: str) -> None:
    rng = np.random.default_rng(2)
    entry = {"modality": "ultrasound", "view": "transversal-cca"}
    if kind == "corrupt":
        good = write_us_dicom(tmp_path / "good.dcm", rng.integers(0, 255, (64, 64)))
        bad = tmp_path / "bad.dcm"
        bad.write_bytes(good.read_bytes()[:400])
        entry["path"] = str(bad)
    elif kind == "no-pixels":
        dcm = write_us_dicom(tmp_path / "np.dcm", rng.integers(0, 255, (64, 64)))
        ds = pydicom.dcmread(dcm)
        del ds.PixelData
        ds.save_as(dcm)
        bad = dcm
        entry["path"] = str(dcm)
    elif kind == "no-spacing":
        bad = write_us_dicom(tmp_path / "ns.dcm", rng.integers(0, 255, (64, 64)),
                             spacing_mm=None)
        entry["path"] = str(bad)
    elif kind == "mismatch":
        bad = tmp_path / "frames"
        bad.mkdir()
        sitk.WriteImage(sitk.GetImageFromArray(rng.integers(0, 255, (64, 64)).astype(np.uint8)),
                        str(bad / "f0.png"))
        sitk.WriteImage(sitk.GetImageFromArray(rng.integers(0, 255, (60, 64)).astype(np.uint8)),
                        str(bad / "f1.png"))
        entry.update(path=str(bad), pixel_spacing=[1e-4, 1e-4])
    else:
        bad = tmp_path / "x.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
        entry.update(path=str(bad), pixel_spacing=[1e-4, 1e-4])
    ok = write_us_dicom(tmp_path / "ok.dcm", rng.integers(0, 255, (64, 64)))
    case = write_case(tmp_path, [{"path": str(ok), "modality": "ultrasound",
                                  "view": "longitudinal"}, entry])
    out = tmp_path / "results" / "c" / "images"
    proc = subprocess.run([sys.executable, "-m", "twinflow", "ingest", "--settings", str(case),
                           "--out", str(out / "manifest.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(bad.name) in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_inconsistent_modality(tmp_path: Path) -> None:
    dcm = write_us_dicom(tmp_path / "a.dcm", np.zeros((32, 32)))
    case = write_case(tmp_path, [{"path": str(dcm), "modality": "ct", "view": "volume"}])
    with pytest.raises(InputError, match="a.dcm"):
        ingest(case, tmp_path / "out" / "manifest.json")


def test_ingest_takes_the_files_by_hash_from_the_command_line(tmp_path: Path) -> None:
    """The canonical settings name images by SHA-256 only (no path: it may hold a name); the
    workflow passes the files with --images, each checked against its hash: a wrong or
    missing file is one line, exit 2, and nothing is written."""
    import hashlib

    rng = np.random.default_rng(5)
    a = write_us_dicom(tmp_path / "a.dcm", rng.integers(0, 255, (64, 64)))
    b = write_us_dicom(tmp_path / "b.dcm", rng.integers(0, 255, (64, 64)))
    digest = hashlib.sha256(a.read_bytes()).hexdigest()
    case = write_case(tmp_path, [{"sha256": digest, "modality": "ultrasound",
                                  "view": "longitudinal"}])
    out = tmp_path / "results" / "c" / "images"

    def run(*images: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "twinflow", "ingest", "--settings",
                               str(case), "--images", *map(str, images), "--out",
                               str(out / "manifest.json")],
                              capture_output=True, text=True, timeout=120)

    for images, needle in (((b,), "b.dcm: SHA-256"), ((a, b), "gives 2")):
        proc = run(*images)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()
    proc = run(a)
    assert proc.returncode == 0, proc.stderr
    sidecar = json.loads((out / "00-longitudinal.json").read_text())
    assert sidecar["source"]["sha256"] == digest
    assert grep_results(tmp_path / "results", ["Zyxwvut", "8837465521", "a.dcm"]) == []
