"""``twinflow train``, ``twinflow quantize`` and ``twinflow segment`` sub-commands.

Heavy modules are imported inside the handlers: registering these commands costs nothing,
and ``twinflow segment`` and ``twinflow quantize`` never import TensorFlow.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from twinflow.segmentation.presets import PRESETS


def _train(args: argparse.Namespace) -> int:
    from twinflow.segmentation.augment import Augmentation
    from twinflow.segmentation.train import TrainSettings, train

    settings = TrainSettings(
        preset=args.preset, input_size=args.input_size, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, patience=args.patience,
        seed=args.seed, steps_per_epoch=args.steps_per_epoch,
        augmentation=Augmentation(vertical_flip=args.vertical_flip))
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    result = train(args.data, args.out, settings, save_keras=args.save_keras)
    print(json.dumps({"model": str(result.model_path), "epochs_run": result.epochs_run,
                      "seconds": round(result.seconds, 1),
                      "parity_max_abs_diff": result.parity_max_abs_diff,
                      "test_f1_dice": {c: round(m["f1_dice"], 4)
                                       for c, m in result.test_metrics.items()}}, indent=1))
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from twinflow.segmentation.quantize import QuantizeSettings, quantize_model

    settings = QuantizeSettings(calibration_images=args.calibration_images,
                                per_channel=not args.per_tensor,
                                reduce_range=not args.full_range,
                                evaluate=not args.no_evaluate)
    result = quantize_model(args.model, args.data, args.out, settings)

    def dice(metrics: dict[str, dict[str, float]] | None) -> dict[str, float] | None:
        return None if metrics is None else {c: round(m["f1_dice"], 4)
                                             for c, m in metrics.items()}

    print(json.dumps({"model": str(result.model_path),
                      "calibration_images": result.quantization["calibration_images"],
                      "dataset_is_training_data":
                          result.quantization["dataset_is_training_data"],
                      "test_f1_dice_int8": dice(result.test_metrics),
                      "test_f1_dice_fp32": dice(result.fp32_test_metrics)}, indent=1))
    return 0


def _segment(args: argparse.Namespace) -> int:
    from twinflow.segmentation.infer import _parse_thresholds, segment_case, segment_image

    thresholds = _parse_thresholds(args.thresholds)
    if args.case_json is not None:
        written = segment_case(args.case_json, args.input, args.model, args.output,
                               thresholds, args.batch_size)
        print(f"segmented {len(written)} image(s) into {args.output}")
    else:
        print(segment_image(args.model, args.input, args.output, thresholds))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    tr = subparsers.add_parser(
        "train", help="train a U-Net on a twinflow synth data set and export it to ONNX",
        description="Train, evaluate (test split) and export a segmentation U-Net.")
    tr.add_argument("data", type=Path, help="data set folder with manifest.json")
    tr.add_argument("--out", type=Path, required=True, help="output folder")
    tr.add_argument("--preset", choices=sorted(PRESETS), default="small")
    tr.add_argument("--input-size", type=int, default=None,
                    help="square input side in pixels (default: the preset's)")
    tr.add_argument("--epochs", type=int, default=60)
    tr.add_argument("--steps-per-epoch", type=int, default=None)
    tr.add_argument("--batch-size", type=int, default=8)
    tr.add_argument("--learning-rate", type=float, default=1e-3)
    tr.add_argument("--patience", type=int, default=8, help="early-stopping patience (epochs)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--vertical-flip", action="store_true",
                    help="also flip vertically (off: the transducer is at the top)")
    tr.add_argument("--threads", type=int, default=0, help="CPU threads (0: TensorFlow's)")
    tr.add_argument("--save-keras", action="store_true", help="also write model.keras")
    tr.set_defaults(func=_train)

    qz = subparsers.add_parser(
        "quantize", help="optional int8 (QDQ) copy of an ONNX model for faster CPU inference",
        description="Static int8 quantization (ONNX Runtime, QDQ) calibrated on training "
                    "images; the float32 model stays the reference. Evaluates both on the "
                    "test split unless --no-evaluate.")
    qz.add_argument("model", type=Path, help="float32 model.onnx from twinflow train")
    qz.add_argument("--data", type=Path, required=True,
                    help="the model's training data set folder (manifest.json)")
    qz.add_argument("--out", type=Path, required=True, help="output .onnx file")
    qz.add_argument("--calibration-images", type=int, default=32,
                    help="training images used for calibration (default 32)")
    qz.add_argument("--per-tensor", action="store_true",
                    help="one weight scale per tensor (default: per output channel)")
    qz.add_argument("--full-range", action="store_true",
                    help="8-bit weights (default 7-bit: no saturation on CPUs without VNNI)")
    qz.add_argument("--no-evaluate", action="store_true",
                    help="skip the fp32/int8 test-split evaluation")
    qz.set_defaults(func=_quantize)

    sg = subparsers.add_parser(
        "segment", help="segment an image (or every image of a case) with an ONNX model",
        description="Segment with ONNX Runtime; masks keep the image geometry.")
    sg.add_argument("--model", type=Path, required=True)
    sg.add_argument("input", type=Path, help="image file, or images folder with --case-json")
    sg.add_argument("output", type=Path, help="mask file, or masks folder with --case-json")
    sg.add_argument("--case-json", type=Path, default=None)
    sg.add_argument("--thresholds", help="comma-separated, one per class (default: model's)")
    sg.add_argument("--batch-size", type=int, default=4)
    sg.set_defaults(func=_segment)
