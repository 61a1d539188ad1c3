"""Pre-processing after Geroski et al. (2023, J Big Data 10:72): static window, normalisation.

The source images differ in colour scale, brightness/contrast, frames and parameter tables
at the side (their Fig. 4). Two steps make them comparable:

1. **Static analysis window** — a fixed ``rows × cols`` pixel window (512 × 512 in the
   paper) is cut out of every frame. By default the window is centred on the *content box*,
   the bounding box of the image area proper: pixels whose local occupancy
   (fraction of pixels above 4 % of the 99.5th percentile in a 31 × 31 neighbourhood,
   ``scipy.ndimage.uniform_filter``) exceeds 0.5, holes filled, largest connected component
   (``scipy.ndimage.label``). Text tables and frame lines are sparse and drop out; a dark
   lumen inside the tissue is a hole and stays in. ``window_origin`` ([row, col]) fixes the
   window instead, as the paper did per artery side. Pixels outside the frame are 0.
2. **Intensity normalisation**, statistics taken inside the content box only (so tables
   and frames do not count): ``percentile`` maps the 1st–99th percentile to [0, 1] and clips;
   ``zscore`` gives zero mean and unit variance; ``none`` keeps the values.

The window moves the image origin, so physical coordinates are preserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from twinflow.errors import InputError

#: Paper default (Geroski et al. 2023): 512 × 512 pixel static window.
DEFAULT_WINDOW: tuple[int, int] = (512, 512)
NORMALISATIONS: tuple[str, ...] = ("percentile", "zscore", "none")


@dataclass(frozen=True, slots=True)
class Window:
    """A pixel window: top-left ``(row0, col0)`` (may be negative) and size ``(rows, cols)``."""

    row0: int
    col0: int
    rows: int
    cols: int

    def cut(self, array: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Cut the window out of the last two axes of ``array``, padding with ``fill``."""
        out = np.full(array.shape[:-2] + (self.rows, self.cols), fill, dtype=array.dtype)
        r0, c0 = max(self.row0, 0), max(self.col0, 0)
        r1 = min(self.row0 + self.rows, array.shape[-2])
        c1 = min(self.col0 + self.cols, array.shape[-1])
        if r1 > r0 and c1 > c0:
            out[..., r0 - self.row0:r1 - self.row0, c0 - self.col0:c1 - self.col0] = \
                array[..., r0:r1, c0:c1]
        return out


def content_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box ``(row0, col0, row1, col1)`` (half-open) of the image area proper."""
    frame = np.asarray(frame, dtype=np.float32)
    top = float(np.percentile(frame, 99.5))
    if top <= 0:
        return 0, 0, frame.shape[0], frame.shape[1]
    occupied = (frame > 0.04 * top).astype(np.float32)
    density = ndimage.uniform_filter(occupied, size=31, mode="constant")
    region = ndimage.binary_fill_holes(density > 0.5)
    labels, n = ndimage.label(region)
    if n == 0:
        return 0, 0, frame.shape[0], frame.shape[1]
    sizes = ndimage.sum_labels(region, labels, index=np.arange(1, n + 1))
    largest = labels == (1 + int(np.argmax(sizes)))
    rows = np.flatnonzero(largest.any(axis=1))
    cols = np.flatnonzero(largest.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def choose_window(frame: np.ndarray, size: Sequence[int] = DEFAULT_WINDOW,
                  origin: Sequence[int] | None = None) -> tuple[Window, tuple[int, int, int, int]]:
    """The static window for ``frame`` (module docstring, step 1) and the content box."""
    if len(size) != 2 or min(int(v) for v in size) < 8:
        raise InputError(f"preprocessing.window must be [rows, cols] >= 8 pixels, got {size}")
    rows, cols = int(size[0]), int(size[1])
    box = content_box(frame)
    if origin is not None:
        return Window(int(origin[0]), int(origin[1]), rows, cols), box
    centre_r, centre_c = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
    return Window(centre_r - rows // 2, centre_c - cols // 2, rows, cols), box


def normalise(array: np.ndarray, method: str = "percentile",
              region: tuple[int, int, int, int] | None = None,
              percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """Normalise intensities of ``array`` (module docstring, step 2); float32 result.

    ``region`` ``(row0, col0, row1, col1)`` restricts the statistics to the content box of
    the last two axes.
    """
    array = np.asarray(array, dtype=np.float32)
    sample = array if region is None else array[..., region[0]:region[2], region[1]:region[3]]
    if sample.size == 0:
        sample = array
    if method == "percentile":
        lo, hi = np.percentile(sample, percentiles)
        if hi <= lo:
            return np.zeros_like(array)
        return np.clip((array - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    if method == "zscore":
        std = float(sample.std())
        return ((array - float(sample.mean())) / (std if std > 0 else 1.0)).astype(np.float32)
    if method == "none":
        return array
    raise InputError(f"preprocessing.normalisation {method!r} is not one of "
                     f"{', '.join(NORMALISATIONS)}")
