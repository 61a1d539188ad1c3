"""Synthetic LV cases laid out as the workflow leaves them before ``reconstruct_lv``.

``images/manifest.json`` lists the images (view, phase) as :mod:`twinflow.imaging.ingest`
writes it, ``masks/manifest.json`` the ground-truth label maps of :mod:`twinflow.imaging.synth`
in the image geometry (what a perfect segmentation gives), both through their artifact
models; ``settings/`` holds the stage settings written from a canonical case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from twinflow.artifacts.geometry import LVMeasurements, LVPhaseMeasurements
from twinflow.artifacts.images import (
    ComponentCleanup,
    ImageEntry,
    ImagesManifest,
    Mask,
    MasksManifest,
    ModelInfo,
    SkippedImage,
)
from twinflow.case import from_canonical, to_canonical
from twinflow.drugs.effects import drug_effects
from twinflow.geometry.lv.mesh import mesh_lv
from twinflow.geometry.lv.reconstruct import reconstruct_lv
from twinflow.geometry.lv.surfaces import MYOCARDIAL_DENSITY_KG_M3, LVSurfaces
from twinflow.imaging.synth import dataset as ds
from twinflow.stages import STAGES, settings_path, write_stage_settings


@dataclass
class SynthCase:
    """A case as the workflow lays it out: stage settings under ``folder/settings`` and the
    manifests of ingest (``images``) and segmentation (``masks``)."""

    folder: Path
    images: Path | None
    masks: Path | None
    truth: dict[str, Any]

    def settings(self, stage: str, scenario: str | None = "baseline") -> Path:
        return settings_path(self.folder, stage, scenario if STAGES[stage].per_scenario
                             else None)

    def reconstruct(self, geo: Path) -> Path:
        """Stage ``reconstruct_lv`` into ``geo/measurements.json``."""
        return reconstruct_lv(self.settings("reconstruct_lv"), self.images, self.masks,
                              Path(geo) / "measurements.json")

    def effects(self, scenario: str = "baseline") -> Path:
        """Stage ``drug_effects`` of a scenario into ``<folder>/<scenario>/drug_effects.json``."""
        return drug_effects(self.settings("drug_effects", scenario),
                            self.folder / scenario / "drug_effects.json")

    def mesh(self, geo: Path, out: Path, scenario: str = "baseline") -> Path:
        """Stage ``mesh_lv`` of ``geo/measurements.json`` into ``out/mesh.xdmf``."""
        return mesh_lv(self.settings("mesh_lv", scenario), Path(geo) / "measurements.json",
                       self.effects(scenario), Path(out) / "mesh.xdmf", Path(out) / "mesh.json")


def settings_case(tmp: Path, case: dict[str, Any], images: Path | None = None,
                  masks: Path | None = None, truth: dict[str, Any] | None = None) -> SynthCase:
    """Write the stage settings of a (partial, SI) LV case, completed by the case model."""
    canonical = to_canonical(from_canonical({"anatomy": "left-ventricle", **case}))
    write_stage_settings(canonical, tmp)
    return SynthCase(Path(tmp), images, masks, truth or {})


def measurements_case(tmp: Path, measurements: dict[str, float],
                      cell_size: float | None = None) -> SynthCase:
    """An LV case of the ``measurements`` route (truncated ellipsoid, SI radii)."""
    return settings_case(tmp, {"geometry": {"source": "measurements",
                                            "measurements": measurements},
                               "mesh": {"cell_size": cell_size}})


def write_case(tmp: Path, index: int, seed: int, source: str,
               cell_size: float = 6e-3) -> SynthCase:
    """Write patient ``index`` of ``seed`` as an LV case with ``geometry.source``; the masks
    are the ground truth (what a perfect segmentation gives)."""
    tmp = Path(tmp)
    images_dir, masks_dir = tmp / "images", tmp / "masks"
    images_dir.mkdir(parents=True, exist_ok=True)
    masks_dir.mkdir(parents=True, exist_ok=True)
    p = ds.make_patient("lv", index, seed, volumes=(source == "volume"))
    listing: list[ImageEntry] = []
    masks: list[Mask] = []
    k = 0
    if source == "images":
        for view in p.views:
            _, mask, origin = ds.preprocess_view(view)
            name = f"{k:02d}-{view.name}.nii.gz"
            ds._write_2d(mask, view.screen.spacing_m, origin, masks_dir / name)
            listing.append(ImageEntry(image=name, sidecar=name.replace(".nii.gz", ".json"),
                                      modality="echo", view=view.view, phase=view.phase,
                                      kind="2d"))
            masks.append(Mask(image=name, mask=name, view=view.view, kind="2d"))
            k += 1
    else:  # 3D label maps are provided under the image's name (the U-Net skips volumes)
        for phase, vol in p.volumes:
            name = f"{k:02d}-volume-{phase}.nii.gz"
            ds._write_volume(vol.labels, vol, masks_dir / name)
            listing.append(ImageEntry(image=name, sidecar=name.replace(".nii.gz", ".json"),
                                      modality="ct", view="volume", phase=phase,
                                      kind="volume"))
            k += 1
    images = ImagesManifest(images=listing, deidentification="synthetic").write(
        images_dir / "manifest.json")
    skipped = [SkippedImage(image=e.image, reason="3D volume") for e in listing
               if e.kind == "volume"]
    masks_manifest = MasksManifest(
        anatomy="left-ventricle", classes=["cavity", "myocardium"],
        labels={"cavity": 1, "myocardium": 2}, masks=masks, skipped=skipped,
        model=ModelInfo(file="ground truth", sha256="", preset=None, training_data_sha256=None),
        thresholds=[0.5, 0.5],
        component_cleanup=ComponentCleanup(enabled=False, min_fraction_of_largest=0.0),
        provider="ground truth").write(masks_dir / "manifest.json")
    case = {"geometry": {"source": source}, "mesh": {"cell_size": cell_size},
            "images": [{"path": str(images_dir / e.image), "modality": e.modality,
                        "view": e.view, "phase": e.phase} for e in listing]}
    return settings_case(tmp, case, images, masks_manifest, p.truth)


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
