"""Segmentation inference through ONNX Runtime only (this module never imports TensorFlow).

For each image: pre-process with the settings stored in the model (:mod:`.preprocessing`),
run the U-Net in batches, resample per-class probabilities back onto the image grid,
threshold (0.5 by default, per class), resolve overlaps by the highest probability, drop
small spurious connected components of each class (8-connectivity; everything below 2 % of
the largest component, see :data:`MIN_COMPONENT_FRACTION`; optional), and write a uint8
label map (0 background, ``k + 1`` = ``classes[k]``) with the image's origin, spacing and
direction.

The execution provider is chosen automatically: CUDA when ``onnxruntime-gpu`` offers it and a
GPU initialises, otherwise CPU (ONNX Runtime falls back by itself; the provider actually used
is reported in the masks manifest).

Command line: ``twinflow segment --settings S --images IMAGES_MANIFEST --model M.onnx
--out MASKS_MANIFEST`` (stage ``segment``, rules/segmentation.smk) and ``twinflow
segment-image --model M.onnx IMAGE MASK``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import SimpleITK as sitk
from scipy import ndimage

from twinflow.artifacts.images import (
    ComponentCleanup,
    ImagesManifest,
    Mask,
    MasksManifest,
    ModelInfo,
    SkippedImage,
)
from twinflow.errors import InputError
from twinflow.io import atomic_path
from twinflow.segmentation.preprocessing import (
    Preprocessing,
    image_to_window,
    to_grey,
    window_to_image,
)
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

#: Prefix of the ONNX ``metadata_props`` keys written by :mod:`.export`; values are JSON.
METADATA_PREFIX = "twinflow."
DEFAULT_THRESHOLD = 0.5
#: Connected-component clean-up keeps the largest component of each class and every other
#: component of at least this fraction of its area. Project choice: strictly the largest
#: component would delete real anatomy — a transversal cut above the carotid bifurcation
#: shows two lumens (ICA and ECA; the smaller down to ~9 % of the larger in twinflow's
#: synthetic patients) and a longitudinal cut shows up to three wall pieces (down to ~5 %).
MIN_COMPONENT_FRACTION = 0.02


def choose_providers() -> list[str]:
    """CUDA first when this ONNX Runtime build has it, CPU always as the fallback."""
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider",) if p in available]
    return providers + ["CPUExecutionProvider"]


def read_metadata(session: ort.InferenceSession) -> dict[str, Any]:
    """The ``twinflow.*`` metadata of a model, JSON-decoded, without the prefix."""
    props = session.get_modelmeta().custom_metadata_map
    return {k[len(METADATA_PREFIX):]: json.loads(v) for k, v in props.items()
            if k.startswith(METADATA_PREFIX)}


@dataclass
class SegmentationModel:
    """An ONNX U-Net with the metadata needed to use it."""

    path: Path
    session: ort.InferenceSession
    classes: tuple[str, ...]
    anatomy: str
    preprocessing: Preprocessing
    thresholds: tuple[float, ...]
    metadata: dict[str, Any] = field(repr=False)
    sha256: str = ""

    @property
    def input_name(self) -> str:
        return self.session.get_inputs()[0].name

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def predict(self, windows: np.ndarray, batch_size: int = 4) -> np.ndarray:
        """Probabilities ``(B, N, N, C)`` for pre-processed windows ``(B, N, N, 1)``."""
        out = []
        for start in range(0, len(windows), batch_size):
            batch = np.ascontiguousarray(windows[start:start + batch_size], dtype=np.float32)
            out.append(self.session.run(None, {self.input_name: batch})[0])
        return np.concatenate(out, axis=0)


def load_model(model_path: Path, threads: int = 0) -> SegmentationModel:
    """Open an exported model; ``threads`` = 0 lets ONNX Runtime choose."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise InputError(f"{model_path}: segmentation model not found")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    # Reproducibility (docs/reproducibility.md): 1, 2 and 16 threads gave bitwise the same
    # demo probabilities; deterministic compute pins the kernels that have a faster
    # non-deterministic variant. The CPU's kernels (AVX2/AVX-512) are recorded, not pinned
    # (twinflow.environment): they move probabilities by ~1e-6, the demo masks need 1e-4.
    opts.use_deterministic_compute = True
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(model_path), opts, providers=choose_providers())
    except Exception as err:  # ORT raises its own exception types
        raise InputError(f"{model_path}: not a loadable ONNX model "
                         f"({str(err).splitlines()[0]})") from None
    meta = read_metadata(session)
    for key in ("classes", "anatomy", "preprocessing"):
        if key not in meta:
            raise InputError(f"{model_path}: no '{METADATA_PREFIX}{key}' metadata; export it "
                             "with twinflow train / twinflow.segmentation.export")
    classes = tuple(meta["classes"])
    thresholds = tuple(float(t) for t in meta.get("thresholds",
                                                  [DEFAULT_THRESHOLD] * len(classes)))
    return SegmentationModel(
        path=model_path, session=session, classes=classes, anatomy=str(meta["anatomy"]),
        preprocessing=Preprocessing.from_dict(meta["preprocessing"], str(model_path)),
        thresholds=thresholds, metadata=meta,
        sha256=hashlib.sha256(model_path.read_bytes()).hexdigest())


