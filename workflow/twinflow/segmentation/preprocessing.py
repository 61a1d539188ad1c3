"""Pre-processing shared by training and inference (NumPy + SimpleITK, no TensorFlow).

An image of any size and pixel spacing is mapped onto the network's square input grid, the
"static window" of Geroski et al. (2023, J Big Data 10:72; 512×512 there):

1. intensities are normalised per image with robust percentiles,
   :math:`x = \\mathrm{clip}((v - p_{lo}) / (p_{hi} - p_{lo}), 0, 1)`, so that the gain of the
   scanner does not matter (the contrast still does, hence the gain/contrast augmentation);
2. the image is resampled (linear interpolation, after a Gaussian anti-aliasing filter of
   :math:`\\sigma = (s_{new}/s_{old} - 1)/2` source pixels when down-sampling) onto an
   ``N × N`` grid that covers a square field of view centred on the image, with side equal to
   the longer physical extent of the image; the aspect ratio is kept and the shorter side is
   padded with 0.

The network's per-class probabilities are mapped back onto the original image grid with
:func:`window_to_image` (linear interpolation), so masks keep the original geometry
(origin, spacing, direction). All settings are held in :class:`Preprocessing`, stored in the
ONNX model's metadata at export and read back at inference: what the model saw in training
is what it sees in use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import SimpleITK as sitk

from twinflow.errors import InputError

#: Version of the pre-processing recipe; a model with another version is refused.
PREPROCESSING_VERSION = 1


@dataclass(frozen=True, slots=True)
class Preprocessing:
    """Settings of the image → network-input mapping (see module docstring)."""

    input_size: int
    percentile_low: float = 1.0
    percentile_high: float = 99.0
    antialias: bool = True
    version: int = PREPROCESSING_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "model") -> Preprocessing:
        if data.get("version") != PREPROCESSING_VERSION:
            raise InputError(f"{source}: pre-processing version {data.get('version')!r} is not "
                             f"supported (expected {PREPROCESSING_VERSION})")
        try:
            return cls(input_size=int(data["input_size"]),
                       percentile_low=float(data["percentile_low"]),
                       percentile_high=float(data["percentile_high"]),
                       antialias=bool(data["antialias"]), version=int(data["version"]))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"{source}: bad pre-processing metadata ({err})") from None


def to_grey(image: sitk.Image) -> sitk.Image:
    """Return a 2D float32 scalar image (vector pixels are averaged, e.g. RGB screenshots)."""
    if image.GetDimension() == 3 and image.GetSize()[2] == 1:
        image = image[:, :, 0]
    if image.GetDimension() != 2:
        raise InputError(f"expected a 2D image, got {image.GetDimension()}D of size "
                         f"{image.GetSize()}")
    if image.GetNumberOfComponentsPerPixel() > 1:
        arr = sitk.GetArrayFromImage(image).astype(np.float32).mean(axis=-1)
        grey = sitk.GetImageFromArray(arr)
        grey.CopyInformation(image)
        return grey
    return sitk.Cast(image, sitk.sitkFloat32)


def normalise_intensity(array: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """Percentile normalisation to [0, 1] (module docstring, step 1)."""
    lo, hi = np.percentile(array, [prep.percentile_low, prep.percentile_high])
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise InputError("image contains non-finite intensities")
    scale = hi - lo if hi > lo else 1.0
    return np.clip((array - lo) / scale, 0.0, 1.0).astype(np.float32)


def window_reference(image: sitk.Image, size: int) -> sitk.Image:
    """The ``size × size`` grid covering the square field of view centred on ``image``."""
    in_size = np.array(image.GetSize(), dtype=float)
    in_spacing = np.array(image.GetSpacing(), dtype=float)
    side = float(np.max(in_size * in_spacing))
    spacing = side / size
    direction = np.array(image.GetDirection(), dtype=float).reshape(2, 2)
    centre = np.array(image.TransformContinuousIndexToPhysicalPoint(
        ((in_size - 1.0) / 2.0).tolist()))
    origin = centre - direction @ np.full(2, spacing * (size - 1) / 2.0)
    ref = sitk.Image([size, size], sitk.sitkFloat32)
    ref.SetSpacing((spacing, spacing))
    ref.SetOrigin(tuple(origin))
    ref.SetDirection(image.GetDirection())
    return ref


def image_to_window(image: sitk.Image, prep: Preprocessing) -> np.ndarray:
    """Map an image to the network input: ``(N, N)`` float32 in [0, 1] (rows = y)."""
    grey = to_grey(image)
    arr = normalise_intensity(sitk.GetArrayViewFromImage(grey).astype(np.float32), prep)
    norm = sitk.GetImageFromArray(arr)
    norm.CopyInformation(grey)
    ref = window_reference(grey, prep.input_size)
    if prep.antialias:
        ratio = np.array(ref.GetSpacing()) / np.array(grey.GetSpacing())
        sigma_px = np.maximum(ratio - 1.0, 0.0) / 2.0
        if np.any(sigma_px > 0):
            sigma_mm = np.maximum(sigma_px, 1e-6) * np.array(grey.GetSpacing())
            norm = sitk.SmoothingRecursiveGaussian(norm, sigma_mm.tolist())
    out = sitk.Resample(norm, ref, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(out).astype(np.float32)


def labels_to_window(labels: sitk.Image, image: sitk.Image, prep: Preprocessing) -> np.ndarray:
    """Map a label map (same grid as ``image``) to the window grid (nearest neighbour)."""
    ref = window_reference(to_grey(image), prep.input_size)
    lab = labels if labels.GetDimension() == 2 else labels[:, :, 0]
    out = sitk.Resample(lab, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0,
                        sitk.sitkUInt8)
    return sitk.GetArrayFromImage(out)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Channel ``k`` = (label == k + 1): shape ``labels.shape + (n_classes,)``, float32."""
    return np.stack([labels == k + 1 for k in range(n_classes)], axis=-1).astype(np.float32)


def window_to_image(prob: np.ndarray, image: sitk.Image, prep: Preprocessing) -> np.ndarray:
    """Resample per-class probabilities ``(N, N, C)`` back onto ``image``'s grid ``(H, W, C)``."""
    grey = to_grey(image)
    ref = window_reference(grey, prep.input_size)
    out = []
    for c in range(prob.shape[-1]):
        chan = sitk.GetImageFromArray(np.ascontiguousarray(prob[..., c], dtype=np.float32))
        chan.CopyInformation(ref)
        back = sitk.Resample(chan, grey, sitk.Transform(), sitk.sitkLinear, 0.0,
                             sitk.sitkFloat32)
        out.append(sitk.GetArrayFromImage(back))
    return np.stack(out, axis=-1)
