"""Data set manifests: patient-level splits and clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from twinflow.errors import InputError
from twinflow.segmentation.dataset import dataset_hash, load_manifest, load_split
from twinflow.segmentation.preprocessing import Preprocessing


def test_load_and_split_by_patient(ring_dataset: Path) -> None:
    ds = load_manifest(ring_dataset)
    assert ds.classes == ("lumen", "wall")
    train = {s.patient for s in ds.split("train")}
    assert train.isdisjoint(s.patient for s in ds.split("test"))
    x, y = load_split(ds, "val", Preprocessing(input_size=32))
    assert x.shape == (2, 32, 32, 1) and y.shape == (2, 32, 32, 2)
    assert y[..., 0].sum() > 0 and y[..., 1].sum() > 0
    assert len(dataset_hash(ds)) == 64


def test_manifest_errors(ring_dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ds"
    shutil.copytree(ring_dataset, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    bad = dict(manifest, splits=dict(manifest["splits"], test=manifest["splits"]["train"][:1]))
    (copy / "manifest.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match="both"):
        load_manifest(copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / manifest["samples"][0]["image"]).unlink()
    with pytest.raises(InputError, match="not found"):
        load_manifest(copy)
    with pytest.raises(InputError, match="manifest not found"):
        load_manifest(tmp_path / "nothing")
