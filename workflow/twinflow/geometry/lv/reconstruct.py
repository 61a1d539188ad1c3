r"""Reconstruct a patient's LV from its masks (or its measurements) and measure it.

``reconstruct_lv(settings, images, masks, measurements)`` (stage ``reconstruct_lv``)
follows the case's ``geometry.source``:

* ``images`` — apical 4- and 2-chamber label maps (:mod:`~twinflow.geometry.lv.biplane`):
  EDV (and ESV / EF when end-systolic views exist) by the biplane method of discs
  (Lang et al. 2015, J Am Soc Echocardiogr 28:1), surfaces by biplane interpolation;
* ``volume`` — a 3D CT/MR label map (:mod:`~twinflow.geometry.lv.volume`): voxel-count and
  marching-cubes surface volumes;
* ``measurements`` — the truncated prolate ellipsoid of the case's radii
  (:mod:`twinflow.geometry.lv.ellipsoid`), exact volumes.

Inputs: the images manifest (written by :mod:`twinflow.imaging.ingest`) lists the images
with their view and phase; the masks manifest (segmentation) names each image's label map
(0 background, 1 cavity, 2 myocardium, in the image geometry, spacing in mm).

Outputs beside ``measurements``: ``endo.vtp`` and ``epi.vtp`` (the end-diastolic — for
``measurements`` the reference — surfaces in the LV frame, metres, open at the base plane
``z = z_base_m``), ``endo-end-systole.vtp`` / ``epi-end-systole.vtp`` when available, and
``measurements.json`` (:class:`twinflow.artifacts.geometry.LVMeasurements`: volumes in m^3,
mass in kg, lengths in m; see :func:`reconstruct_lv`). The cavity volume of the mesh is
added by the mesh stage (``mesh.json``).

Run as ``twinflow reconstruct-lv --settings S [--images I --masks M] --measurements OUT``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from twinflow.artifacts.geometry import LVMeasurements
from twinflow.artifacts.images import ImagesManifest, MasksManifest
from twinflow.errors import InputError
from twinflow.geometry.lv.biplane import (
    DEFAULT_VIEW_ANGLE_RAD,
    N_DISCS,
    ApicalView,
    biplane_surfaces,
    simpson_biplane,
)
from twinflow.geometry.lv.surfaces import (
    MYOCARDIAL_DENSITY_KG_M3,
    LVSurfaces,
    rings_to_surface,
)
from twinflow.geometry.lv.volume import LabelVolume, volume_surfaces
from twinflow.stages import read_stage_settings

log = logging.getLogger(__name__)

PHASES: tuple[str, ...] = ("end-diastole", "end-systole")

REFERENCES: list[str] = [
    "Lang RM et al. 2015, J Am Soc Echocardiogr 28:1 (biplane method of discs, LV mass "
    "density 1.05 g/mL)",
    "Lorensen WE, Cline HE 1987, SIGGRAPH 21:163 (marching cubes); Schroeder W et al. 2015, "
    "IEEE LDAV (flying edges)",
    "Taubin G 1995, SIGGRAPH (windowed-sinc / lambda-mu smoothing)",
    "Land S et al. 2015, Proc R Soc A 471:20150641 (truncated ellipsoid LV)",
]


# ------------------------------------------------------------------ inputs

def _find_masks(images: Path, masks: Path, views: tuple[str, ...]
                ) -> dict[tuple[str, str], Path]:
    """(view, phase) -> mask file of the images of ``views``, from the two manifests."""
    listing = ImagesManifest.read(images)
    segmented = {m.image: Path(masks).parent / m.mask for m in MasksManifest.read(masks).masks}
    # a 3D volume is not segmented by the 2D U-Net: its label map is expected under the
    # image's name in the masks folder (provided with the case, see _from_volume)
    found: dict[tuple[str, str], Path] = {}
    for entry in listing.images:
        if entry.view in views:
            key = (entry.view, entry.phase or "end-diastole")
            if key in found:
                raise InputError(f"{images}: several {key[0]} {key[1]} images; keep one per "
                                 "view and phase")
            found[key] = segmented.get(entry.image, Path(masks).parent / entry.image)
    return found


def _read_mask(path: Path) -> sitk.Image:
    if not path.is_file():
        raise InputError(f"{path}: mask not found (masks are <image name>.nii.gz)")
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError:
        raise InputError(f"{path}: cannot read the mask") from None


def read_apical_view(path: Path, name: str) -> ApicalView:
    img = _read_mask(path)
    arr = sitk.GetArrayFromImage(img)
    dim = img.GetDimension()
    if dim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise InputError(f"{path}: an apical view mask must be 2D (got shape {arr.shape})")
    sp = np.array(img.GetSpacing()[:2]) * 1e-3
    origin = np.array(img.GetOrigin()[:2]) * 1e-3
    direction = np.array(img.GetDirection()).reshape(dim, dim)[:2, :2]
    return ApicalView(name, arr.astype(np.uint8), (float(sp[0]), float(sp[1])),
                      (float(origin[0]), float(origin[1])), direction)


def read_label_volume(path: Path, name: str) -> LabelVolume:
    img = _read_mask(path)
    if img.GetDimension() != 3:
        raise InputError(f"{path}: a volume mask must be 3D")
    arr = sitk.GetArrayFromImage(img).astype(np.uint8)
    return LabelVolume(name, arr, tuple(float(s) * 1e-3 for s in img.GetSpacing()),
                       tuple(float(o) * 1e-3 for o in img.GetOrigin()),
                       np.array(img.GetDirection()).reshape(3, 3))


# ------------------------------------------------------------------ routes

def _from_images(images: Path, masks_manifest: Path, out_dir: Path) -> dict[str, Any]:
    masks = _find_masks(images, masks_manifest, ("apical-4ch", "apical-2ch"))
    result: dict[str, Any] = {"view_angle_rad": DEFAULT_VIEW_ANGLE_RAD}
    for phase in PHASES:
        keys = [("apical-4ch", phase), ("apical-2ch", phase)]
        if not all(k in masks for k in keys):
            if phase == "end-diastole":
                raise InputError(f"{images}: geometry source 'images' needs "
                                 "apical-4ch and apical-2ch images at end-diastole")
            continue
        v4, v2 = (read_apical_view(masks[k], f"{masks[k]}") for k in keys)
        endo = simpson_biplane(v4, v2, N_DISCS)
        epi = simpson_biplane(v4, v2, N_DISCS, epicardial=True)
        surfaces = biplane_surfaces(v4, v2)
        files = surfaces.write(out_dir, "" if phase == "end-diastole" else f"-{phase}")
        result[phase] = {
            "cavity_volume_simpson_m3": endo["volume_m3"],
            "epicardial_volume_simpson_m3": epi["volume_m3"],
            "wall_volume_simpson_m3": epi["volume_m3"] - endo["volume_m3"],
            "long_axis_lengths_m": {"apical-4ch": endo["lengths_m"][0],
                                    "apical-2ch": endo["lengths_m"][1]},
            "disc_diameters_m": {"apical-4ch": endo["diameters_a_m"],
                                 "apical-2ch": endo["diameters_b_m"]},
            "masks": {"apical-4ch": masks[keys[0]].name, "apical-2ch": masks[keys[1]].name},
            "surfaces": files, **surfaces.measurements()}
        result[phase]["cavity_volume_m3"] = endo["volume_m3"]
    result["method"] = ("biplane method of discs (N = 20) for the volumes; biplane "
                        "interpolation (most circular ellipse through the 4 points of each "
                        "level) for the surfaces")
    result["simplifications"] = [
        "two views cannot fix an elliptical cross-section: Simpson's formula assumes the views "
        "are orthogonal (pi a b / 4); views 60 deg apart on an elliptical LV give up to ~6 % "
        "error per disc",
        "no correction for apical foreshortening",
        "basal surface ring takes the widths 2 % of the long axis below the annulus line",
    ]
    return result


def _from_volume(images: Path, masks_manifest: Path, out_dir: Path) -> dict[str, Any]:
    masks = _find_masks(images, masks_manifest, ("volume",))
    if ("volume", "end-diastole") not in masks:
        raise InputError(f"{images}: geometry source 'volume' needs a "
                         "'volume' image at end-diastole (or without phase)")
    result: dict[str, Any] = {}
    for phase in PHASES:
        if ("volume", phase) not in masks:
            continue
        path = masks[("volume", phase)]
        if not path.is_file():
            raise InputError(f"{path}: no 3D mask; the 2D U-Net does not segment volumes, "
                             "so a CT/MR label map (1 cavity, 2 myocardium) must be provided "
                             "under this name")
        surfaces, frame, info = volume_surfaces(read_label_volume(path, str(path)))
        files = surfaces.write(out_dir, "" if phase == "end-diastole" else f"-{phase}")
        result[phase] = {**info, "mask": path.name, "surfaces": files,
                         "lv_frame": frame.as_dict(), **surfaces.measurements()}
        result[phase]["cavity_volume_m3"] = info["cavity_volume_voxels_m3"]
    result["method"] = ("voxel count for the volumes; Gaussian-smoothed mask, flying-edges "
                        "isosurface at 0.5 and Taubin smoothing for the surfaces, base plane "
                        "fitted to the basal opening of the cavity")
    result["simplifications"] = [
        "the base is a plane fitted to the cavity's opening (valve planes not separated)",
        "surfaces from the mask alone (no intensity-based sub-voxel refinement)",
    ]
    return result


def ellipsoid_surface(rs: float, rl: float, z_base: float, n_theta: int = 48,
                      n_phi: int = 72) -> Any:
    """Open prolate-ellipsoid surface ``(x^2+y^2)/rs^2 + z^2/rl^2 = 1``, ``z <= z_base``."""
    t0 = np.arccos(np.clip(z_base / rl, -1.0, 1.0))   # polar angle of the base from +z
    th = np.linspace(t0, np.pi, n_theta + 1)[:-1]
    ph = np.linspace(0.0, 2 * np.pi, n_phi, endpoint=False)
    tt, pp = np.meshgrid(th, ph, indexing="ij")
    rings = np.stack([rs * np.sin(tt) * np.cos(pp), rs * np.sin(tt) * np.sin(pp),
                      rl * np.cos(tt)], axis=-1)
    rings[0, :, 2] = z_base
    return rings_to_surface(rings, np.array([0.0, 0.0, -rl]))


def _from_measurements(case: dict[str, Any], settings: Path, out_dir: Path) -> dict[str, Any]:
    from twinflow.geometry.lv.ellipsoid import EllipsoidLV

    m = (case.get("geometry") or {}).get("measurements") or {}
    try:
        geo = EllipsoidLV(float(m["endo_short_radius"]), float(m["endo_long_radius"]),
                          float(m["epi_short_radius"]), float(m["epi_long_radius"]),
                          float(m["base_height"]))
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{settings}: geometry.measurements needs endo/epi short and long "
                         "radii and base_height (m)") from None
    geo.validate()
    # the epicardium as the "cavity" of an ellipsoid with the epicardial radii
    epi = EllipsoidLV(geo.r_short_epi, geo.r_long_epi, 2 * geo.r_short_epi,
                      2 * geo.r_long_epi, geo.z_base)
    surfaces = LVSurfaces(ellipsoid_surface(geo.r_short_endo, geo.r_long_endo, geo.z_base),
                          ellipsoid_surface(geo.r_short_epi, geo.r_long_epi, geo.z_base),
                          geo.z_base)
    files = surfaces.write(out_dir)
    cavity, outer = geo.cavity_volume(), epi.cavity_volume()
    ed = {"surfaces": files, **surfaces.measurements(), "cavity_volume_m3": cavity,
          "cavity_volume_exact_m3": cavity, "epicardial_volume_exact_m3": outer,
          "wall_volume_exact_m3": outer - cavity, "wall_volume_m3": outer - cavity,
          "lv_mass_kg": (outer - cavity) * MYOCARDIAL_DENSITY_KG_M3,
          "wall_thickness_equator_m": geo.r_short_epi - geo.r_short_endo,
          "wall_thickness_apex_m": geo.r_long_epi - geo.r_long_endo}
    return {"end-diastole": ed, "ellipsoid": {
        "r_short_endo_m": geo.r_short_endo, "r_long_endo_m": geo.r_long_endo,
        "r_short_epi_m": geo.r_short_epi, "r_long_epi_m": geo.r_long_epi,
        "z_base_m": geo.z_base, "cavity_volume_m3": cavity},
        "z_base_m": geo.z_base,
        "method": "truncated prolate ellipsoid from the case measurements (exact volumes)",
        "simplifications": ["the measurements describe the unloaded reference shape; its "
                            "cavity volume is reported as the end-diastolic volume"]}


# ------------------------------------------------------------------ entry point

def reconstruct_lv(settings: Path, images: Path | None, masks: Path | None,
                   measurements: Path) -> Path:
    """Stage ``reconstruct_lv``: reconstruct and measure the LV; returns ``measurements``.

    ``images``/``masks``: the ingest and segmentation manifests (routes ``images`` and
    ``volume``); surfaces are written beside ``measurements``. Top-level keys of
    measurements.json (:class:`~twinflow.artifacts.geometry.LVMeasurements`): ``source``,
    ``z_base_m`` (base plane of the LV frame), ``end_diastolic_volume_m3`` (Simpson biplane /
    voxel count / exact ellipsoid), ``end_systolic_volume_m3`` and ``ejection_fraction``
    (when end-systolic masks exist), ``cavity_volume_surface_m3`` (endocardial surface closed
    at the base), ``wall_volume_m3`` and ``lv_mass_kg`` (surfaces, 1.05 g/mL),
    ``wall_thickness_m`` (median 3D), per-phase details under ``end-diastole`` /
    ``end-systole``, ``method``, ``references`` and ``simplifications``.
    """
    case = read_stage_settings(settings, "reconstruct_lv")
    out_dir = Path(measurements).parent
    source = case["geometry"]["source"]
    out_dir.mkdir(parents=True, exist_ok=True)
    if source == "measurements":
        result = _from_measurements(case, Path(settings), out_dir)
    elif images is None or masks is None:
        raise InputError(f"{settings}: geometry source {source!r} needs the images and masks "
                         "manifests")
    elif source == "images":
        result = _from_images(Path(images), Path(masks), out_dir)
    else:
        result = _from_volume(Path(images), Path(masks), out_dir)
    ed = result["end-diastole"]
    summary: dict[str, Any] = {
        "source": source, "z_base_m": float(result.pop("z_base_m", 0.0)),
        "end_diastolic_volume_m3": ed["cavity_volume_m3"],
        "cavity_volume_surface_m3": ed["cavity_volume_surface_m3"],
        "wall_volume_m3": ed["wall_volume_m3"], "lv_mass_kg": ed["lv_mass_kg"],
        "myocardial_density_kg_m3": MYOCARDIAL_DENSITY_KG_M3,
        "wall_thickness_m": ed["wall_thickness_m"],
        "surfaces": ed["surfaces"], "references": REFERENCES,
        "frame": "LV frame: long axis +z (apex -> base), base plane z = z_base_m, metres",
    }
    if "end-systole" in result:
        esv = result["end-systole"]["cavity_volume_m3"]
        if not esv < ed["cavity_volume_m3"]:
            # the masks contradict the phases (a mis-segmented or mislabelled image): no
            # personalisation can reproduce a cavity that grows in systole
            raise InputError(
                f"{masks}: the end-systolic cavity ({1e6 * esv:.1f} mL) is not smaller than "
                f"the end-diastolic one ({1e6 * ed['cavity_volume_m3']:.1f} mL): check the "
                "images' phases and their masks")
        summary["end_systolic_volume_m3"] = esv
        summary["ejection_fraction"] = 1.0 - esv / ed["cavity_volume_m3"]
    summary.update(result)
    path = LVMeasurements(**summary).write(measurements)
    log.info("wrote %s: end-diastolic volume %.1f mL (%s)", path,
             1e6 * summary["end_diastolic_volume_m3"], source)
    return path
