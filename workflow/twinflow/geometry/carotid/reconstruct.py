"""``reconstruct_carotid``: label maps of a case → lumen/wall surfaces + measurements.json.

Inputs: the label maps (0 background, 1 lumen, 2 wall; spacing in mm) listed by the masks
manifest, the view of each from the images manifest
(:class:`~twinflow.artifacts.images.MasksManifest`, :class:`~twinflow.artifacts.images.
ImagesManifest`), or an explicit list of ``(view, mask path)`` pairs. Views:
``transversal-cca``, ``transversal-ica``, ``longitudinal``; any may be missing (the template
fills in, see :mod:`.model`); the case's ``geometry.template`` from the stage's settings.

Outputs (:class:`GeometryFiles`): ``lumen.vtp|.stl``, ``wall.vtp|.stl`` (outer wall surface;
watertight, capped, cell array ``facet_tag``), ``model.json`` (branch axes and profiles, used by the
mesher), ``measurements.json`` (:class:`twinflow.artifacts.geometry.CarotidMeasurements`;
SI, with ``sources``, ``notes`` and ``simplifications``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from twinflow.artifacts.geometry import CarotidMeasurements
from twinflow.artifacts.images import ImagesManifest, MasksManifest
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
from twinflow.io import write_json_atomic
from twinflow.stages import read_stage_settings

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


@dataclass(frozen=True, slots=True)
class GeometryFiles:
    """The files of a carotid reconstruction (each ``.vtp`` surface also as ``.stl``)."""

    measurements: Path
    model: Path
    lumen: Path
    wall: Path

    @classmethod
    def in_folder(cls, folder: Path) -> GeometryFiles:
        """The workflow's names (rules/geometry.smk) in ``folder``."""
        folder = Path(folder)
        return cls(folder / "measurements.json", folder / "model.json", folder / "lumen.vtp",
                   folder / "wall.vtp")


def find_views(images: Path, masks: Path) -> list[tuple[str, Path]]:
    """(view, mask file) of every carotid view segmented, from the two manifests."""
    listing = ImagesManifest.read(images)
    segmented = {m.image: Path(masks).parent / m.mask for m in MasksManifest.read(masks).masks}
    return [(e.view, segmented[e.image]) for e in listing.images
            if e.view in VIEWS and e.image in segmented]


def reconstruct_from_masks(views: Sequence[tuple[str, Path]], template: Template,
                           out: Path | GeometryFiles, voxel: float | None = None) -> Path:
    """Reconstruct from explicit (view, mask) pairs into ``out`` (files, or a folder with
    the workflow's names); returns the measurements file."""
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
    model = model.on_grid()  # CPU-independent last bits (model.py, docs/reproducibility.md)
    try:
        files = out if isinstance(out, GeometryFiles) else GeometryFiles.in_folder(out)
        return write_outputs(model, ica_t, cca_t, files, voxel)
    except ValueError as err:  # surface.build_surface: ends that cannot be closed
        source = by_view.get("longitudinal", next(iter(by_view.values())))
        raise InputError(f"{source}: the reconstructed branches give no closed surface "
                         f"({err}); check this mask") from None


def write_outputs(model: BifurcationModel, ica_t: im.TransversalSection | None,
                  cca_t: im.TransversalSection | None, files: GeometryFiles,
                  voxel: float | None = None) -> Path:
    kw = {} if voxel is None else {"voxel": voxel}
    volumes = {}
    for name, outer, path in (("lumen", False, files.lumen), ("wall", True, files.wall)):
        surf = build_surface(model, outer, **kw)
        volumes[name] = float(surf.volume)
        for suffix in (".vtp", ".stl"):
            write_surface(surf, Path(path).with_suffix(suffix))
    write_json_atomic(files.model, model.to_json())
    meas = CarotidMeasurements(
        **measurements(model, ica_t, cca_t), lumen_volume_m3=volumes["lumen"],
        outer_volume_m3=volumes["wall"], sources=model.sources, notes=model.notes,
        simplifications=SIMPLIFICATIONS,
        method="Geroski et al. 2023 (J Big Data 10:72): template adapted to the patient's "
               "transversal and longitudinal cuts")
    path = meas.write(files.measurements)
    log.info("wrote %s: CCA lumen %.2f mm, NASCET stenosis %.0f %%", path,
             1e3 * meas.cca_lumen_diameter_m, 100.0 * meas.stenosis_nascet)
    return path


def reconstruct_carotid(settings: Path, images: Path, masks: Path, measurements: Path,
                        model: Path, lumen: Path, wall: Path) -> Path:
    """Stage ``reconstruct_carotid`` (module docstring); returns the measurements file."""
    case = read_stage_settings(settings, "reconstruct_carotid")
    views = find_views(Path(images), Path(masks))
    return reconstruct_from_masks(views, Template.from_case(case),
                                  GeometryFiles(Path(measurements), Path(model), Path(lumen),
                                                Path(wall)))
