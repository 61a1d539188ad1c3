"""``reconstruct_carotid``: label maps of a case → lumen/wall surfaces + measurements.json.

Inputs: ``masks_dir/<name>.nii.gz`` label maps (0 background, 1 lumen, 2 wall; spacing in mm)
and the view of each, from ``images_dir/manifest.json`` (ingest: ``{"images": [{"image",
"view", ...}]}``; the mask of image ``X.nii.gz`` is ``masks_dir/X.nii.gz``), or
``masks_dir/manifest.json`` (segmentation: ``{"masks": [{"mask", "view"}]}``), or an explicit
list of ``(view, mask path)`` pairs. Views: ``transversal-cca``, ``transversal-ica``,
``longitudinal``; any may be missing (the template fills in, see :mod:`.model`).

Outputs in ``out_dir``: ``lumen.vtp|.stl``, ``wall.vtp|.stl`` (outer wall surface; watertight,
capped, cell array ``facet_tag``), ``model.json`` (branch axes and profiles, used by the
mesher), ``measurements.json`` (:class:`twinflow.artifacts.geometry.CarotidMeasurements`;
SI, with ``sources``, ``notes`` and ``simplifications``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from twinflow.artifacts.geometry import CarotidMeasurements
from twinflow.errors import InputError
from twinflow.geometry.carotid import images as im
from twinflow.geometry.carotid.model import (
    BifurcationModel,
    Template,
    measurements,
    model_from_images,
)
from twinflow.geometry.carotid.surface import build_surface
from twinflow.geometry.mesh_io import write_surface
from twinflow.io import read_json, write_json_atomic

log = logging.getLogger(__name__)

VIEWS = ("transversal-cca", "transversal-ica", "longitudinal")
SIMPLIFICATIONS = [
    "branches are straight axes (ICA and ECA straight from the bifurcation point)",
    "lumen and outer wall cross-sections are circles (area-equivalent to the transversal "
    "cuts; eccentric lumen offset in the bifurcation plane only)",
    "the longitudinal cut is taken as the bifurcation plane (an out-of-plane probe tilt "
    "shortens the ICA/ECA chords and is not corrected)",
    "the vessel is the union of the three branch tubes (no fillet at the flow divider)",
    "beyond the image: CCA/ECA keep their last radius, the ICA relaxes to the template "
    "distal diameter over one CCA diameter",
]


def find_views(masks_dir: Path, images_dir: Path | None) -> list[tuple[str, Path]]:
    """(view, mask path) pairs of a case (module docstring)."""
    masks_dir = Path(masks_dir)
    pairs: list[tuple[str, Path]] = []
    if images_dir is not None and (Path(images_dir) / "manifest.json").is_file():
        man = read_json(Path(images_dir) / "manifest.json", "ingest manifest")
        for e in man.get("images", []):
            pairs.append((str(e.get("view", "")), masks_dir / str(e["image"])))
    elif (masks_dir / "manifest.json").is_file():
        man = read_json(masks_dir / "manifest.json", "segmentation manifest")
        for e in man.get("masks", []):
            pairs.append((str(e.get("view", "")), masks_dir / str(e["mask"])))
    else:
        raise InputError(f"{masks_dir}: no manifest.json here or in the images folder that "
                         "says which view each mask shows")
    return [(v, p) for v, p in pairs if v in VIEWS]


def reconstruct_from_masks(views: Sequence[tuple[str, Path]], template: Template,
                           out_dir: Path, voxel: float | None = None) -> Path:
    """Reconstruct from explicit (view, mask) pairs; returns ``out_dir/measurements.json``."""
    by_view: dict[str, Path] = {}
    for view, path in views:
        if view in by_view:
            raise InputError(f"{path}: a second {view} mask; give one mask per view")
        if not Path(path).is_file():
            raise InputError(f"{path}: mask not found")
        by_view[view] = Path(path)
    if not by_view:
        raise InputError("reconstruct: no transversal-cca, transversal-ica or longitudinal "
                         "mask given")
    notes: list[str] = []
    cca_t = ica_t = cut = None
    if "transversal-cca" in by_view:
        cca_t = im.measure_transversal_cca(im.LabelImage.read(by_view["transversal-cca"]))
    if "transversal-ica" in by_view:
        ica_t = im.measure_transversal_ica(im.LabelImage.read(by_view["transversal-ica"]))
    if "longitudinal" in by_view:
        try:
            cut = im.measure_longitudinal(im.LabelImage.read(by_view["longitudinal"]))
        except im.NoBifurcation as err:
            notes.append(f"longitudinal cut unusable ({err.reason}); generic template used "
                         "for the branch geometry")
    try:
        model = model_from_images(cut, cca_t, ica_t, template)
    except im.NoBifurcation as err:
        notes.append(f"longitudinal cut unusable ({err.reason}); generic template used "
                     "for the branch geometry")
        model = model_from_images(None, cca_t, ica_t, template)
    model.notes = notes + model.notes
    try:
        return write_outputs(model, ica_t, cca_t, out_dir, voxel)
    except ValueError as err:  # surface.build_surface: ends that cannot be closed
        source = by_view.get("longitudinal", next(iter(by_view.values())))
        raise InputError(f"{source}: the reconstructed branches give no closed surface "
                         f"({err}); check this mask") from None


def write_outputs(model: BifurcationModel, ica_t: im.TransversalSection | None,
                  cca_t: im.TransversalSection | None, out_dir: Path,
                  voxel: float | None = None) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kw = {} if voxel is None else {"voxel": voxel}
    volumes = {}
    for name, outer in (("lumen", False), ("wall", True)):
        surf = build_surface(model, outer, **kw)
        volumes[name] = float(surf.volume)
        for suffix in (".vtp", ".stl"):
            write_surface(surf, out_dir / f"{name}{suffix}")
    write_json_atomic(out_dir / "model.json", model.to_json())
    meas = CarotidMeasurements(
        **measurements(model, ica_t, cca_t), lumen_volume_m3=volumes["lumen"],
        outer_volume_m3=volumes["wall"], sources=model.sources, notes=model.notes,
        simplifications=SIMPLIFICATIONS,
        method="Geroski et al. 2023 (J Big Data 10:72): template adapted to the patient's "
               "transversal and longitudinal cuts")
    path = meas.write(out_dir / "measurements.json")
    log.info("wrote %s: CCA lumen %.2f mm, NASCET stenosis %.0f %%", path,
             1e3 * meas.cca_lumen_diameter_m, 100.0 * meas.stenosis_nascet)
    return path


def reconstruct_carotid(case_json: Path, masks_dir: Path, images_dir: Path | None,
                        out_dir: Path) -> Path:
    """Case entry point (module docstring); returns ``out_dir/measurements.json``."""
    case = read_json(case_json, "case file")
    if case.get("anatomy") not in (None, "carotid"):
        raise InputError(f"{case_json}: anatomy {case.get('anatomy')!r} is not carotid")
    template = Template.from_case(case)
    views = find_views(Path(masks_dir), None if images_dir is None else Path(images_dir))
    return reconstruct_from_masks(views, template, Path(out_dir))
