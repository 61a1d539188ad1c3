"""Personalised left ventricle: reconstruction from masks or measurements, and meshing.

* :mod:`.biplane` — apical 4/2-chamber label maps: biplane method of discs (Simpson) and
  biplane-interpolated endo/epi surfaces;
* :mod:`.volume` — 3D CT/MR label maps: base plane, marching-cubes surfaces;
* :mod:`.surfaces` — the LV frame, volumes closed at the base, wall thickness, LV mass;
* :mod:`.reconstruct` — stage ``reconstruct_lv`` (``twinflow reconstruct-lv``);
* :mod:`.ellipsoid` — the truncated prolate ellipsoid LV (Land et al. 2015) meshed with gmsh;
* :mod:`.mesh` — stage ``mesh_lv`` (``twinflow mesh-lv``) (gmsh -> XDMF with
  the LV tags of :mod:`twinflow.geometry.tags`).
"""
