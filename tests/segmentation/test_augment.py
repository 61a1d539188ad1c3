"""Augmentation keeps images and masks aligned, in range and reproducible."""

from __future__ import annotations

import numpy as np

from twinflow.segmentation.augment import Augmentation, augment_batch, augment_pair


def _pair() -> tuple[np.ndarray, np.ndarray]:
    y = np.zeros((48, 48, 2), np.float32)
    y[10:30, 5:20, 0] = 1.0
    y[30:40, 20:45, 1] = 1.0
    x = (0.2 + 0.6 * y[..., :1] + 0.1 * y[..., 1:]).astype(np.float32)
    return x, y


def test_geometric_transforms_move_image_and_mask_together() -> None:
    x, y = _pair()
    aug = Augmentation(gain_range=(1, 1), gamma_range=(1, 1), speckle_sigma_max=0.0)
    for seed in range(5):
        xa, ya = augment_pair(x, y, np.random.default_rng(seed), aug)
        assert set(np.unique(ya)) <= {0.0, 1.0}
        # where the mask says class 0 the image is bright, elsewhere it is not
        img = xa[..., 0]
        assert img[ya[..., 0] == 1].mean() > 0.6
        assert img[(ya.sum(-1) == 0) & (img > 0)].mean() < 0.3


def test_intensity_augmentation_stays_in_range_and_is_seeded() -> None:
    x, y = _pair()
    aug = Augmentation()
    a = augment_batch(np.stack([x, x]), np.stack([y, y]), np.random.default_rng(7), aug)
    b = augment_batch(np.stack([x, x]), np.stack([y, y]), np.random.default_rng(7), aug)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].min() >= 0.0 and a[0].max() <= 1.0 and a[0].dtype == np.float32
    assert not np.array_equal(a[0][0], a[0][1])  # independent draws per image


def test_no_vertical_flip_by_default() -> None:
    x, y = _pair()
    aug = Augmentation(max_rotation_deg=0, max_scale=0, gain_range=(1, 1), gamma_range=(1, 1),
                       speckle_sigma_max=0.0)
    for seed in range(10):
        _, ya = augment_pair(x, y, np.random.default_rng(seed), aug)
        rows = np.nonzero(ya[..., 0].any(axis=1))[0]
        assert rows.min() == 10 and rows.max() == 29
