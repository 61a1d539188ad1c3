"""Metrics per class against hand-counted confusion numbers."""

from __future__ import annotations

import numpy as np
import pytest

from twinflow.segmentation.metrics import history_f1, metrics_markdown, segmentation_metrics


def test_metrics_from_known_counts() -> None:
    truth = np.zeros((4, 5), np.uint8)
    pred = np.zeros((4, 5), np.uint8)
    truth[0, :4] = 1  # 4 lumen pixels
    pred[0, 1:5] = 1  # 3 TP, 1 FP, 1 FN
    truth[2, :] = 2
    pred[2, :] = 2  # wall perfect
    m = segmentation_metrics([truth], [pred], ["lumen", "wall"])
    assert m["lumen"]["precision"] == pytest.approx(0.75)
    assert m["lumen"]["recall"] == pytest.approx(0.75)
    assert m["lumen"]["f1_dice"] == pytest.approx(0.75)
    assert m["lumen"]["iou"] == pytest.approx(3 / 5)
    assert m["wall"]["f1_dice"] == 1.0
    table = metrics_markdown(m, "t")
    assert "| lumen | 0.7500 | 0.7500 | 0.7500 | 0.6000 |" in table


def test_history_f1() -> None:
    h = history_f1({"precision": [0.5, 0.0], "recall": [1.0, 0.0],
                    "val_precision": [1.0], "val_recall": [1.0]})
    assert h["f1"] == pytest.approx([2 / 3, 0.0]) and h["val_f1"] == [1.0]
