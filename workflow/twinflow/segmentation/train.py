"""Train, evaluate and export a U-Net on a ``twinflow synth``-layout data set.

Recipe (Geroski et al. 2023, J Big Data 10:72, where stated; project choices otherwise):

* patient-level split from the data set manifest (8:1:1 in the paper);
* loss = binary cross-entropy + soft Dice (paper), Adam (default learning rate ``1e-3``,
  batch size 8; project choices — the demo models use 2e-3 and 4, see models/README.md);
* on-line augmentation (:mod:`.augment`), freshly drawn every epoch;
* early stopping on the validation loss (default patience 8 epochs), best weights restored;
* everything seeded (NumPy, Python, TensorFlow through ``keras.utils.set_random_seed``);
  multi-threaded CPU kernels may still reorder floating-point sums, so two runs agree in
  quality, not necessarily bit for bit;
* learning curves of loss, pixel-wise precision, recall and F1 for training and validation
  (like the paper's Fig. 7) saved as ``learning_curves.png``;
* the exported ONNX model is checked against Keras on random input (≤ 1e-4), then evaluated
  on the test split through the ONNX Runtime inference path (:mod:`.infer`, in the original
  image geometry), and the test metrics are written as JSON and Markdown and into the
  model's metadata.

Outputs in ``out_dir``: ``model.onnx``, ``test_metrics.json``, ``test_metrics.md``,
``learning_curves.png``, ``history.json``, ``training.json`` (and ``model.keras`` on request).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinflow.errors import InputError
from twinflow.io import atomic_path, write_json_atomic, write_text_atomic
from twinflow.segmentation.augment import Augmentation, augment_batch
from twinflow.segmentation.dataset import Dataset, dataset_hash, load_manifest, load_split
from twinflow.segmentation.metrics import history_f1, metrics_markdown, segmentation_metrics
from twinflow.segmentation.preprocessing import Preprocessing
from twinflow.segmentation.presets import get_preset

SIMPLIFICATIONS: tuple[str, ...] = (
    "light presets (small, tiny) are reduced versions of the paper's U-Net for CPU demos",
    "trained and tested on synthetic images only; no clinical validation",
    "augmentation transforms are project choices (the paper does not list them)",
)


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """Everything that determines a training run (hashed into the Snakemake params)."""

    preset: str = "small"
    input_size: int | None = None
    epochs: int = 60
    batch_size: int = 8
    learning_rate: float = 1e-3
    patience: int = 8
    seed: int = 0
    steps_per_epoch: int | None = None
    augmentation: Augmentation = field(default_factory=Augmentation)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TrainResult:
    out_dir: Path
    model_path: Path
    test_metrics: dict[str, dict[str, float]]
    epochs_run: int
    seconds: float
    parity_max_abs_diff: float


def _augmented_sequence(x: np.ndarray, y: np.ndarray, settings: TrainSettings) -> Any:
    """A Keras ``PyDataset`` of augmented, shuffled batches, reproducible from the seed."""
    import keras

    class AugmentedBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0
            self.steps = settings.steps_per_epoch or math.ceil(len(x) / settings.batch_size)
            self._order = self._shuffle()

        def _shuffle(self) -> np.ndarray:
            rng = np.random.default_rng([settings.seed, self.epoch, 1])
            reps = math.ceil(self.steps * settings.batch_size / len(x))
            return np.concatenate([rng.permutation(len(x)) for _ in range(reps)])

        def __len__(self) -> int:
            return self.steps

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            idx = self._order[index * settings.batch_size:(index + 1) * settings.batch_size]
            rng = np.random.default_rng([settings.seed, self.epoch, 2, index])
            return augment_batch(x[idx], y[idx], rng, settings.augmentation)

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._order = self._shuffle()

    return AugmentedBatches()


def plot_learning_curves(history: dict[str, list[float]], path: Path, title: str) -> Path:
    """Loss, precision, recall and F1 for training (red) and validation (blue), as Fig. 7."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), constrained_layout=True)
    for ax, key, label in zip(axes, ("loss", "precision", "recall", "f1"),
                              ("loss (BCE + soft Dice)", "precision", "recall", "F1"),
                              strict=True):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], color="tab:red", label="training")
        ax.plot(epochs, history[f"val_{key}"], color="tab:blue", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def evaluate_onnx(model_path: Path, ds: Dataset, split: str = "test") -> dict[str, Any]:
    """Metrics of an exported model on one split, through the ONNX Runtime inference path."""
    import SimpleITK as sitk

    from twinflow.segmentation.infer import MIN_COMPONENT_FRACTION, load_model, segment_images

    model = load_model(model_path)
    samples = ds.split(split)
    images = [sitk.ReadImage(str(s.image)) for s in samples]
    preds = segment_images(model, images)
    truths = []
    for s in samples:
        lab = sitk.ReadImage(str(s.mask))
        truths.append(sitk.GetArrayFromImage(lab if lab.GetDimension() == 2 else lab[:, :, 0]))
    metrics = segmentation_metrics(truths, [sitk.GetArrayFromImage(p) for p in preds],
                                   ds.classes)
    return {"split": split, "patients": list(ds.splits[split]), "metrics": metrics,
            "thresholds": list(model.thresholds),
            "component_cleanup": {"enabled": True, "min_fraction_of_largest":
                                  MIN_COMPONENT_FRACTION}}


def train(dataset_dir: Path, out_dir: Path, settings: TrainSettings | None = None,
          save_keras: bool = False, verbose: int | None = None) -> TrainResult:
    """Train on ``dataset_dir`` and write the outputs listed in the module docstring."""
    import keras

    from twinflow.segmentation.export import check_parity, export_onnx, set_metadata
    from twinflow.segmentation.unet import build_unet, compile_unet

    settings = settings or TrainSettings()
    preset = get_preset(settings.preset, settings.input_size)
    if settings.epochs < 1 or settings.batch_size < 1:
        raise InputError(f"epochs and batch size must be >= 1, got {settings.epochs}, "
                         f"{settings.batch_size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ds = load_manifest(Path(dataset_dir))
    data_sha = dataset_hash(ds)
    prep = Preprocessing(input_size=preset.input_size)
    x_train, y_train = load_split(ds, "train", prep)
    x_val, y_val = load_split(ds, "val", prep)

    keras.utils.set_random_seed(settings.seed)
    model = compile_unet(build_unet(preset, len(ds.classes)), settings.learning_rate)
    if verbose is None:
        verbose = 1 if sys.stderr.isatty() else 2  # progress bar on a terminal
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience,
                                         restore_best_weights=True)
    fit = model.fit(_augmented_sequence(x_train, y_train, settings),
                    validation_data=(x_val, y_val), validation_batch_size=settings.batch_size,
                    epochs=settings.epochs, callbacks=[stop], verbose=verbose)
    history = history_f1({k: [float(v) for v in vals] for k, vals in fit.history.items()})
    train_seconds = time.perf_counter() - t0

    write_json_atomic(out_dir / "history.json", history)
    plot_learning_curves(history, out_dir / "learning_curves.png",
                         f"U-Net '{preset.name}' on {ds.anatomy} ({', '.join(ds.classes)})")
    if save_keras:
        with atomic_path(out_dir / "model.keras") as tmp:
            model.save(tmp)

    metadata: dict[str, Any] = {
        "format_version": 1,
        "anatomy": ds.anatomy,
        "classes": list(ds.classes),
        "labels": {c: k + 1 for k, c in enumerate(ds.classes)},
        "input_size": preset.input_size,
        "input_layout": "NHWC float32, 1 channel, [0, 1] after preprocessing",
        "preprocessing": prep.to_dict(),
        "preset": preset.name,
        "channels": list(preset.channels),
        "thresholds": [0.5] * len(ds.classes),
        "training_data_sha256": data_sha,
        "training_settings": settings.to_dict(),
        "architecture_source": "Geroski, Jakovljevic & Filipovic 2023, J Big Data 10:72",
    }
    model_path = out_dir / "model.onnx"
    export_onnx(model, model_path, metadata)
    parity = check_parity(model, model_path, seed=settings.seed)
    if not parity.ok:
        raise RuntimeError(f"ONNX export differs from Keras by {parity.max_abs_diff:.3g} "
                           f"> {parity.tolerance:g}")
    evaluation = evaluate_onnx(model_path, ds, "test")
    metadata["test_metrics"] = evaluation["metrics"]
    set_metadata(model_path, metadata)
    seconds = time.perf_counter() - t0

    best = int(np.argmin(history["val_loss"])) + 1
    write_json_atomic(out_dir / "test_metrics.json", {
        **evaluation, "anatomy": ds.anatomy, "preset": preset.name,
        "training_data_sha256": data_sha})
    write_text_atomic(out_dir / "test_metrics.md", metrics_markdown(
        evaluation["metrics"],
        f"U-Net '{preset.name}' — {ds.anatomy} test split "
        f"({len(ds.split('test'))} images, {len(ds.splits['test'])} patients)",
        notes=["pixel counts pooled over the test images, in the original image geometry, "
               "after thresholding at 0.5 and connected-component clean-up (components "
               "< 2 % of the class's largest removed) "
               "(ONNX Runtime path)",
               f"training data sha256 {data_sha[:16]}…, seed {settings.seed}, best epoch "
               f"{best} of {len(history['loss'])}",
               *SIMPLIFICATIONS]))
    write_json_atomic(out_dir / "training.json", {
        "dataset": {"anatomy": ds.anatomy, "classes": list(ds.classes),
                    "sha256": data_sha,
                    "images": {s: len(ds.split(s)) for s in ("train", "val", "test")},
                    "patients": {s: len(ds.splits[s]) for s in ("train", "val", "test")}},
        "settings": settings.to_dict(),
        "preset": {"name": preset.name, "channels": list(preset.channels),
                   "input_size": preset.input_size, "parameters": int(model.count_params())},
        "epochs_run": len(history["loss"]), "best_epoch": best,
        "training_seconds": round(train_seconds, 1), "total_seconds": round(seconds, 1),
        "parity": {"max_abs_diff": parity.max_abs_diff, "tolerance": parity.tolerance},
        "simplifications": list(SIMPLIFICATIONS),
    })
    return TrainResult(out_dir, model_path, evaluation["metrics"], len(history["loss"]),
                       seconds, parity.max_abs_diff)
