"""Pixel-wise segmentation metrics per class (NumPy), as in Table 1 of Geroski et al. 2023.

For class ``c`` with true-positive, false-positive and false-negative pixel counts pooled
over all test images:

.. math::
    P = \\frac{TP}{TP + FP},\\quad R = \\frac{TP}{TP + FN},\\quad
    F_1 = \\mathrm{Dice} = \\frac{2TP}{2TP + FP + FN},\\quad
    \\mathrm{IoU} = \\frac{TP}{TP + FP + FN}.

The mean and standard deviation of the per-image Dice are reported beside the pooled values.
A ratio with a zero denominator is 1 when the numerator is 0 too (nothing to find, nothing
found) — this only happens for a class absent from both masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _ratio(num: float, den: float) -> float:
    return 1.0 if den == 0 else float(num) / float(den)


@dataclass
class ClassCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    dice_per_image: list[float] = field(default_factory=list)

    def add(self, truth: np.ndarray, pred: np.ndarray) -> None:
        tp = int(np.count_nonzero(truth & pred))
        fp = int(np.count_nonzero(~truth & pred))
        fn = int(np.count_nonzero(truth & ~pred))
        self.tp += tp
        self.fp += fp
        self.fn += fn
        self.dice_per_image.append(_ratio(2 * tp, 2 * tp + fp + fn))

    def summary(self) -> dict[str, float]:
        d = np.array(self.dice_per_image) if self.dice_per_image else np.array([np.nan])
        return {
            "precision": _ratio(self.tp, self.tp + self.fp),
            "recall": _ratio(self.tp, self.tp + self.fn),
            "f1_dice": _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn),
            "iou": _ratio(self.tp, self.tp + self.fp + self.fn),
            "dice_per_image_mean": float(np.mean(d)),
            "dice_per_image_std": float(np.std(d)),
            "images": len(self.dice_per_image),
        }


def segmentation_metrics(truths: Sequence[np.ndarray], preds: Sequence[np.ndarray],
                         classes: Sequence[str]) -> dict[str, dict[str, float]]:
    """Metrics per class from label maps (``k + 1`` = ``classes[k]``)."""
    counts = {c: ClassCounts() for c in classes}
    for truth, pred in zip(truths, preds, strict=True):
        for k, c in enumerate(classes):
            counts[c].add(truth == k + 1, pred == k + 1)
    return {c: counts[c].summary() for c in classes}


def metrics_markdown(metrics: dict[str, dict[str, float]], title: str,
                     notes: Sequence[str] = ()) -> str:
    """A Markdown table like Table 1 of Geroski et al. (2023)."""
    lines = [f"# {title}", "",
             "| class | precision | recall | F1 (Dice) | IoU | Dice per image (mean ± sd) "
             "| images |",
             "|---|---|---|---|---|---|---|"]
    for c, m in metrics.items():
        lines.append(f"| {c} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1_dice']:.4f} "
                     f"| {m['iou']:.4f} | {m['dice_per_image_mean']:.4f} ± "
                     f"{m['dice_per_image_std']:.4f} | {m['images']} |")
    lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def history_f1(history: dict[str, list[float]]) -> dict[str, list[Any]]:
    """Add pixel-wise F1 = 2PR/(P+R) curves to a Keras history with precision/recall."""
    out = dict(history)
    for prefix in ("", "val_"):
        p = history.get(f"{prefix}precision")
        r = history.get(f"{prefix}recall")
        if p is not None and r is not None:
            out[f"{prefix}f1"] = [_ratio(2 * a * b, a + b) if a + b else 0.0
                                  for a, b in zip(p, r, strict=True)]
    return out