def resolve_thresholds(model: SegmentationModel,
                       thresholds: float | Sequence[float] | dict[str, float] | None
                       ) -> tuple[float, ...]:
    """Per-class thresholds from a number, a sequence, a ``{class: value}`` dict or None."""
    if thresholds is None:
        return model.thresholds
    if isinstance(thresholds, int | float):
        values = [float(thresholds)] * len(model.classes)
    elif isinstance(thresholds, dict):
        unknown = set(thresholds) - set(model.classes)
        if unknown:
            raise InputError(f"thresholds for unknown classes {sorted(unknown)}; the model "
                             f"has {list(model.classes)}")
        values = [float(thresholds.get(c, t)) for c, t in zip(model.classes, model.thresholds,
                                                               strict=True)]
    else:
        values = [float(t) for t in thresholds]
        if len(values) != len(model.classes):
            raise InputError(f"{len(values)} thresholds for {len(model.classes)} classes")
    if not all(0.0 < t < 1.0 for t in values):
        raise InputError(f"thresholds must lie in (0, 1), got {values}")
    return tuple(values)


def clean_components(mask: np.ndarray, min_fraction: float = MIN_COMPONENT_FRACTION
                     ) -> np.ndarray:
    """Keep the largest 8-connected component of a boolean mask and every other component
    of at least ``min_fraction`` of its area (``min_fraction = 1`` keeps the largest only)."""
    labelled, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n <= 1:
        return mask
    sizes = np.bincount(labelled.ravel())
    sizes[0] = 0
    keep = sizes >= min_fraction * sizes.max()
    keep[int(np.argmax(sizes))] = True
    keep[0] = False
    return keep[labelled]


def probabilities_to_labels(prob: np.ndarray, thresholds: Sequence[float],
                            clean: bool = True,
                            min_fraction: float = MIN_COMPONENT_FRACTION) -> np.ndarray:
    """Label map ``(H, W)`` uint8 from per-class probabilities ``(H, W, C)`` (module doc)."""
    above = prob >= np.asarray(thresholds, dtype=prob.dtype)
    masked = np.where(above, prob, -1.0)
    labels = np.where(above.any(axis=-1), np.argmax(masked, axis=-1) + 1, 0).astype(np.uint8)
    if clean:
        for k in range(prob.shape[-1]):
            cls = labels == k + 1
            if cls.any():
                labels[cls & ~clean_components(cls, min_fraction)] = 0
    return labels


def segment_images(model: SegmentationModel, images: Sequence[sitk.Image],
                   thresholds: float | Sequence[float] | dict[str, float] | None = None,
                   batch_size: int = 4, clean: bool = True) -> list[sitk.Image]:
    """Label maps (in each image's geometry) for in-memory images, run in batches."""
    thr = resolve_thresholds(model, thresholds)
    windows = np.stack([image_to_window(im, model.preprocessing) for im in images])[..., None]
    prob = model.predict(windows, batch_size)
    out = []
    for image, p in zip(images, prob, strict=True):
        grey = to_grey(image)
        back = window_to_image(p, grey, model.preprocessing)
        labels = sitk.GetImageFromArray(probabilities_to_labels(back, thr, clean))
        labels.CopyInformation(grey)
        out.append(labels)
    return out


def _read_image(path: Path) -> sitk.Image:
    if not Path(path).is_file():
        raise InputError(f"{path}: image not found")
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise InputError(f"{path}: cannot read image ({str(err).splitlines()[0]})") from None


def _write_labels(labels: sitk.Image, path: Path) -> Path:
    with atomic_path(path) as tmp:
        sitk.WriteImage(sitk.Cast(labels, sitk.sitkUInt8), str(tmp), useCompression=True)
    return Path(path)


def segment_image(model_path: Path, image_path: Path, out_mask_path: Path,
                  thresholds: float | Sequence[float] | dict[str, float] | None = None
                  ) -> Path:
    """Segment one image file into a label map file in the image's geometry."""
    model = load_model(Path(model_path))
    labels = segment_images(model, [_read_image(Path(image_path))], thresholds)[0]
    return _write_labels(labels, Path(out_mask_path))


#: Demo model of each anatomy, relative to the project root (see models/README.md); used
#: when a case sets ``segmentation.model: null``.
DEMO_MODELS: dict[str, str] = {
    "carotid": "models/carotid-small/model.onnx",
    "left-ventricle": "models/left-ventricle-small/model.onnx",
}


