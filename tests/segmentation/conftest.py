"""Fixtures: a tiny segmentation data set in the ``twinflow synth`` layout and a tiny model.

The images are discs (class 1, "lumen") inside rings (class 2, "wall") on a speckled
background, so the tests do not depend on the real phantom generator.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk


def run_fresh(body: str, timeout: float) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run ``body`` (which sets ``rc``) in a fresh interpreter; also return the TensorFlow,
    Keras and tf2onnx modules it imported (the inference path must import none)."""
    code = (f"import sys\n{body}\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'tf2onnx'))\n"
            "print('HEAVY', repr(heavy))\nsys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout)
    heavy = [line for line in proc.stdout.splitlines() if line.startswith("HEAVY ")]
    return proc, (ast.literal_eval(heavy[-1][6:]) if heavy else ["(not reported)"])


def ring_image(rng: np.random.Generator, shape: tuple[int, int],
               spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A speckled disc-in-ring image (float32) and its label map (uint8), rows = y."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    cy = rng.uniform(0.4, 0.6) * h
    cx = rng.uniform(0.4, 0.6) * w
    r_in = rng.uniform(0.16, 0.22) * min(h, w)
    r_out = r_in + rng.uniform(0.08, 0.11) * min(h, w)
    r = np.hypot(yy - cy, xx - cx)
    labels = np.zeros(shape, np.uint8)
    labels[r < r_out] = 2
    labels[r < r_in] = 1
    tissue = {0: 0.45, 1: 0.08, 2: 0.9}
    base = np.vectorize(tissue.get)(labels).astype(np.float32)
    speckle = rng.rayleigh(1.0, shape).astype(np.float32) / 1.25
    image = 120.0 * base * speckle + rng.normal(0, 4.0, shape)
    return image.astype(np.float32), labels


def make_ring_dataset(root: Path, n_patients: int = 10, per_patient: int = 2,
                      shape: tuple[int, int] = (72, 90), seed: int = 0,
                      anatomy: str = "carotid",
                      classes: tuple[str, str] = ("lumen", "wall")) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    patients = [f"P{i:03d}" for i in range(n_patients)]
    n_test = max(1, n_patients // 10)
    splits = {"train": patients[:n_patients - 2 * n_test],
              "val": patients[n_patients - 2 * n_test:n_patients - n_test],
              "test": patients[n_patients - n_test:]}
    samples = []
    for p in patients:
        for k in range(per_patient):
            image, labels = ring_image(rng, shape, (0.1, 0.1))
            img = sitk.GetImageFromArray(image)
            img.SetSpacing((0.1, 0.12))
            img.SetOrigin((3.0, -2.0))
            lab = sitk.GetImageFromArray(labels)
            lab.CopyInformation(img)
            name = f"{p}_{k}.nii.gz"
            sitk.WriteImage(img, str(root / "images" / name))
            sitk.WriteImage(lab, str(root / "masks" / name))
            samples.append({"patient": p, "image": f"images/{name}", "mask": f"masks/{name}",
                            "view": "transversal"})
    manifest = {"anatomy": anatomy, "classes": list(classes), "splits": splits, "seed": seed,
                "samples": samples}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return root


@pytest.fixture(scope="session")
def ring_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ring_dataset(tmp_path_factory.mktemp("rings"))


@pytest.fixture(scope="session")
def trained(ring_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``tiny`` U-Net trained briefly on :func:`ring_dataset` (output folder of ``train``);
    shared by the training/inference and quantization tests."""
    pytest.importorskip("tensorflow")
    from twinflow.segmentation.train import TrainSettings, train

    out = tmp_path_factory.mktemp("model")
    train(ring_dataset, out, TrainSettings(preset="tiny", epochs=8, steps_per_epoch=12,
                                           batch_size=8, patience=8, seed=0), verbose=0)
    return out
