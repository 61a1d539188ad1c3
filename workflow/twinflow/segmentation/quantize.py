"""Optional static int8 quantization (QDQ) of an exported twinflow U-Net for faster CPU inference.

Why: on the reference machine (2-core AMD EPYC with AVX2 only — no AVX-512, no VNNI) the
float32 ``paper`` U-Net (52 M parameters, 512 × 512) runs at about 1.15 images/s with
ONNX Runtime versus 0.88 images/s with Keras (1.3×; batch 4: 0.96 vs 0.71 images/s, 1.4×).
89 % of the ONNX Runtime time is spent in ``Conv``, already in its blocked-layout MLAS kernels
with every graph optimisation, so float32 cannot get much faster. Static int8 quantization
in the QDQ format (activations ``QUInt8``, weights ``QInt8``, ranges from a calibration set)
lets ONNX Runtime run the convolutions with integer kernels: with this module's settings
``benchmarks/segmentation_inference.py`` measured 1.80 images/s at batch 1 (2.26× Keras) and
1.75 images/s at batch 4 (2.52×) on the quiet machine (2026-11-25; benchmarks/README.md).
The older QOperator format was no faster than float32 there. For
the small demo models (256 × 256, 8–64 channels) the gain is only about 1.1×.

This is an optional speed/accuracy trade-off. The float32 model stays the reference: it is
what ``twinflow train`` writes, what the demo models ship, and what the parity check against
Keras covers. An int8 model's masks differ slightly from the float32 model's; how much is
measured on the held-out test split when quantizing (:func:`quantize_model`, ``evaluate``)
and recorded for the demo models in models/README.md.

Recipe (ONNX Runtime ``onnxruntime.quantization``; project choices where not stated):

1. ``quant_pre_process`` (ONNX shape inference and basic graph optimisation; the symbolic
   shape inference is skipped — it needs SymPy and the graph has no symbolic arithmetic);
2. calibration inputs: ``calibration_images`` images of the **training** split of the data
   set the model was trained on (never validation or test), chosen evenly spaced in manifest
   order, each pre-processed exactly as inference does (:func:`.preprocessing.image_to_window`
   with the settings stored in the model), fed one at a time;
3. ``quantize_static`` in QDQ format with MinMax calibration: per-tensor ``QUInt8``
   activations, symmetric ``QInt8`` weights per output channel (``per_channel``) and reduced
   to 7 bits (``reduce_range``). Without VNNI, the AVX2 u8×s8 kernels add pairs of products
   in 16-bit integers and can saturate with full 8-bit weights; ONNX Runtime's own guidance
   (``quantize_static`` docstring, "Choosing parameters for CPU inference", onnxruntime 1.32)
   is ``QUInt8``/``QInt8`` with ``reduce_range=True`` on x86 CPUs without VNNI. Measured on
   the left-ventricle demo model (test split, Dice cavity / myocardium): float32
   0.965 / 0.951; 8-bit per-tensor weights 0.918 / 0.864; 7-bit per-channel 0.964 / 0.952.
   The 7-bit weights cost no speed (same kernels); ``QUInt8`` weights avoid saturation too but
   ran about 2× slower on the paper model.

The quantized model keeps every ``twinflow.*`` metadata entry of the source and adds
``twinflow.quantization`` (method, types, calibration split, image count, data set hash, hash
of the calibration inputs, source model hash, ONNX Runtime version). When the test split is
evaluated, ``twinflow.test_metrics`` describes the int8 model and the float32 model's metrics,
computed by the same code on the same split, go to ``quantization.fp32_test_metrics``; without
evaluation, the source's metrics are moved there, so ``test_metrics`` never describes another
model. The result loads with :func:`twinflow.segmentation.infer.load_model` like any exported
model. This module never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from twinflow.errors import InputError
from twinflow.segmentation.dataset import (
    Dataset,
    Sample,
    dataset_hash,
    load_manifest,
    read_image,
)
from twinflow.segmentation.infer import load_model, set_metadata
from twinflow.segmentation.preprocessing import Preprocessing, image_to_window

#: Description stored in ``twinflow.quantization.method``.
METHOD = "onnxruntime static int8, QDQ format"
#: Calibration split: the training images only, so the test split stays unseen.
CALIBRATION_SPLIT = "train"


@dataclass(frozen=True, slots=True)
class QuantizeSettings:
    """Choices of a quantization run (see the module docstring)."""

    calibration_images: int = 32
    per_channel: bool = True
    reduce_range: bool = True
    evaluate: bool = True


@dataclass(frozen=True, slots=True)
class QuantizeResult:
    model_path: Path
    quantization: dict[str, Any]
    test_metrics: dict[str, dict[str, float]] | None
    fp32_test_metrics: dict[str, dict[str, float]] | None


def calibration_samples(ds: Dataset, count: int) -> list[Sample]:
    """``count`` training samples evenly spaced in manifest order (all of them if fewer)."""
    if count < 1:
        raise InputError(f"calibration image count must be >= 1, got {count}")
    train = ds.split(CALIBRATION_SPLIT)
    if count >= len(train):
        return train
    idx = np.unique(np.linspace(0, len(train) - 1, count).round().astype(int))
    return [train[i] for i in idx]


def calibration_inputs(samples: list[Sample], prep: Preprocessing) -> np.ndarray:
    """Network inputs ``(B, N, N, 1)`` float32 of ``samples``, pre-processed as in inference."""
    windows = [image_to_window(read_image(s.image), prep) for s in samples]
    return np.stack(windows)[..., None].astype(np.float32)


class _Reader:
    """ONNX Runtime ``CalibrationDataReader``: one input image per call."""

    def __init__(self, input_name: str, inputs: np.ndarray) -> None:
        self._items = iter([{input_name: inputs[i:i + 1]} for i in range(len(inputs))])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)


def quantize_onnx(src: Path, dst: Path, input_name: str, inputs: np.ndarray,
                  per_channel: bool = True, reduce_range: bool = True) -> Path:
    """Static QDQ int8 quantization of the ONNX file ``src`` into ``dst`` (no metadata
    handling), calibrated with ``inputs`` ``(B, N, N, 1)`` (MinMax ranges)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(inputs) < 1:
        raise InputError(f"{src}: no calibration inputs")
    with tempfile.TemporaryDirectory(prefix="twinflow-quant-") as td:
        pre = Path(td) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(dst), _Reader(input_name, inputs),
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=per_channel,
                        reduce_range=reduce_range, calibrate_method=CalibrationMethod.MinMax)
    return dst


