"""Inference throughput of the ``paper`` U-Net at 512 × 512: ONNX Runtime vs Keras (CPU).

The model has random weights (throughput does not depend on their values). Keras runs its
compiled ``predict_on_batch`` (TensorFlow graph, oneDNN on CPU); ONNX Runtime runs the model
exported by :func:`twinflow.segmentation.export.export_onnx` with all graph optimisations.
Both use every core the machine gives them. The measured numbers are written to
``benchmarks/results/segmentation_inference.json`` (and printed); copy them into
benchmarks/README.md when they change.

    .venv/bin/python benchmarks/segmentation_inference.py [--repeats 5] [--batch 1 4]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def _rate(fn, batch: np.ndarray, repeats: int) -> dict[str, float]:
    fn(batch)  # warm-up (graph tracing, ORT allocations)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(batch)
        times.append(time.perf_counter() - t0)
    best, median = min(times), float(np.median(times))
    return {"median_s_per_batch": median, "best_s_per_batch": best,
            "images_per_s": len(batch) / median}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "segmentation_inference.json")
    args = parser.parse_args()

    import keras
    import onnxruntime as ort
    import tensorflow as tf

    from twinflow.io import write_json_atomic
    from twinflow.segmentation.export import check_parity, export_onnx
    from twinflow.segmentation.infer import load_model
    from twinflow.segmentation.presets import PRESETS
    from twinflow.segmentation.unet import build_unet

    keras.utils.set_random_seed(0)
    preset = PRESETS["paper"]
    model = build_unet(preset, 2)
    rng = np.random.default_rng(0)
    results: dict[str, object] = {
        "model": {"preset": preset.name, "channels": list(preset.channels),
                  "input": [preset.input_size, preset.input_size, 1], "classes": 2,
                  "parameters": int(model.count_params())},
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor(),
                    "platform": platform.platform(), "shared_with_other_jobs": True},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "onnxruntime": ort.__version__},
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "paper.onnx"
        t0 = time.perf_counter()
        export_onnx(model, path, {"anatomy": "carotid", "classes": ["lumen", "wall"],
                                  "preprocessing": {"input_size": 512, "percentile_low": 1.0,
                                                    "percentile_high": 99.0,
                                                    "antialias": True, "version": 1}})
        results["export_seconds"] = round(time.perf_counter() - t0, 1)
        parity = check_parity(model, path, seed=1)
        results["parity_max_abs_diff"] = parity.max_abs_diff
        onnx_model = load_model(path)
        results["onnxruntime_provider"] = onnx_model.provider
        for b in args.batch:
            x = rng.random((b, 512, 512, 1), dtype=np.float32)
            keras_rate = _rate(lambda v: model.predict_on_batch(v), x, args.repeats)
            ort_rate = _rate(lambda v: onnx_model.session.run(None, {onnx_model.input_name: v}),
                             x, args.repeats)
            run = {"batch": b, "keras": keras_rate, "onnxruntime": ort_rate,
                   "load_average_1min_after": os.getloadavg()[0],
                   "speedup_onnxruntime_over_keras":
                       ort_rate["images_per_s"] / keras_rate["images_per_s"]}
            results["runs"].append(run)
            print(f"batch {b}: Keras {keras_rate['images_per_s']:.3f} img/s, ONNX Runtime "
                  f"{ort_rate['images_per_s']:.3f} img/s, speed-up "
                  f"{run['speedup_onnxruntime_over_keras']:.2f}x", flush=True)
    write_json_atomic(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
