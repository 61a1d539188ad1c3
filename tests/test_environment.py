"""Reproducibility across machines (docs/reproducibility.md): the numerics fingerprint records
the CPU paths that decide the last bits, the segmentation does not depend on ONNX Runtime's
threads, and the carotid model grid absorbs the CPU-dependent round-off of the reconstruction
(before the grid: 22 780 cells here, 23 310 with numpy's and OpenBLAS's AVX2 paths)."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, package_env, project_copy, run_cli
from twinflow.environment import fingerprint_differences, numerics_fingerprint, numpy_simd

FINGERPRINT = ("import json, twinflow.environment as e; "
               "print(json.dumps(e.numerics_fingerprint()))")


def _other_cpu_paths() -> dict[str, str]:
    """Environment that makes numpy and OpenBLAS take the code paths of an older CPU: numpy
    without its dispatched SIMD extensions, OpenBLAS with another kernel."""
    core = numerics_fingerprint()["openblas"]["numpy"]["core"]
    return {"NPY_DISABLE_CPU_FEATURES": " ".join(numpy_simd()["dispatched"]),
            "OPENBLAS_CORETYPE": "Sandybridge" if core == "Haswell" else "Haswell"}


def _fingerprint_in(env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", FINGERPRINT], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "workflow"), **env),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_fingerprint_records_the_cpu_paths() -> None:
    here = numerics_fingerprint(ort_threads=2)
    assert json.loads(json.dumps(here)) == here
    assert here["onnxruntime"]["intra_op_threads"] == 2
    assert here["gmsh"]["session_options"]["General.NumThreads"] == 1
    assert here["openblas"]["numpy"]["core"] and here["openblas"]["scipy"]["core"]
    if platform.machine() not in ("x86_64", "AMD64") or not numpy_simd()["dispatched"]:
        pytest.skip("the emulated code paths (numpy SIMD, OpenBLAS Haswell kernel) are x86")
    other = _fingerprint_in(_other_cpu_paths())
    diff = fingerprint_differences(here, other)
    assert {"numpy_simd.dispatched", "openblas.numpy.core", "openblas.scipy.core",
            "env.NPY_DISABLE_CPU_FEATURES", "env.OPENBLAS_CORETYPE"} <= set(diff)
    assert "packages.numpy" not in diff and "cpu.isa" not in diff
    assert fingerprint_differences(here, here) == []


def test_fingerprint_does_not_load_gmsh() -> None:
    proc = subprocess.run([sys.executable, "-c", FINGERPRINT[:-1] + "); import sys; "
                           "print('gmsh' in sys.modules)"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "workflow")), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "False"


def test_segmentation_does_not_depend_on_ort_threads() -> None:
    """1 and 2 intra-op threads: bitwise the same probabilities and masks of the demo images
    (measured also with 16: identical)."""
    import SimpleITK as sitk

    from twinflow.segmentation.infer import load_model, segment_images
    from twinflow.segmentation.preprocessing import image_to_window

    images = [sitk.ReadImage(str(p)) for p in sorted((ROOT / "cases/data/carotid-demo")
                                                      .glob("*.png"))]
    model_path = ROOT / "models/carotid-small/model.onnx"
    probs, masks = [], []
    for threads in (1, 2):
        model = load_model(model_path, threads)
        windows = np.stack([image_to_window(im, model.preprocessing) for im in images])
        probs.append(model.predict(windows[..., None]))
        masks.append([sitk.GetArrayFromImage(m) for m in segment_images(model, images)])
    assert np.array_equal(probs[0], probs[1])
    for one, two in zip(*masks, strict=True):
        assert one.any() and np.array_equal(one, two)


def test_model_grid_absorbs_cpu_roundoff() -> None:
    """Round-off of the size measured between CPU paths (branch directions 7e-10, lengths in
    the last bit) gives the same gridded model.json; the grid moves nothing by more than half
    a step."""
    from twinflow.geometry.carotid.model import (
        DIRECTION_GRID,
        LENGTH_GRID_M,
        Template,
        template_model,
    )

    model = template_model(Template(), None, None)
    rng = np.random.default_rng(0)
    other = template_model(Template(), None, None)
    for b in other.branches.values():
        b.direction = b.direction + 7e-10 * rng.choice([-1.0, 1.0], 3) * (b.direction != 0)
        b.normal = b.normal + 7e-10 * rng.choice([-1.0, 1.0], 3) * (b.normal != 0)
        b.lumen_radius = b.lumen_radius * (1.0 + 2e-16 * rng.choice([-1.0, 1.0],
                                                                    b.lumen_radius.shape))
    assert json.dumps(model.to_json()) != json.dumps(other.to_json())
    assert json.dumps(model.on_grid().to_json()) == json.dumps(other.on_grid().to_json())
    for b, g in zip(model.branches.values(), model.on_grid().branches.values(), strict=True):
        assert np.abs(g.direction - b.direction).max() <= DIRECTION_GRID / 2
        assert np.abs(g.lumen_radius - b.lumen_radius).max() <= LENGTH_GRID_M / 2 * (1 + 1e-9)
    assert not re.search(r"-0\.0[,\]]", json.dumps(model.on_grid().to_json()))  # no -0.0


@pytest.mark.slow
def test_demo_reconstruction_is_the_same_on_other_cpu_paths(tmp_path: Path) -> None:
    """The demo's reconstruct_carotid under numpy's baseline SIMD and another OpenBLAS
    kernel writes the same model.json bytes (before the grid: 18 values differed, up to 7e-10,
    and the mesh had 23 310 instead of 22 780 cells)."""
    project = project_copy(tmp_path, package=True)
    env = package_env(project)
    model = "results/carotid-demo/geometry/model.json"
    proc = run_cli("run", "cases/carotid-demo.yaml", "--cores", "2", "--snakemake-args",
                   model, cwd=project, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    case = project / "results/carotid-demo"
    other = _other_cpu_paths()
    assert fingerprint_differences(_fingerprint_in({}), _fingerprint_in(other))
    out = tmp_path / "other"
    cmd = [sys.executable, "-m", "twinflow", "reconstruct-carotid", "--settings",
           str(case / "settings/reconstruct_carotid.json"), "--images",
           str(case / "images/manifest.json"), "--masks", str(case / "masks/manifest.json"),
           "--measurements", str(out / "measurements.json"), "--model", str(out / "model.json"),
           "--lumen", str(out / "lumen.vtp"), "--wall", str(out / "wall.vtp")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **env, **other))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "model.json").read_bytes() == (project / model).read_bytes()
