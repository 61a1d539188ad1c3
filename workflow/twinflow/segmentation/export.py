"""Export a Keras U-Net to ONNX with twinflow metadata, and check Keras/ONNX Runtime parity.

The graph is converted by Keras 3's ``model.export(path, format="onnx")`` (tf2onnx), with a
dynamic batch dimension. Metadata goes into the model's ``metadata_props`` as
``twinflow.<key>`` = JSON value (classes, anatomy, pre-processing, preset, thresholds,
training data hash, test metrics, ...); :func:`twinflow.segmentation.infer.read_metadata`
reads it back. Writing metadata does not touch the graph, so metrics computed with a model
before its metadata was completed still describe it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import onnxruntime as ort

from twinflow.segmentation.infer import METADATA_PREFIX, set_metadata  # noqa: F401  (re-export)

#: Opset used for export; supported by onnxruntime >= 1.20.
ONNX_OPSET = 17
PARITY_TOLERANCE = 1e-4


def export_onnx(model: keras.Model, path: Path, metadata: dict[str, Any]) -> Path:
    """Export ``model`` to ``path`` (atomically) and store ``metadata``."""
    path = Path(path)
    spec = keras.InputSpec(shape=(None, *model.input_shape[1:]), dtype="float32",
                           name=model.inputs[0].name)
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as td:
        raw = Path(td) / "raw.onnx"
        model.export(str(raw), format="onnx", verbose=False, input_signature=[spec],
                     opset_version=ONNX_OPSET)
        set_metadata(raw, metadata, target=path)
    return path


@dataclass(frozen=True, slots=True)
class Parity:
    max_abs_diff: float
    tolerance: float
    samples: int

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def check_parity(model: keras.Model, onnx_path: Path, inputs: np.ndarray | None = None,
                 seed: int = 0, tolerance: float = PARITY_TOLERANCE) -> Parity:
    """Max |Keras − ONNX Runtime| over ``inputs`` (default: 2 uniform random images)."""
    if inputs is None:
        rng = np.random.default_rng(seed)
        inputs = rng.random((2, *model.input_shape[1:]), dtype=np.float32)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    diff = 0.0
    for start in range(0, len(inputs), 2):
        batch = np.ascontiguousarray(inputs[start:start + 2], dtype=np.float32)
        ref = np.asarray(model(batch, training=False))
        got = session.run(None, {name: batch})[0]
        diff = max(diff, float(np.max(np.abs(ref - got))))
    return Parity(diff, tolerance, len(inputs))
