"""Pre-processing: window geometry, normalisation, round trip back to the image grid."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from twinflow.errors import InputError
from twinflow.segmentation.preprocessing import (
    Preprocessing,
    image_to_window,
    labels_to_window,
    normalise_intensity,
    one_hot,
    window_reference,
    window_to_image,
)


def _image(shape=(60, 90), spacing=(0.2, 0.1)) -> sitk.Image:
    img = sitk.GetImageFromArray(np.random.default_rng(0).random(shape).astype(np.float32))
    img.SetSpacing(spacing)
    img.SetOrigin((5.0, -3.0))
    return img


def test_window_is_square_centred_and_covers_the_longer_side() -> None:
    img = _image()  # extent x = 90 * 0.2 = 18 mm, y = 60 * 0.1 = 6 mm
    ref = window_reference(img, 32)
    assert ref.GetSize() == (32, 32)
    assert ref.GetSpacing() == pytest.approx((18 / 32, 18 / 32))
    c_img = img.TransformContinuousIndexToPhysicalPoint((44.5, 29.5))
    c_ref = ref.TransformContinuousIndexToPhysicalPoint((15.5, 15.5))
    assert c_ref == pytest.approx(c_img)


def test_normalisation_is_gain_invariant_and_in_unit_range() -> None:
    prep = Preprocessing(input_size=32)
    a = np.random.default_rng(1).gamma(2.0, 10.0, (50, 50))
    n1, n2 = normalise_intensity(a, prep), normalise_intensity(3.7 * a, prep)
    assert n1.min() >= 0.0 and n1.max() <= 1.0
    np.testing.assert_allclose(n1, n2, atol=1e-6)


def test_labels_round_trip_through_the_window() -> None:
    """A disc mapped to the window and back keeps its place and area (spacing kept)."""
    shape, spacing = (80, 120), (0.1, 0.1)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    labels = (np.hypot(yy - 40, xx - 70) < 18).astype(np.uint8)
    img = sitk.GetImageFromArray(np.random.default_rng(2).random(shape).astype(np.float32))
    img.SetSpacing(spacing)
    lab = sitk.GetImageFromArray(labels)
    lab.CopyInformation(img)
    prep = Preprocessing(input_size=64)
    win = one_hot(labels_to_window(lab, img, prep), 1)
    assert win.shape == (64, 64, 1)
    back = window_to_image(win, img, prep)[..., 0] >= 0.5
    assert back.shape == shape
    dice = 2 * np.sum(back & (labels == 1)) / (back.sum() + labels.sum())
    assert dice > 0.95


def test_window_of_rgb_image_and_metadata_round_trip() -> None:
    rgb = sitk.GetImageFromArray(np.full((20, 30, 3), 100, np.uint8), isVector=True)
    prep = Preprocessing(input_size=16)
    win = image_to_window(rgb, prep)
    assert win.shape == (16, 16) and win.dtype == np.float32
    assert Preprocessing.from_dict(prep.to_dict()) == prep
    with pytest.raises(InputError, match="version"):
        Preprocessing.from_dict({**prep.to_dict(), "version": 99})
