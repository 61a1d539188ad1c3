"""Synthetic LV cases laid out as the ingest and segmentation stages leave them.

``images_dir/manifest.json`` lists the images (view, phase) as :mod:`twinflow.imaging.ingest`
writes it, and ``masks_dir/<image name>`` holds the ground-truth label maps of
:mod:`twinflow.imaging.synth` in the image geometry (what a perfect segmentation gives).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from twinflow.artifacts.geometry import LVMeasurements, LVPhaseMeasurements
from twinflow.geometry.lv.surfaces import MYOCARDIAL_DENSITY_KG_M3, LVSurfaces
from twinflow.imaging.synth import dataset as ds


@dataclass
class SynthCase:
    case_json: Path
    masks_dir: Path
    images_dir: Path
    truth: dict[str, Any]


def write_case(tmp: Path, index: int, seed: int, source: str,
               cell_size: float = 6e-3) -> SynthCase:
    """Write patient ``index`` of ``seed`` as an LV case with ``geometry.source``."""
    tmp = Path(tmp)
    images_dir, masks_dir = tmp / "images", tmp / "masks"
    images_dir.mkdir(parents=True, exist_ok=True)
    masks_dir.mkdir(parents=True, exist_ok=True)
    p = ds.make_patient("lv", index, seed, volumes=(source == "volume"))
    listing = []
    k = 0
    if source == "images":
        for view in p.views:
            _, mask, origin = ds.preprocess_view(view)
            name = f"{k:02d}-{view.name}.nii.gz"
            ds._write_2d(mask, view.screen.spacing_m, origin, masks_dir / name)
            listing.append({"image": name, "view": view.view, "phase": view.phase,
                            "kind": "2d", "modality": "echo"})
            k += 1
    else:
        for phase, vol in p.volumes:
            name = f"{k:02d}-volume-{phase}.nii.gz"
            ds._write_volume(vol.labels, vol, masks_dir / name)
            listing.append({"image": name, "view": "volume", "phase": phase,
                            "kind": "volume", "modality": "ct"})
            k += 1
    (images_dir / "manifest.json").write_text(json.dumps({"images": listing}))
    case = {"anatomy": "left-ventricle", "geometry": {"source": source},
            "images": [{"view": e["view"], "phase": e["phase"]} for e in listing],
            "mesh": {"cell_size": cell_size, "element_degree": 2}}
    case_json = tmp / "case.json"
    case_json.write_text(json.dumps(case))
    return SynthCase(case_json, masks_dir, images_dir, p.truth)


def write_surfaces(geo: Path, surfaces: LVSurfaces) -> Path:
    """Hand-made surfaces as a reconstruction leaves them: ``endo.vtp``, ``epi.vtp`` and a
    valid ``measurements.json`` (images route, base plane z = 0, volumes of the surfaces)."""
    files = surfaces.write(geo)
    m = surfaces.measurements()
    phase = LVPhaseMeasurements(**m, surfaces=files, cavity_volume_m3=m["cavity_volume_surface_m3"])
    return LVMeasurements(
        source="images", z_base_m=surfaces.z_base, end_diastolic_volume_m3=phase.cavity_volume_m3,
        cavity_volume_surface_m3=phase.cavity_volume_surface_m3,
        wall_volume_m3=phase.wall_volume_m3, lv_mass_kg=phase.lv_mass_kg,
        myocardial_density_kg_m3=MYOCARDIAL_DENSITY_KG_M3,
        wall_thickness_m=phase.wall_thickness_m, surfaces=files, references=[],
        frame="LV frame (test surfaces)", end_diastole=phase, method="hand-made test surfaces",
        simplifications=[]).write(Path(geo) / "measurements.json")


def read_mask(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
