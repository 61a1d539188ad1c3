"""``geometry/measurements.json``: what the reconstruction measured, per anatomy.

* :class:`CarotidMeasurements` — written by
  :func:`twinflow.geometry.carotid.reconstruct.write_outputs` (diameters, stenosis degrees,
  angles of the patient-adapted bifurcation model, :mod:`twinflow.geometry.carotid.model`);
* :class:`LVMeasurements` — written by :func:`twinflow.geometry.lv.reconstruct.reconstruct_lv`
  (volumes, mass, wall thickness of the left ventricle), read by the LV mesher.

Values are SI; dimensional floats carry their unit in the name (``_m``, ``_m3``, ``_kg``,
``_rad``). Keys that only some inputs produce (an end-systolic phase, a transversal cut) are
absent rather than ``null``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from twinflow.artifacts import Artifact, omitted_when_none

# ------------------------------------------------------------------ carotid


class CarotidMeasurements(Artifact):
    """Carotid bifurcation measured on the reconstructed model (Geroski et al. 2023)."""

    cca_lumen_diameter_m: float
    """Median CCA lumen diameter (longitudinal and transversal cuts averaged)."""
    cca_outer_diameter_m: float
    """Median CCA outer-wall diameter."""
    ica_bulb_max_diameter_m: float
    """Largest unobstructed ICA diameter (outer diameter less twice the IMT) in the image."""
    ica_distal_diameter_m: float
    """Unobstructed diameter of the distal ICA (NASCET reference)."""
    ica_min_lumen_diameter_m: float
    """Narrowest ICA lumen diameter."""
    ica_min_lumen_position_m: float
    """Arclength of the narrowest ICA lumen from the bifurcation point."""
    eca_diameter_m: float
    """Median ECA lumen diameter."""
    bulb_ratio: float
    """ICA bulb diameter over the CCA lumen diameter."""
    intima_media_thickness_m: float
    """Intima-media thickness (CCA walls of the longitudinal cut, or the template)."""
    bifurcation_angle_rad: float
    """Angle between the ICA and ECA axes."""
    ica_angle_rad: float
    """Angle of the ICA axis from the CCA axis."""
    eca_angle_rad: float
    """Angle of the ECA axis from the CCA axis."""
    stenosis_nascet: float
    """1 - narrowest ICA lumen / distal ICA diameter (NASCET)."""
    stenosis_nascet_source: str
    stenosis_ecst: float
    """1 - narrowest ICA lumen / unobstructed diameter there (ECST)."""
    stenosis_area_model: float
    """Area stenosis of the model's circular ICA lumen at its narrowest station."""
    stenosis_area: float
    """Reported area stenosis (transversal planimetry when available, else the model's)."""
    stenosis_area_source: str
    stenosis_area_transversal: float | None = omitted_when_none()
    """Area stenosis by planimetry of the transversal ICA cut."""
    ica_transversal_lumen_diameter_m: float | None = omitted_when_none()
    """Area-equivalent lumen diameter of the transversal ICA cut."""
    ica_transversal_outer_diameter_m: float | None = omitted_when_none()
    """Area-equivalent outer diameter of the transversal ICA cut."""
    cca_transversal_lumen_diameter_m: float | None = omitted_when_none()
    """Area-equivalent lumen diameter of the transversal CCA cut."""
    cca_transversal_lumen_ellipticity: float | None = omitted_when_none()
    """1 - minor / major axis of the CCA lumen in the transversal cut."""
    plaque_length_m: float
    """ICA length narrowed by at least the plaque threshold (``plaque_definition``)."""
    plaque_definition: str
    branch_length_m: dict[str, float]
    """Length of each branch model (cca, ica, eca)."""
    lumen_volume_m3: float
    """Volume of the watertight lumen surface (``lumen.vtp``)."""
    outer_volume_m3: float
    """Volume of the watertight outer-wall surface (``wall.vtp``)."""
    sources: dict[str, str]
    """Where each quantity came from (image cut or template)."""
    notes: list[str]
    simplifications: list[str]
    method: str


# ------------------------------------------------------------------ left ventricle


class LVFrame(Artifact):
    """Rigid map from image (world) coordinates to the LV frame (3D volume route)."""

    origin_m: list[float]
    rotation: list[list[float]]
    convention: str


class LVPhaseMeasurements(Artifact):
    """Measurements of one phase (end-diastole or end-systole); the route decides which
    of the optional groups are present (images: Simpson; volume: voxels; measurements:
    the exact ellipsoid)."""

    cavity_volume_m3: float
    """Cavity volume of the route (Simpson biplane, voxel count or exact ellipsoid)."""
    cavity_volume_surface_m3: float
    """Volume of the endocardial surface closed at the base plane."""
    epicardial_volume_m3: float
    wall_volume_m3: float
    lv_mass_kg: float
    wall_thickness_m: float
    """Median closest-point distance endocardium -> epicardium."""
    endo_long_axis_m: float
    epi_long_axis_m: float
    endo_n_points: int
    epi_n_points: int
    surfaces: dict[str, str]
    """File of each surface (``endo``, ``epi``) beside measurements.json."""
    # images route (biplane method of discs)
    cavity_volume_simpson_m3: float | None = omitted_when_none()
    epicardial_volume_simpson_m3: float | None = omitted_when_none()
    wall_volume_simpson_m3: float | None = omitted_when_none()
    long_axis_lengths_m: dict[str, float] | None = omitted_when_none()
    disc_diameters_m: dict[str, list[float]] | None = omitted_when_none()
    masks: dict[str, str] | None = omitted_when_none()
    # volume route (3D label map)
    cavity_volume_voxels_m3: float | None = omitted_when_none()
    wall_volume_voxels_m3: float | None = omitted_when_none()
    voxel_size_m: list[float] | None = omitted_when_none()
    mask: str | None = omitted_when_none()
    lv_frame: LVFrame | None = omitted_when_none()
    # measurements route (truncated ellipsoid)
    cavity_volume_exact_m3: float | None = omitted_when_none()
    epicardial_volume_exact_m3: float | None = omitted_when_none()
    wall_volume_exact_m3: float | None = omitted_when_none()
    wall_thickness_equator_m: float | None = omitted_when_none()
    wall_thickness_apex_m: float | None = omitted_when_none()


class LVEllipsoid(Artifact):
    """Truncated prolate ellipsoid of the measurements route (Land et al. 2015 shape)."""

    r_short_endo_m: float
    r_long_endo_m: float
    r_short_epi_m: float
    r_long_epi_m: float
    z_base_m: float
    cavity_volume_m3: float


class LVMeasurements(Artifact):
    """Left ventricle measured on the reconstruction (LV frame: long axis +z, base plane
    ``z = z_base_m``)."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)

    source: Literal["images", "volume", "measurements"]
    z_base_m: float
    """Base plane of the LV frame."""
    end_diastolic_volume_m3: float
    end_systolic_volume_m3: float | None = omitted_when_none()
    ejection_fraction: float | None = omitted_when_none()
    cavity_volume_surface_m3: float
    wall_volume_m3: float
    lv_mass_kg: float
    myocardial_density_kg_m3: float
    wall_thickness_m: float
    surfaces: dict[str, str]
    references: list[str]
    frame: str
    end_diastole: LVPhaseMeasurements = Field(alias="end-diastole")
    end_systole: LVPhaseMeasurements | None = omitted_when_none(alias="end-systole")
    view_angle_rad: float | None = omitted_when_none()
    """Angle between the apical views (images route)."""
    ellipsoid: LVEllipsoid | None = omitted_when_none()
    """The exact ellipsoid (measurements route)."""
    method: str
    simplifications: list[str]
