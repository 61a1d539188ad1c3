"""Static int8 (QDQ) quantization of a tiny trained U-Net: loads, keeps metadata, stays close
to float32, refuses bad input, imports no TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import SimpleITK as sitk

from tests.segmentation.conftest import run_fresh
from twinflow.cli import main as twinflow_main
from twinflow.errors import InputError
from twinflow.segmentation.dataset import dataset_hash, load_manifest
from twinflow.segmentation.infer import load_model, segment_images
from twinflow.segmentation.quantize import QuantizeSettings, calibration_samples, quantize_model


@pytest.fixture(scope="module")
def quantized(trained: Path, ring_dataset: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """``twinflow quantize`` in a fresh interpreter, which must not import TensorFlow."""
    out = tmp_path_factory.mktemp("int8") / "model-int8.onnx"
    proc, heavy = run_fresh(
        "from twinflow.cli import main\n"
        f"rc = main(['quantize', {str(trained / 'model.onnx')!r}, '--data', "
        f"{str(ring_dataset)!r}, '--out', {str(out)!r}, '--calibration-images', '4'])",
        timeout=180)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout, heavy


def test_quantize_imports_no_tensorflow(quantized: tuple[Path, str, list[str]]) -> None:
    out, stdout, heavy = quantized
    assert heavy == []
    assert json.loads(stdout[:stdout.index("HEAVY")])["calibration_images"] == 4
    assert out.is_file()


def test_quantized_model_loads_and_keeps_metadata(quantized: tuple[Path, str, list[str]],
                                                  trained: Path, ring_dataset: Path) -> None:
    out, _, _ = quantized
    fp32 = load_model(trained / "model.onnx")
    int8 = load_model(out)
    assert int8.classes == fp32.classes and int8.anatomy == fp32.anatomy
    assert int8.preprocessing == fp32.preprocessing and int8.thresholds == fp32.thresholds
    kept = {k: v for k, v in int8.metadata.items() if k not in ("quantization", "test_metrics")}
    assert kept == {k: v for k, v in fp32.metadata.items() if k != "test_metrics"}
    q = int8.metadata["quantization"]
    assert q["calibration_images"] == 4 and q["calibration_split"] == "train"
    assert q["dataset_sha256"] == dataset_hash(load_manifest(ring_dataset))
    assert q["dataset_is_training_data"] is True
    assert q["source_model_sha256"] == fp32.sha256
    assert q["per_channel"] is True and q["weight_bits"] == 7
    # the float32 metrics are recomputed on the same split by the same code
    for c, m in fp32.metadata["test_metrics"].items():
        assert q["fp32_test_metrics"][c]["f1_dice"] == pytest.approx(m["f1_dice"], abs=1e-3)
    assert set(int8.metadata["test_metrics"]) == set(fp32.classes)
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert out.stat().st_size < 0.5 * (trained / "model.onnx").stat().st_size


def test_quantized_outputs_close_to_fp32(quantized: tuple[Path, str, list[str]], trained: Path,
                                         ring_dataset: Path) -> None:
    out, _, _ = quantized
    fp32, int8 = load_model(trained / "model.onnx"), load_model(out)
    ds = load_manifest(ring_dataset)
    images = [sitk.ReadImage(str(s.image)) for s in ds.split("test") + ds.split("val")]
    ref = [sitk.GetArrayFromImage(m) for m in segment_images(fp32, images)]
    got = [sitk.GetArrayFromImage(m) for m in segment_images(int8, images)]
    for k in (1, 2):
        a = np.stack([r == k for r in ref])
        b = np.stack([g == k for g in got])
        dice = 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))
        assert dice >= 0.95, (k, dice)
    from twinflow.segmentation.preprocessing import image_to_window

    window = image_to_window(images[0], fp32.preprocessing)[None, ..., None]
    diff = np.abs(fp32.predict(window) - int8.predict(window))
    assert 0.0 < float(diff.max()) < 0.25  # quantized (not identical), yet close


def test_quantize_without_evaluation(trained: Path, ring_dataset: Path,
                                     tmp_path: Path) -> None:
    model = trained / "model.onnx"
    result = quantize_model(model, ring_dataset, tmp_path / "q.onnx",
                            QuantizeSettings(calibration_images=2, per_channel=False,
                                             reduce_range=False, evaluate=False))
    meta = load_model(result.model_path).metadata
    assert result.test_metrics is None and "test_metrics" not in meta
    # the source's metrics describe the float32 model: kept, but only under quantization
    assert meta["quantization"]["fp32_test_metrics"] == load_model(model).metadata["test_metrics"]
    assert meta["quantization"]["per_channel"] is False
    assert meta["quantization"]["weight_bits"] == 8
    assert meta["quantization"]["calibration_images"] == 2


def test_calibration_uses_training_images_only(ring_dataset: Path) -> None:
    ds = load_manifest(ring_dataset)
    train = ds.split("train")
    picked = calibration_samples(ds, 4)
    assert len(picked) == 4 and all(s in train for s in picked)
    assert picked[0] == train[0] and picked[-1] == train[-1]
    assert calibration_samples(ds, 10_000) == train


def test_quantize_errors(quantized: tuple[Path, str, list[str]], trained: Path, ring_dataset: Path,
                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = trained / "model.onnx"
    with pytest.raises(InputError, match="not found"):
        quantize_model(tmp_path / "none.onnx", ring_dataset, tmp_path / "q.onnx")
    with pytest.raises(InputError, match="overwrite"):
        quantize_model(model, ring_dataset, model)
    with pytest.raises(InputError, match=".onnx file"):
        quantize_model(model, ring_dataset, tmp_path / "q.txt")
    with pytest.raises(InputError, match="already quantized"):
        quantize_model(quantized[0], ring_dataset, tmp_path / "q.onnx")
    with pytest.raises(InputError, match=">= 1"):
        quantize_model(model, ring_dataset, tmp_path / "q.onnx",
                       QuantizeSettings(calibration_images=0, evaluate=False))
    with pytest.raises(InputError, match="manifest not found"):
        quantize_model(model, tmp_path, tmp_path / "q.onnx")
    manifest = json.loads((ring_dataset / "manifest.json").read_text())
    manifest.update(anatomy="left-ventricle", classes=["cavity", "myocardium"])
    for s in manifest["samples"]:  # absolute paths: the images stay where they are
        s["image"], s["mask"] = str(ring_dataset / s["image"]), str(ring_dataset / s["mask"])
    lv = tmp_path / "lv"
    lv.mkdir()
    (lv / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="data set is left-ventricle"):
        quantize_model(model, lv, tmp_path / "q.onnx")
    assert not (tmp_path / "q.onnx").exists()
    assert twinflow_main(["quantize", str(model), "--data", str(lv), "--out",
                          str(tmp_path / "q.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data set is left-ventricle" in err
