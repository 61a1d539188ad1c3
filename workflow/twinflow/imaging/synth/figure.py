"""Figure of synthetic samples: screens (top), windowed image, then one mask per class.

Like Fig. 4 (variety of screens) and Fig. 6 (image, lumen mask, wall mask) of Geroski et al.
(2023, J Big Data 10:72).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twinflow.io import atomic_path


def sample_figure(anatomy: str, shown: list[tuple[str, Any, np.ndarray, np.ndarray]],
                  path: Path, columns: int = 4) -> Path:
    """Draw up to ``columns`` samples (patient, RenderedView, image, mask) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # prefer distinct views/patients: take every other sample when there are enough
    picks = shown[::2][:columns] if len(shown) >= 2 * columns else shown[:columns]
    classes = ("lumen", "wall") if anatomy == "carotid" else ("cavity", "myocardium")
    rows = 3 + len(classes) - 1
    fig, axes = plt.subplots(rows, len(picks), figsize=(3.2 * len(picks), 3.0 * rows),
                             squeeze=False)
    for j, (patient, view, image, mask) in enumerate(picks):
        axes[0, j].imshow(view.screen.rgb)
        axes[0, j].set_title(f"{patient} {view.name}", fontsize=8)
        axes[1, j].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[1, j].contour(mask == 1, levels=[0.5], colors="tab:red", linewidths=0.6)
        axes[1, j].contour(mask >= 1, levels=[0.5], colors="tab:cyan", linewidths=0.6)
        for k in range(len(classes)):
            axes[2 + k, j].imshow(mask == k + 1, cmap="gray")
        if j == 0:
            labels = ["screen", "window + truth"] + [f"{c} mask" for c in classes]
            for k, label in enumerate(labels):
                axes[k, 0].set_ylabel(label)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"twinflow synth {anatomy}: synthetic screens, 512 x 512 window and masks",
                 fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
        tmp.chmod(0o644)
    plt.close(fig)
    return path
