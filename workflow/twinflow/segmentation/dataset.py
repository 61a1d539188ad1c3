"""Segmentation data sets in the ``twinflow synth`` layout (no TensorFlow).

``<root>/manifest.json``::

    {"anatomy": "carotid" | "left-ventricle",
     "classes": ["lumen", "wall"] | ["cavity", "myocardium"],
     "splits": {"train": [patient ids], "val": [...], "test": [...]},
     "seed": int,
     "samples": [{"patient": id, "image": relpath, "mask": relpath, "view": str}, ...]}

Images are 2D NIfTI (grey, spacing in mm); masks are uint8 label maps on the same grid with
0 = background and ``k + 1`` = ``classes[k]``. The split is by patient (8:1:1 in Geroski et
al. 2023), so no patient's images leak between training, validation and test.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from twinflow.errors import InputError
from twinflow.segmentation.preprocessing import (
    Preprocessing,
    image_to_window,
    labels_to_window,
    one_hot,
)

SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True, slots=True)
class Sample:
    patient: str
    image: Path
    mask: Path
    view: str


@dataclass(frozen=True, slots=True)
class Dataset:
    root: Path
    anatomy: str
    classes: tuple[str, ...]
    splits: dict[str, tuple[str, ...]]
    seed: int
    samples: tuple[Sample, ...]

    def split(self, name: str) -> list[Sample]:
        patients = set(self.splits[name])
        return [s for s in self.samples if s.patient in patients]


def load_manifest(root: Path) -> Dataset:
    """Read and check ``root/manifest.json``; raise :class:`InputError` on any problem."""
    path = Path(root) / "manifest.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: data set manifest not found") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    for key in ("anatomy", "classes", "splits", "samples"):
        if key not in data:
            raise InputError(f"{path}: missing key {key!r}")
    classes = tuple(str(c) for c in data["classes"])
    if not classes:
        raise InputError(f"{path}: 'classes' is empty")
    splits = {name: tuple(str(p) for p in data["splits"].get(name, [])) for name in SPLITS}
    for name in SPLITS:
        if not splits[name]:
            raise InputError(f"{path}: split {name!r} has no patients")
    seen: dict[str, str] = {}
    for name in SPLITS:
        for patient in splits[name]:
            if patient in seen and seen[patient] != name:
                raise InputError(f"{path}: patient {patient!r} is in both {seen[patient]!r} "
                                 f"and {name!r} splits")
            seen[patient] = name
    samples = []
    for i, s in enumerate(data["samples"]):
        try:
            sample = Sample(str(s["patient"]), path.parent / s["image"], path.parent / s["mask"],
                            str(s.get("view", "")))
        except (KeyError, TypeError):
            raise InputError(f"{path}: samples[{i}] needs 'patient', 'image' and 'mask'") from None
        for f in (sample.image, sample.mask):
            if not f.is_file():
                raise InputError(f"{path}: samples[{i}]: file {f} not found")
        samples.append(sample)
    ds = Dataset(path.parent, str(data["anatomy"]), classes, splits, int(data.get("seed", 0)),
                 tuple(samples))
    for name in SPLITS:
        if not ds.split(name):
            raise InputError(f"{path}: split {name!r} has no samples")
    return ds


def dataset_hash(ds: Dataset) -> str:
    """SHA-256 over the manifest and every image and mask file (bytes), in manifest order."""
    h = hashlib.sha256()
    h.update((ds.root / "manifest.json").read_bytes())
    for s in ds.samples:
        for f in (s.image, s.mask):
            h.update(f.read_bytes())
    return h.hexdigest()


def read_image(path: Path) -> sitk.Image:
    """Read an image of a data set; unreadable files are one-line input errors."""
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise InputError(f"{path}: cannot read ({str(err).splitlines()[0]})") from None


def load_sample(sample: Sample, n_classes: int,
                prep: Preprocessing) -> tuple[np.ndarray, np.ndarray]:
    """Window one sample: image ``(N, N, 1)`` in [0, 1] and one-hot target ``(N, N, C)``."""
    image = read_image(sample.image)
    labels = read_image(sample.mask)
    if labels.GetSize()[:2] != image.GetSize()[:2]:
        raise InputError(f"{sample.mask}: size {labels.GetSize()} differs from image "
                         f"{image.GetSize()}")
    x = image_to_window(image, prep)[..., None]
    y = one_hot(labels_to_window(labels, image, prep), n_classes)
    return x, y


def load_split(ds: Dataset, name: str, prep: Preprocessing) -> tuple[np.ndarray, np.ndarray]:
    """Stack all windowed samples of split ``name``: ``(B, N, N, 1)`` and ``(B, N, N, C)``."""
    pairs = [load_sample(s, len(ds.classes), prep) for s in ds.split(name)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
