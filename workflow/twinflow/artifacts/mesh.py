"""Mesh information and quality written beside the meshes.

* :class:`CarotidMeshQuality` — ``mesh/mesh_quality.json`` of
  :func:`twinflow.geometry.carotid.mesh.mesh_carotid`: quality of the lumen (fluid) mesh,
  its facet tags (read by the flow solver) and the ``wall_mesh`` section
  (:class:`WallMeshQuality`) of the vessel-wall mesh;
* :class:`LVMeshInfo` — ``<scenario>/mesh/mesh.json`` of
  :func:`twinflow.geometry.lv.mesh.mesh_lv`: base plane ``z_base_m`` (read by the cardiac
  cycle), tags, sizes, cavity volumes and the mesh :class:`MeshQuality`.

:class:`MeshQuality` holds the measures of :mod:`twinflow.geometry.quality` shared by all
three meshes (dihedral angles in degrees, inverted cells, volume in m³).
"""

from __future__ import annotations

from typing import Literal

from twinflow.artifacts import Artifact, omitted_when_none


class MeshQuality(Artifact):
    """Quality of a linear tetrahedral mesh (:mod:`twinflow.geometry.quality`)."""

    cells: int
    vertices: int
    min_dihedral_angle_deg: float
    max_dihedral_angle_deg: float
    p01_min_dihedral_angle_deg: float
    """1st percentile of the smallest dihedral angle of each cell."""
    inverted_cells: int
    """Cells with a non-positive signed volume."""
    mesh_volume_m3: float
    min_edge_length_m: float | None = omitted_when_none()
    """Shortest edge of the mesh."""


class WallMeshQuality(MeshQuality):
    """``wall_mesh`` section: the vessel-wall mesh (:mod:`twinflow.geometry.carotid.wall`)."""

    file: str
    geometry: str
    element: str
    simplifications: list[str]
    facet_tags: dict[str, int]
    cell_tag_solid: int
    model_wall_volume_m3: float
    """Outer union minus lumen union of the model between the end planes."""
    volume_relative_difference: float
    model_wall_volume_with_thickness_floor_m3: float
    volume_relative_difference_with_thickness_floor: float
    outer_minus_fluid_mesh_volume_m3: float
    volume_relative_difference_outer_minus_fluid_mesh: float
    interface_vertices: int
    fluid_wall_vertices: int
    interface_vertices_on_fluid_wall: int
    cells_overlapping_solid: int
    cells_overlapping_fluid: int
    wall_layers: int
    sharp_edge_vertices: int
    fan_band_vertices: int
    min_thickness_m: float
    max_thickness_m: float
    median_thickness_m: float
    thickness_floor_m: float
    vertices_at_thickness_floor: int
    vertices_collision_limited: int
    rays_without_outer_surface: int
    unfold_passes: int
    diagonal_flips: int
    optimised_vertices: int
    optimisation_max_shift_m: float
    optimisation_moves_undone_for_overlap: int
    extrusion_time_s: float
    meshing_time_s: float


class CarotidMeshQuality(MeshQuality):
    """``mesh_quality.json``: the carotid lumen mesh, its tags and the wall mesh."""

    geometry: str
    element: str
    simplifications: list[str]
    size_field: str
    flow_extension_diameters: float
    """Length of the straight flow extensions, in end diameters."""
    facet_tags: dict[str, int]
    """Facet tag of each opening and the wall (read by the flow solver)."""
    cell_tag_fluid: int
    min_edge_to_size_ratio: float
    """Smallest ratio of a cell's shortest edge to the size field at its centroid."""
    min_sicn: float
    mean_sicn: float
    min_gamma: float
    solid_volume_m3: float
    """Volume of the watertight OpenCASCADE lumen solid."""
    volume_relative_difference: float
    """|mesh volume - solid volume| / solid volume."""
    meshing_time_s: float
    meshing_retries: list[str]
    """gmsh failures of earlier attempts (seam angle, section step, sections)."""
    wall_mesh: WallMeshQuality


class LVShell(Artifact):
    """Sampling of a reconstructed LV's shell (:func:`twinflow.geometry.lv.mesh.radial_shell`)."""

    rays: int
    rings: int
    around: int
    repaired_rays: int
    volume_scale: list[float] | None
    """Scale of the endo- and epicardial shells that restores their volumes (None: not
    applied because the walls would touch)."""


class MeshFiles(Artifact):
    """Files of a mesh and the grid names inside its XDMF."""

    xdmf: str
    msh: str
    grids: list[str]


class LVMeshInfo(Artifact):
    """``mesh.json`` beside an LV ``mesh.xdmf``."""

    source: Literal["images", "volume", "measurements"]
    cell_size_m: float
    z_base_m: float
    """Base plane of the LV frame (long axis +z, apex towards -z)."""
    scenario: str | None
    wall_thickness_factor: float
    """Remodelling of the scenario's drug arm (1: none)."""
    cavity_volume_factor: float = 1.0
    """Reverse remodelling of the cavity in the scenario's drug arm (1: none)."""
    long_axis: list[float]
    apex_direction: str
    tags: dict[str, int]
    files: MeshFiles
    cells: int
    vertices: int
    facets_per_tag: dict[str, int]
    cavity_volume_mesh_m3: float
    """Cavity volume of the ENDO facets closed at the base."""
    cavity_volume_surface_m3: float
    cavity_volume_relative_difference: float
    wall_volume_mesh_m3: float
    shell: LVShell | None
    end_diastolic_volume_segmentation_m3: float | None
    cavity_volume_mesh_vs_segmentation: float | None
    quality: MeshQuality | None = omitted_when_none()
    """Quality of the tetrahedra (:mod:`twinflow.geometry.quality`)."""
