"""Inference throughput of the ``paper`` U-Net at 512 × 512: Keras vs ONNX Runtime float32
vs ONNX Runtime int8 (QDQ) on the CPU.

The model has random weights (throughput does not depend on their values). Keras runs its
compiled ``predict_on_batch`` (TensorFlow graph, oneDNN on CPU); ONNX Runtime runs the model
exported by :func:`twinflow.segmentation.export.export_onnx` with all graph optimisations
(through :func:`twinflow.segmentation.infer.load_model`), and the int8 copy made by
:func:`twinflow.segmentation.quantize.quantize_onnx` with the defaults of ``twinflow
quantize`` (QDQ, ``QUInt8`` activations, 7-bit per-channel ``QInt8`` weights). That copy is
calibrated on ``--calibration`` (default 4) **uniform random images in [0, 1]** — the input
range after pre-processing; calibration ranges change the int8 model's accuracy, not its
speed, so no data set is needed here (the accuracy cost is measured on the demo models, see
models/README.md). All three use every core the machine gives them and are timed
round-robin (one call of each per repeat), so a change of machine load hits them alike.

Recorded with the numbers: CPU model and SIMD flags (AVX2 / AVX-512 / VNNI decide which
integer kernels ONNX Runtime can use), the load average before the run (other jobs) and
around each batch size, and the library versions. Output:
``benchmarks/results/segmentation_inference.json`` (and a Markdown table on stdout for
benchmarks/README.md). About 4–5 min on 2 quiet cores, most of it the ONNX export.

    .venv/bin/python benchmarks/segmentation_inference.py [--repeats 5] [--batch 1 4]
    .venv/bin/python benchmarks/segmentation_inference.py --preset tiny --repeats 1 \
        --out /tmp/check.json   # a one-minute check that the script runs
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

#: ``/proc/cpuinfo`` flags that decide the integer (int8) and float kernels available.
SIMD_FLAGS: tuple[str, ...] = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni",
                               "avx_vnni", "amx_int8")


#: 1-min load average before the run from which the machine counts as busy (other processes
#: using half a core or more); a busy machine slows all three engines, not always alike.
BUSY_LOAD = 0.5


def cpu_info() -> dict[str, Any]:
    """CPU model and the SIMD flags of :data:`SIMD_FLAGS` (Linux ``/proc/cpuinfo``)."""
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return {"model": model, "cpu_count": os.cpu_count(),
            "flags": {f: f in flags for f in SIMD_FLAGS}}


def _rates(fns: dict[str, Callable[[np.ndarray], Any]], batch: np.ndarray,
           repeats: int) -> dict[str, dict[str, float]]:
    """Median and best seconds per batch of each function, timed round-robin."""
    for fn in fns.values():
        fn(batch)  # warm-up (graph tracing, ORT allocations)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(batch)
            times[name].append(time.perf_counter() - t0)
    out = {}
    for name, ts in times.items():
        median = float(np.median(ts))
        out[name] = {"median_s_per_batch": median, "best_s_per_batch": min(ts),
                     "images_per_s": len(batch) / median}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--preset", default="paper",
                        help="U-Net preset (default paper; others only for a quick check)")
    parser.add_argument("--calibration", type=int, default=4,
                        help="random calibration images for the int8 model")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "segmentation_inference.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    if load_before[0] >= BUSY_LOAD:
        print(f"warning: load average {load_before[0]:.2f} before the run: other jobs are "
              "running, throughputs will be low", flush=True)
    t_start = time.perf_counter()

    import keras
    import onnx
    import onnxruntime as ort
    import tensorflow as tf

    from twinflow.io import write_json_atomic
    from twinflow.segmentation.export import check_parity, export_onnx
    from twinflow.segmentation.infer import load_model, set_metadata
    from twinflow.segmentation.presets import get_preset
    from twinflow.segmentation.quantize import quantize_onnx
    from twinflow.segmentation.unet import build_unet

    keras.utils.set_random_seed(0)
    preset = get_preset(args.preset)
    size = preset.input_size
    model = build_unet(preset, 2)
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": {"preset": preset.name, "channels": list(preset.channels),
                  "input": [size, size, 1], "classes": 2,
                  "parameters": int(model.count_params()), "weights": "random"},
        "machine": {**cpu_info(), "platform": platform.platform(),
                    "load_average_before": [round(v, 2) for v in load_before],
                    "busy": load_before[0] >= BUSY_LOAD},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "tensorflow": tf.__version__, "keras": keras.__version__,
                     "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "int8": {"format": "QDQ", "activations": "QUInt8", "weights": "QInt8, 7-bit, "
                 "per output channel", "calibration": f"{args.calibration} uniform random "
                 "images in [0, 1]", "calibration_method": "MinMax"},
        "runs": [],
    }
    metadata = {"anatomy": "carotid", "classes": ["lumen", "wall"],
                "preprocessing": {"input_size": size, "percentile_low": 1.0,
                                  "percentile_high": 99.0, "antialias": True, "version": 1}}
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "paper.onnx"
        t0 = time.perf_counter()
        export_onnx(model, path, metadata)
        results["export_seconds"] = round(time.perf_counter() - t0, 1)
        parity = check_parity(model, path, seed=1)
        results["parity_max_abs_diff"] = parity.max_abs_diff
        fp32 = load_model(path)
        t0 = time.perf_counter()
        calibration = rng.random((args.calibration, size, size, 1), dtype=np.float32)
        raw = quantize_onnx(path, Path(td) / "raw-int8.onnx", fp32.input_name, calibration)
        int8 = load_model(set_metadata(raw, metadata, target=Path(td) / "paper-int8.onnx"))
        results["quantize_seconds"] = round(time.perf_counter() - t0, 1)
        results["file_mb"] = {"fp32": round(path.stat().st_size / 2**20, 1),
                              "int8": round(int8.path.stat().st_size / 2**20, 1)}
        results["onnxruntime_provider"] = fp32.provider
        print(f"export {results['export_seconds']} s, quantize {results['quantize_seconds']} s,"
              f" load average before {load_before[0]:.2f}", flush=True)
        fns: dict[str, Callable[[np.ndarray], Any]] = {
            "keras": lambda v: model.predict_on_batch(v),
            "onnxruntime_fp32": lambda v: fp32.session.run(None, {fp32.input_name: v}),
            "onnxruntime_int8": lambda v: int8.session.run(None, {int8.input_name: v}),
        }
        for b in args.batch:
            x = rng.random((b, size, size, 1), dtype=np.float32)
            load_start = os.getloadavg()[0]
            rates = _rates(fns, x, args.repeats)
            keras_ips = rates["keras"]["images_per_s"]
            run = {"batch": b, **rates,
                   "load_average_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
                   "speedup_over_keras": {
                       k: rates[k]["images_per_s"] / keras_ips
                       for k in ("onnxruntime_fp32", "onnxruntime_int8")}}
            results["runs"].append(run)
            print(f"batch {b}: Keras {keras_ips:.3f} img/s, ORT fp32 "
                  f"{rates['onnxruntime_fp32']['images_per_s']:.3f} img/s "
                  f"({run['speedup_over_keras']['onnxruntime_fp32']:.2f}x), ORT int8 "
                  f"{rates['onnxruntime_int8']['images_per_s']:.3f} img/s "
                  f"({run['speedup_over_keras']['onnxruntime_int8']:.2f}x)", flush=True)
    results["total_seconds"] = round(time.perf_counter() - t_start, 1)
    write_json_atomic(args.out, results)
    print(f"wrote {args.out} ({results['total_seconds']} s)")
    print("\n| batch | Keras img/s | ORT fp32 img/s (× Keras) | ORT int8 QDQ img/s (× Keras) "
          "| load avg 1 min (start, end) |\n|---|---|---|---|---|")
    for run in results["runs"]:
        s = run["speedup_over_keras"]
        print(f"| {run['batch']} | {run['keras']['images_per_s']:.3f} "
              f"| {run['onnxruntime_fp32']['images_per_s']:.3f} ({s['onnxruntime_fp32']:.2f}×) "
              f"| {run['onnxruntime_int8']['images_per_s']:.3f} ({s['onnxruntime_int8']:.2f}×) "
              f"| {run['load_average_1min'][0]:.2f}, {run['load_average_1min'][1]:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