def model_for_anatomy(anatomy: str, model: str | None, root: Path | None = None) -> Path:
    """The case's ``segmentation.model``, or the committed demo model of its anatomy."""
    root = Path.cwd() if root is None else Path(root)
    if model:
        return root / model
    if anatomy not in DEMO_MODELS:
        raise InputError(f"no demo segmentation model for anatomy {anatomy!r}; "
                         "set segmentation.model")
    return root / DEMO_MODELS[anatomy]


def _segment_stack(model: SegmentationModel, image: sitk.Image,
                   thresholds: float | Sequence[float] | dict[str, float] | None,
                   batch_size: int, clean: bool) -> sitk.Image:
    """Segment a (frames, rows, cols) stack frame by frame; keep the stack's geometry."""
    frames = [image[:, :, k] for k in range(image.GetSize()[2])]
    labels = segment_images(model, frames, thresholds, batch_size, clean)
    out = sitk.GetImageFromArray(np.stack([sitk.GetArrayFromImage(lab) for lab in labels]))
    out.CopyInformation(image)
    return out


def segment(settings: Path, images: Path, model_path: Path, masks: Path,
            thresholds: float | Sequence[float] | dict[str, float] | None = None,
            batch_size: int = 4, threads: int = 0) -> list[Path]:
    """Segment every ingested image of a case (stage ``segment``); returns the mask paths.

    ``settings``: the stage's settings (``anatomy`` and ``segmentation`` of the case);
    ``images``: the ingest manifest (:class:`~twinflow.artifacts.images.ImagesManifest`);
    masks are written beside ``masks``, the masks manifest
    (:class:`~twinflow.artifacts.images.MasksManifest`: classes, label values, thresholds,
    model hash and provider). Thresholds: the argument, else the case's
    ``segmentation.thresholds`` (per class), else the model's;
    ``segmentation.largest_component`` switches the clean-up. The case ``anatomy`` must
    match the model's. 2D images give 2D label maps; cine stacks are segmented frame by
    frame; 3D volumes (CT/MR) are not segmented by this 2D network and are listed under
    ``skipped``.
    """
    case = read_stage_settings(settings, "segment")
    seg = case["segmentation"]
    model = load_model(Path(model_path), threads)
    if case["anatomy"] != model.anatomy:
        raise InputError(f"{model_path}: model is for anatomy {model.anatomy!r} but the case "
                         f"is {case['anatomy']!r}")
    thr = resolve_thresholds(model, thresholds if thresholds is not None
                             else (seg["thresholds"] or None))
    keep = bool(seg["largest_component"])
    listing = ImagesManifest.read(images)
    images_dir = Path(images).parent
    todo = [im for im in listing.images if im.kind != "volume"]
    read = {im.image: _read_image(images_dir / im.image) for im in todo}
    planar = [im for im in todo if read[im.image].GetDimension() == 2
              or read[im.image].GetSize()[2] == 1]
    labels: dict[str, sitk.Image] = {}
    if planar:
        results = segment_images(model, [read[im.image] for im in planar], thr, batch_size,
                                 keep)
        labels.update({im.image: lab for im, lab in zip(planar, results, strict=True)})
    for im in todo:
        if im.image not in labels:
            labels[im.image] = _segment_stack(model, read[im.image], thr, batch_size, keep)
    masks = Path(masks)
    written = [_write_labels(labels[im.image], masks.parent / im.image) for im in todo]
    MasksManifest(
        anatomy=model.anatomy,
        labels={c: k + 1 for k, c in enumerate(model.classes)},
        classes=list(model.classes),
        masks=[Mask(image=im.image, mask=w.name, view=im.view, kind=im.kind)
               for im, w in zip(todo, written, strict=True)],
        skipped=[SkippedImage(image=im.image, reason="3D volume: the 2D U-Net does not "
                              "segment volumes") for im in listing.images if im.kind == "volume"],
        model=ModelInfo(file=model.path.name, sha256=model.sha256,
                        preset=model.metadata.get("preset"),
                        training_data_sha256=model.metadata.get("training_data_sha256")),
        thresholds=list(thr),
        component_cleanup=ComponentCleanup(enabled=keep,
                                           min_fraction_of_largest=MIN_COMPONENT_FRACTION),
        provider=model.provider,
    ).write(masks)
    log.info("segmented %d image(s) with %s (%s)", len(written), model.path.name,
             model.provider)
    return written


def set_metadata(src: Path, metadata: dict[str, Any], target: Path | None = None) -> Path:
    """Replace the ``twinflow.*`` metadata of ``src`` (written to ``target`` or in place).

    Here, not in :mod:`.export`, because it needs no TensorFlow (quantization uses it too).
    """
    import onnx

    target = Path(target or src)
    proto = onnx.load(str(src))
    kept = [p for p in proto.metadata_props if not p.key.startswith(METADATA_PREFIX)]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in sorted(metadata.items()):
        entry = proto.metadata_props.add()
        entry.key = METADATA_PREFIX + key
        entry.value = json.dumps(value, sort_keys=True, allow_nan=False)
    proto.producer_name = "twinflow"
    with atomic_path(target) as tmp:
        onnx.save(proto, str(tmp))
    return target
