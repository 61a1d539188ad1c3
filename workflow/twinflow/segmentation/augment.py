"""Data augmentation for windowed images and one-hot masks (NumPy + SciPy).

Geroski et al. (2023, J Big Data 10:72) augmented their small ultrasound training set without
listing the transforms; these are the project's choices, each plausible for B-mode and
echo images:

* horizontal flip (left/right carotid, mirrored probe orientation, mirrored apical views);
  no vertical flip by default: the skin/transducer is always at the top of the image;
* rotation by a uniform angle in ±``max_rotation_deg`` and isotropic scaling in
  ``[1 - max_scale, 1 + max_scale]`` about the window centre (linear interpolation for the
  image, nearest neighbour for the masks);
* gain :math:`x \\to g x` and contrast (gamma) :math:`x \\to x^{\\gamma}`;
* multiplicative speckle :math:`x \\to x (1 + \\sigma n)`, :math:`n \\sim N(0, 1)` per pixel.

Images stay clipped to [0, 1], the range of :func:`~.preprocessing.normalise_intensity`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage


@dataclass(frozen=True, slots=True)
class Augmentation:
    horizontal_flip: bool = True
    vertical_flip: bool = False
    max_rotation_deg: float = 10.0
    max_scale: float = 0.1
    gain_range: tuple[float, float] = (0.8, 1.2)
    gamma_range: tuple[float, float] = (0.8, 1.25)
    speckle_sigma_max: float = 0.15

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _affine(x: np.ndarray, y: np.ndarray, angle_rad: float,
            scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate and scale (N, N, ·) arrays about the centre; output pixel o samples input
    ``M @ (o - c) + c`` with ``M = R(angle) / scale``."""
    n = x.shape[0]
    c = np.array([(n - 1) / 2.0, (n - 1) / 2.0])
    cos, sin = np.cos(angle_rad), np.sin(angle_rad)
    m = np.array([[cos, -sin], [sin, cos]]) / scale
    offset = c - m @ c
    xo = np.empty_like(x)
    yo = np.empty_like(y)
    for k in range(x.shape[-1]):
        xo[..., k] = ndimage.affine_transform(x[..., k], m, offset, order=1, mode="constant",
                                              cval=0.0)
    for k in range(y.shape[-1]):
        yo[..., k] = ndimage.affine_transform(y[..., k], m, offset, order=0, mode="constant",
                                              cval=0.0)
    return xo, yo


def augment_pair(x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                 aug: Augmentation) -> tuple[np.ndarray, np.ndarray]:
    """Augment one image ``(N, N, 1)`` and its one-hot target ``(N, N, C)`` (module docstring)."""
    if aug.horizontal_flip and rng.random() < 0.5:
        x, y = x[:, ::-1], y[:, ::-1]
    if aug.vertical_flip and rng.random() < 0.5:
        x, y = x[::-1], y[::-1]
    angle = np.deg2rad(rng.uniform(-aug.max_rotation_deg, aug.max_rotation_deg))
    scale = rng.uniform(1.0 - aug.max_scale, 1.0 + aug.max_scale)
    if angle != 0.0 or scale != 1.0:
        x, y = _affine(np.ascontiguousarray(x), np.ascontiguousarray(y), angle, scale)
    gain = rng.uniform(*aug.gain_range)
    gamma = rng.uniform(*aug.gamma_range)
    x = np.clip(x * gain, 0.0, 1.0) ** gamma
    sigma = rng.uniform(0.0, aug.speckle_sigma_max)
    x = x * (1.0 + sigma * rng.standard_normal(x.shape))
    return np.clip(x, 0.0, 1.0).astype(np.float32), np.ascontiguousarray(y, dtype=np.float32)


def augment_batch(x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                  aug: Augmentation) -> tuple[np.ndarray, np.ndarray]:
    """Augment every pair of a batch independently."""
    pairs = [augment_pair(xi, yi, rng, aug) for xi, yi in zip(x, y, strict=True)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
