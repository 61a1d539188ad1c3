"""End to end on a tiny ring data set: train (Keras) -> ONNX -> evaluate -> segment (ORT)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from tests.segmentation.conftest import run_fresh
from twinflow.artifacts.images import ImageEntry, ImagesManifest
from twinflow.cli import main as twinflow_main
from twinflow.errors import InputError
from twinflow.segmentation.infer import (
    clean_components,
    load_model,
    probabilities_to_labels,
    resolve_thresholds,
    segment,
    segment_image,
)


def test_training_outputs_and_metadata(trained: Path, ring_dataset: Path) -> None:
    for name in ("model.onnx", "test_metrics.json", "test_metrics.md", "learning_curves.png",
                 "history.json", "training.json"):
        assert (trained / name).is_file(), name
    history = json.loads((trained / "history.json").read_text())
    for key in ("loss", "precision", "recall", "f1"):
        assert len(history[key]) == len(history[f"val_{key}"]) >= 1
    model = load_model(trained / "model.onnx")
    meta = model.metadata
    assert meta["classes"] == ["lumen", "wall"] and meta["anatomy"] == "carotid"
    assert meta["preset"] == "tiny" and meta["input_size"] == 64
    assert meta["preprocessing"]["input_size"] == 64
    assert len(meta["training_data_sha256"]) == 64
    metrics = json.loads((trained / "test_metrics.json").read_text())["metrics"]
    assert meta["test_metrics"] == metrics
    training = json.loads((trained / "training.json").read_text())
    assert training["parity"]["max_abs_diff"] <= 1e-4
    # the lumen (a dark disc) is easy: a short CPU run already finds it
    assert metrics["lumen"]["f1_dice"] > 0.8, metrics


def test_segment_image_keeps_geometry(trained: Path, ring_dataset: Path,
                                      tmp_path: Path) -> None:
    image = ring_dataset / "images" / "P009_0.nii.gz"
    out = segment_image(trained / "model.onnx", image, tmp_path / "m.nii.gz")
    src, mask = sitk.ReadImage(str(image)), sitk.ReadImage(str(out))
    assert mask.GetSize() == src.GetSize()
    assert mask.GetSpacing() == pytest.approx(src.GetSpacing())
    assert mask.GetOrigin() == pytest.approx(src.GetOrigin())
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert set(np.unique(sitk.GetArrayFromImage(mask))) <= {0, 1, 2}


def test_segment_case_with_cine_and_volume(trained: Path, ring_dataset: Path,
                                           tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    a = sitk.ReadImage(str(ring_dataset / "images" / "P009_0.nii.gz"))
    b = sitk.ReadImage(str(ring_dataset / "images" / "P009_1.nii.gz"))
    sitk.WriteImage(a, str(images / "00-transversal-cca.nii.gz"))
    cine = sitk.JoinSeries([a, b])
    sitk.WriteImage(cine, str(images / "01-longitudinal.nii.gz"))
    sitk.WriteImage(cine, str(images / "02-volume.nii.gz"))
    listing = [ImageEntry(image=f"{name}.nii.gz", sidecar=f"{name}.json", modality=modality,
                          view=view, phase=None, kind=kind)
               for name, modality, view, kind in (
                   ("00-transversal-cca", "ultrasound", "transversal-cca", "2d"),
                   ("01-longitudinal", "ultrasound", "longitudinal", "cine"),
                   ("02-volume", "ct", "volume", "volume"))]
    manifest = ImagesManifest(images=listing, deidentification="test").write(
        images / "manifest.json")
    case = tmp_path / "segment.json"  # the stage's settings, as the workflow writes them
    case.write_text(json.dumps({"anatomy": "carotid",
                                "segmentation": {"model": None, "thresholds": {"wall": 0.4},
                                                 "largest_component": True}}))
    written = segment(case, manifest, trained / "model.onnx", tmp_path / "masks" / "manifest.json")
    assert [p.name for p in written] == ["00-transversal-cca.nii.gz", "01-longitudinal.nii.gz"]
    stack = sitk.ReadImage(str(written[1]))
    assert stack.GetSize() == cine.GetSize()
    manifest = json.loads((tmp_path / "masks" / "manifest.json").read_text())
    assert manifest["labels"] == {"lumen": 1, "wall": 2}
    assert manifest["thresholds"] == [0.5, 0.4]
    assert manifest["skipped"][0]["image"] == "02-volume.nii.gz"
    assert manifest["provider"] == "CPUExecutionProvider"
    case.write_text(json.dumps({"anatomy": "left-ventricle", "segmentation": {}}))
    with pytest.raises(InputError, match="anatomy"):
        segment(case, manifest, trained / "model.onnx", tmp_path / "masks2" / "manifest.json")


def test_cli_segment_and_errors(trained: Path, ring_dataset: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    image = ring_dataset / "images" / "P008_0.nii.gz"
    assert twinflow_main(["segment-image", "--model", str(trained / "model.onnx"), str(image),
                          str(tmp_path / "m.nii.gz")]) == 0
    assert (tmp_path / "m.nii.gz").is_file()
    assert twinflow_main(["segment-image", "--model", str(tmp_path / "none.onnx"), str(image),
                          str(tmp_path / "n.nii.gz")]) == 2
    assert "segmentation model not found" in capsys.readouterr().err


def test_inference_path_imports_no_tensorflow(trained: Path, ring_dataset: Path,
                                              tmp_path: Path) -> None:
    proc, heavy = run_fresh(
        "from twinflow.cli import main\n"
        f"rc = main(['segment-image', '--model', {str(trained / 'model.onnx')!r}, "
        f"{str(ring_dataset / 'images' / 'P009_0.nii.gz')!r}, {str(tmp_path / 'x.nii.gz')!r}])\n"
        "import twinflow.cli\n"
        "twinflow.cli.build_parser()", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert heavy == []
    assert (tmp_path / "x.nii.gz").is_file()


def test_component_cleanup_and_thresholds() -> None:
    prob = np.zeros((20, 20, 2), np.float32)
    prob[2:12, 2:12, 0] = 0.9  # 100 px lumen
    prob[15:17, 15:17, 0] = 0.8  # 4 px: 4 % of the largest -> kept
    prob[0, 19, 0] = 0.7  # 1 px: 1 % -> removed
    prob[4:8, 4:8, 1] = 0.95  # wall wins where it is more probable
    labels = probabilities_to_labels(prob, (0.5, 0.5))
    assert labels[0, 19] == 0 and labels[16, 16] == 1 and labels[5, 5] == 2
    assert labels[3, 3] == 1
    assert probabilities_to_labels(prob, (0.5, 0.5), clean=False)[0, 19] == 1
    assert clean_components(prob[..., 0] > 0.5, 1.0).sum() == 100
    assert probabilities_to_labels(prob, (0.85, 0.5))[16, 16] == 0


def test_threshold_resolution(trained: Path) -> None:
    model = load_model(trained / "model.onnx")
    assert resolve_thresholds(model, None) == (0.5, 0.5)
    assert resolve_thresholds(model, 0.3) == (0.3, 0.3)
    assert resolve_thresholds(model, {"wall": 0.4}) == (0.5, 0.4)
    with pytest.raises(InputError, match="unknown classes"):
        resolve_thresholds(model, {"plaque": 0.4})
    with pytest.raises(InputError, match="thresholds for"):
        resolve_thresholds(model, [0.5])
