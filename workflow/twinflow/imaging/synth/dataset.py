"""``twinflow synth``: synthetic patients written as a training data set or as a demo case.

**Data set layout** (read by :mod:`twinflow.segmentation.dataset`)::

    <out>/manifest.json   {"anatomy", "classes", "splits": {"train", "val", "test"}, "seed",
                           "samples": [{"patient", "image", "mask", "view"}],
                           "volumes": [{"patient", "image", "mask", "view", "phase"}] (LV only)}
    <out>/<patient>/<view>.image.nii.gz   float32 in [0, 1], 2D, spacing in mm
    <out>/<patient>/<view>.mask.nii.gz    uint8: 0 background, k + 1 = classes[k]
    <out>/<patient>/truth.json            ground truth, SI units in key names
    <out>/<patient>/*.vtp                 true surfaces (m)

Each sample image is what ingest makes of the rendered scanner screen: colour to grey with
overlays removed, the burned-in identifiers blanked, the static window
(:mod:`twinflow.imaging.preprocess`, 512 × 512 by default) and percentile normalisation; the
mask is cut with the same window, so image and mask share one grid. Patients are split
8:1:1 (Geroski et al. 2023) at random with the seed, by patient. Patient ``k`` is drawn from
``numpy.random.default_rng([seed, k])``, so it does not depend on how many patients are made.

**Demo case layout** (``--layout case``, the default for one patient): the screens as a
scanner exports them (palette PNG with burned-in header and side table), ``images.json``
with the case ``images`` entries (paths relative to the working directory, spacing in m,
the burned-in boxes to blank), ``truth.json`` and the true surfaces.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
from PIL import Image

from twinflow.errors import InputError
from twinflow.imaging.deid import blank_boxes
from twinflow.imaging.preprocess import DEFAULT_WINDOW, choose_window, normalise
from twinflow.imaging.read import rgb_to_grey
from twinflow.imaging.synth import carotid as car
from twinflow.imaging.synth import lv as lvm
from twinflow.imaging.synth.ultrasound import Screen, compose_screen
from twinflow.io import write_json_atomic

ANATOMIES: dict[str, dict[str, Any]] = {
    "carotid": {"anatomy": "carotid", "classes": ["lumen", "wall"], "prefix": "carotid"},
    "lv": {"anatomy": "left-ventricle", "classes": ["cavity", "myocardium"], "prefix": "lv"},
}

SIMPLIFICATIONS: dict[str, list[str]] = {
    "carotid": [
        "straight branches; vessel = union of per-branch circular tubes (no smooth blending "
        "at the flow divider)",
        "eccentric plaque modelled as a shifted circular lumen inside a circular outer wall",
        "B-mode: Gaussian PSF on Gaussian scatterers (fully developed speckle), no "
        "refraction, shadowing or reverberation",
    ],
    "lv": [
        "LV = half prolate-like ellipsoids truncated at the equator (base plane z = 0)",
        "end-systole: uniform radial scaling and long-axis shortening, myocardial volume "
        "conserved; no twist",
        "other chambers are 2D ellipses in the echo planes only; CT-like volume has no RV",
    ],
}


@dataclass(slots=True)
class RenderedView:
    """One rendered view of a patient, before writing."""

    view: str
    phase: str | None
    screen: Screen
    mask: np.ndarray              # on the B-mode picture grid
    modality: str

    def full_mask(self) -> np.ndarray:
        out = np.zeros(self.screen.rgb.shape[:2], np.uint8)
        r, c = self.screen.offset
        out[r:r + self.mask.shape[0], c:c + self.mask.shape[1]] = self.mask
        return out

    @property
    def name(self) -> str:
        return self.view + (f"-{self.phase}" if self.phase else "")


@dataclass(slots=True)
class SynthPatient:
    patient: str
    views: list[RenderedView]
    truth: dict[str, Any]
    surfaces: dict[str, Any]      # name -> pyvista.PolyData
    volumes: list[tuple[str, lvm.Volume]] = field(default_factory=list)


# ---------------------------------------------------------------- surfaces

def tube_surface(branches: dict[str, car.Branch], outer: bool, n_theta: int = 32,
                 every: int = 10) -> Any:
    """Swept-circle surfaces of the branches (lumen or outer wall), one PolyData, metres."""
    import pyvista as pv

    points, faces, branch_ids = [], [], []
    offset = 0
    theta = np.linspace(0.0, 2 * np.pi, n_theta, endpoint=False)
    for bid, b in enumerate(branches.values()):
        t = b.tangent / np.linalg.norm(b.tangent)
        n1 = np.cross(t, [0.0, 1.0, 0.0])
        n1 = n1 / np.linalg.norm(n1) if np.linalg.norm(n1) > 1e-9 else np.array([1.0, 0, 0])
        n2 = np.cross(t, n1)
        idx = np.arange(0, len(b.points), every)
        for k in idx:
            centre = b.points[k] + (0 if outer else b.lumen_offset[k])
            r = b.r_outer[k] if outer else b.r_lumen[k]
            ring = centre + r * (np.cos(theta)[:, None] * n1 + np.sin(theta)[:, None] * n2)
            points.append(ring)
        n_rings = len(idx)
        for i in range(n_rings - 1):
            for j in range(n_theta):
                a = offset + i * n_theta + j
                b_ = offset + i * n_theta + (j + 1) % n_theta
                faces.append([4, a, b_, b_ + n_theta, a + n_theta])
                branch_ids.append(bid)
        offset += n_rings * n_theta
    mesh = pv.PolyData(np.concatenate(points), np.array(faces).ravel())
    mesh.cell_data["branch"] = np.array(branch_ids, np.int32)
    mesh.field_data["branch_names"] = np.array(list(branches))
    return mesh


def ellipsoid_surface(ax: float, ay: float, c: float, n_theta: int = 40,
                      n_phi: int = 64) -> Any:
    """Half-ellipsoid surface (apex at ``-c``, open base at ``z = 0``), metres."""
    import pyvista as pv

    th = np.linspace(0.0, np.pi / 2, n_theta)
    ph = np.linspace(0.0, 2 * np.pi, n_phi, endpoint=False)
    tt, pp = np.meshgrid(th, ph, indexing="ij")
    pts = np.stack([ax * np.sin(tt) * np.cos(pp), ay * np.sin(tt) * np.sin(pp),
                    -c * np.cos(tt)], axis=-1).reshape(-1, 3)
    faces = []
    for i in range(n_theta - 1):
        for j in range(n_phi):
            a, b = i * n_phi + j, i * n_phi + (j + 1) % n_phi
            faces.append([4, a, b, b + n_phi, a + n_phi])
    return pv.PolyData(pts, np.array(faces).ravel()).clean()


# ---------------------------------------------------------------- patients

def make_carotid(patient: str, rng: np.random.Generator) -> SynthPatient:
    truth_model = car.sample_carotid(patient, rng)
    views = []
    view_truth = {}
    for cut in car.make_cuts(truth_model, rng):
        picture, mask, look = car.render(truth_model, cut, rng)
        screen = compose_screen(picture, cut.spacing_m, look, rng, cut.view.upper(),
                                car.scanner_params(cut, look))
        views.append(RenderedView(cut.view, None, screen, mask, "ultrasound"))
        view_truth[cut.view] = {**cut.truth(), "screen_offset_px": list(screen.offset),
                                "pixel_spacing_m": [cut.spacing_m, cut.spacing_m]}
    truth = truth_model.truth()
    truth["views"] = view_truth
    truth["simplifications"] = SIMPLIFICATIONS["carotid"]
    surfaces = {"lumen": tube_surface(truth_model.branches, outer=False),
                "wall": tube_surface(truth_model.branches, outer=True)}
    return SynthPatient(patient, views, truth, surfaces)


def make_lv(patient: str, rng: np.random.Generator, volumes: bool = True,
            targets: lvm.LVTargets | None = None) -> SynthPatient:
    model = lvm.sample_lv(patient, rng, targets)
    views, view_truth = [], {}
    for sector in lvm.make_sectors(model, rng):
        picture, mask, look = lvm.render_echo(model, sector, rng)
        screen = compose_screen(picture, sector.spacing_m, look, rng, sector.view.upper(),
                                lvm.echo_params(sector, look), support=sector.support())
        rv = RenderedView(sector.view, sector.phase, screen, mask, "echo")
        views.append(rv)
        view_truth[rv.name] = {**sector.truth(), "screen_offset_px": list(screen.offset)}
    truth = model.truth()
    truth["views"] = view_truth
    truth["simplifications"] = SIMPLIFICATIONS["lv"]
    surfaces = {}
    for phase, shape in (("end-diastole", model.ed), ("end-systole", model.es)):
        surfaces[f"endo-{phase}"] = ellipsoid_surface(shape.ax, shape.ay, shape.c)
        surfaces[f"epi-{phase}"] = ellipsoid_surface(shape.ax + shape.h, shape.ay + shape.h,
                                                     shape.c + shape.h)
    vols = []
    if volumes:
        for phase in lvm.PHASES:
            vol = lvm.render_volume(model, phase, rng)
            vols.append((phase, vol))
            truth.setdefault("volumes", {})[phase] = vol.truth()
    return SynthPatient(patient, views, truth, surfaces, vols)


def make_patient(anatomy: str, index: int, seed: int, volumes: bool = True,
                 targets: lvm.LVTargets | None = None) -> SynthPatient:
    """Patient ``index`` of ``anatomy`` drawn from ``default_rng([seed, index])`` (an LV
    with ``targets``: those values given, :func:`twinflow.imaging.synth.lv.sample_lv`)."""
    rng = np.random.default_rng([seed, index])
    name = f"{ANATOMIES[anatomy]['prefix']}-{index:03d}"
    if anatomy == "carotid":
        return make_carotid(name, rng)
    return make_lv(name, rng, volumes=volumes, targets=targets)


# ---------------------------------------------------------------- writing

def preprocess_view(view: RenderedView, window: tuple[int, int] = DEFAULT_WINDOW
                    ) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """What ingest makes of a screen: grey, blanked, windowed, normalised; mask alike.

    Returns image (float32), mask (uint8) and the window origin in m (x, y).
    """
    grey, _ = rgb_to_grey(view.screen.rgb)
    grey, _ = blank_boxes(grey, view.screen.burned_in_boxes)
    win, box = choose_window(grey, window)
    image = win.cut(normalise(grey, "percentile", region=box))
    mask = win.cut(view.full_mask())
    sp = view.screen.spacing_m
    return image.astype(np.float32), mask.astype(np.uint8), (win.col0 * sp, win.row0 * sp)


def _write_2d(array: np.ndarray, spacing_m: float, origin_m: tuple[float, float],
              path: Path) -> None:
    img = sitk.GetImageFromArray(array)
    img.SetSpacing((spacing_m * 1e3, spacing_m * 1e3))
    img.SetOrigin((origin_m[0] * 1e3, origin_m[1] * 1e3))
    sitk.WriteImage(img, str(path), useCompression=True)


def _write_volume(array: np.ndarray, vol: lvm.Volume, path: Path) -> None:
    img = sitk.GetImageFromArray(array)
    img.SetSpacing([s * 1e3 for s in vol.spacing_m])
    img.SetOrigin([o * 1e3 for o in vol.origin_m])
    sitk.WriteImage(img, str(path), useCompression=True)


def split_patients(patients: list[str], seed: int) -> dict[str, list[str]]:
    """Patient-level 8:1:1 split (Geroski et al. 2023); at least one patient per split."""
    n = len(patients)
    if n < 3:
        raise InputError(f"synth: a data set needs at least 3 patients for the 8:1:1 split "
                         f"(got {n}); use --layout case for a single demo patient")
    order = [patients[i] for i in np.random.default_rng(seed).permutation(n)]
    n_test = max(1, int(round(0.1 * n)))
    n_val = max(1, int(round(0.1 * n)))
    return {"test": sorted(order[:n_test]), "val": sorted(order[n_test:n_test + n_val]),
            "train": sorted(order[n_test + n_val:])}


def _replace_dir(tmp: Path, out: Path) -> None:
    if out.exists():
        if out.is_dir() and (not any(out.iterdir()) or (out / ".twinflow-synth").exists()):
            shutil.rmtree(out)
        else:
            shutil.rmtree(tmp)
            raise InputError(f"{out}: exists and was not written by twinflow synth; "
                             "choose another --out")
    os.replace(tmp, out)


def write_dataset(anatomy: str, n_patients: int, seed: int, out: Path,
                  window: tuple[int, int] = DEFAULT_WINDOW, volumes: bool = True,
                  figure: Path | None = None) -> Path:
    """Write a data set (module docstring); returns ``out/manifest.json``."""
    spec = ANATOMIES[anatomy]
    ids = [f"{spec['prefix']}-{k:03d}" for k in range(n_patients)]
    splits = split_patients(ids, seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        samples, vol_samples, shown = [], [], []
        for k in range(n_patients):
            p = make_patient(anatomy, k, seed, volumes=volumes)
            folder = tmp / p.patient
            folder.mkdir()
            for view in p.views:
                image, mask, origin = preprocess_view(view, window)
                _write_2d(image, view.screen.spacing_m, origin,
                          folder / f"{view.name}.image.nii.gz")
                _write_2d(mask, view.screen.spacing_m, origin,
                          folder / f"{view.name}.mask.nii.gz")
                samples.append({"patient": p.patient, "view": view.name,
                                "image": f"{p.patient}/{view.name}.image.nii.gz",
                                "mask": f"{p.patient}/{view.name}.mask.nii.gz"})
                if len(shown) < 8 and figure is not None:
                    shown.append((p.patient, view, image, mask))
            for phase, vol in p.volumes:
                stem = f"volume-{phase}"
                _write_volume(vol.hu, vol, folder / f"{stem}.image.nii.gz")
                _write_volume(vol.labels, vol, folder / f"{stem}.mask.nii.gz")
                vol_samples.append({"patient": p.patient, "view": "volume", "phase": phase,
                                    "modality": "ct",
                                    "image": f"{p.patient}/{stem}.image.nii.gz",
                                    "mask": f"{p.patient}/{stem}.mask.nii.gz"})
            write_json_atomic(folder / "truth.json", p.truth)
            for name, surface in p.surfaces.items():
                surface.save(str(folder / f"{name}.vtp"), binary=True)
        manifest = {"anatomy": spec["anatomy"], "classes": spec["classes"], "splits": splits,
                    "seed": seed, "samples": samples, "window": list(window),
                    "intensity": "float32 in [0, 1] (percentile-normalised)",
                    "simplifications": SIMPLIFICATIONS[anatomy]}
        if vol_samples:
            manifest["volumes"] = vol_samples
        write_json_atomic(tmp / "manifest.json", manifest)
        (tmp / ".twinflow-synth").write_text("written by twinflow synth\n")
        if figure is not None:
            from twinflow.imaging.synth.figure import sample_figure
            sample_figure(anatomy, shown, Path(figure))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.chmod(0o755)
    _replace_dir(tmp, out)
    return out / "manifest.json"


def _relative_to_cwd(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def write_case(anatomy: str, seed: int, out: Path, index: int = 0,
               targets: lvm.LVTargets | None = None) -> Path:
    """Write one patient as a demo case input folder; returns ``out/images.json``."""
    p = make_patient(anatomy, index, seed, volumes=False, targets=targets)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        entries = []
        for view in p.views:
            name = f"{view.name}.png"
            # palette PNG: what a scanner export looks like, and small enough to commit
            Image.fromarray(view.screen.rgb).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                      dither=Image.Dither.NONE
                                                      ).save(tmp / name, optimize=True)
            sp = view.screen.spacing_m
            entries.append({"path": _relative_to_cwd(out / name), "modality": view.modality,
                            "view": view.view, "phase": view.phase,
                            "pixel_spacing": [sp, sp], "frame": None,
                            "burned_in_text": view.screen.burned_in_boxes})
        truth = dict(p.truth)
        truth["screens"] = {v.name: {"offset_px": list(v.screen.offset)} for v in p.views}
        write_json_atomic(tmp / "truth.json", truth)
        for name, surface in p.surfaces.items():
            surface.save(str(tmp / f"{name}.vtp"), binary=True)
        write_json_atomic(tmp / "images.json", {
            "images": entries, "preprocessing": {"window": list(DEFAULT_WINDOW),
                                                 "normalisation": "percentile"},
            "paths": "relative to the working directory where twinflow synth ran "
                     "(the repository root)", "seed": seed, "patient": p.patient})
        (tmp / ".twinflow-synth").write_text("written by twinflow synth\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.chmod(0o755)
    _replace_dir(tmp, out)
    return out / "images.json"


def load_manifest_json(path: Path) -> dict[str, Any]:
    """Plain JSON read of a data set manifest (tests and figures)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