def quantize_model(model_path: Path, dataset_dir: Path, out_path: Path,
                   settings: QuantizeSettings | None = None) -> QuantizeResult:
    """Quantize an exported twinflow model to ``out_path`` (see the module docstring)."""
    settings = settings or QuantizeSettings()
    model_path, out_path = Path(model_path), Path(out_path)
    if out_path.resolve() == model_path.resolve():
        raise InputError(f"{out_path}: output would overwrite the float32 reference model")
    if out_path.suffix != ".onnx":
        raise InputError(f"{out_path}: output must be an .onnx file")
    source = load_model(model_path)
    if "quantization" in source.metadata:
        raise InputError(f"{model_path}: model is already quantized")
    ds = load_manifest(Path(dataset_dir))
    if ds.anatomy != source.anatomy or ds.classes != source.classes:
        raise InputError(f"{dataset_dir}: data set is {ds.anatomy} {list(ds.classes)} but "
                         f"model {model_path} is {source.anatomy} {list(source.classes)}")
    data_sha = dataset_hash(ds)
    trained_on = source.metadata.get("training_data_sha256")
    samples = calibration_samples(ds, settings.calibration_images)
    inputs = calibration_inputs(samples, source.preprocessing)
    quantization: dict[str, Any] = {
        "method": METHOD,
        "activation_type": "QUInt8",
        "weight_type": "QInt8",
        "per_channel": settings.per_channel,
        "weight_bits": 7 if settings.reduce_range else 8,
        "calibration_method": "MinMax",
        "calibration_split": CALIBRATION_SPLIT,
        "calibration_images": len(samples),
        "calibration_inputs_sha256": hashlib.sha256(inputs.tobytes()).hexdigest(),
        "dataset_sha256": data_sha,
        "dataset_is_training_data": None if trained_on is None else trained_on == data_sha,
        "source_model": model_path.name,
        "source_model_sha256": source.sha256,
        "onnxruntime": ort.__version__,
        "reference": "the float32 source model is the reference; this int8 model trades "
                     "accuracy for CPU speed",
    }
    meta = {k: v for k, v in source.metadata.items() if k != "test_metrics"}
    fp32_metrics = source.metadata.get("test_metrics")
    metrics = None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="twinflow-quant-", dir=out_path.parent) as td:
        raw = quantize_onnx(model_path, Path(td) / "int8.onnx", source.input_name, inputs,
                            settings.per_channel, settings.reduce_range)
        staged = set_metadata(raw, {**meta, "quantization": quantization},
                              target=Path(td) / "int8-meta.onnx")
        if settings.evaluate:
            from twinflow.segmentation.train import evaluate_onnx

            fp32_metrics = evaluate_onnx(model_path, ds, "test")["metrics"]
            metrics = evaluate_onnx(staged, ds, "test")["metrics"]
            meta["test_metrics"] = metrics
            quantization["test_split_patients"] = list(ds.splits["test"])
        if fp32_metrics is not None:
            quantization["fp32_test_metrics"] = fp32_metrics
        meta["quantization"] = quantization
        set_metadata(staged, meta, target=out_path)
    load_model(out_path)  # the result must open through the inference path
    return QuantizeResult(out_path, quantization, metrics, fp32_metrics)
