"""Geometry stage: reconstruction of the anatomy and tetrahedral meshes.

Anatomies and verification geometries:

* :mod:`.carotid` — carotid bifurcation from B-mode label maps, lumen and vessel-wall meshes;
* :mod:`.lv` — left ventricle from apical views, 3D label maps or measurements (and the
  truncated ellipsoid of Land et al. 2015, :mod:`.lv.ellipsoid`);
* :mod:`.tube`, :mod:`.ybranch` — verification meshes of the flow solver.

Shared infrastructure (every mesher uses it; nothing here imports an anatomy module):

* :mod:`.tags` — boundary and cell tags of all meshes;
* :mod:`.gmsh_session` — the gmsh session (deterministic options, one BLAS thread);
* :mod:`.mesh_io` — every mesh reader and writer (tagged XDMF, gmsh ``.msh``, surfaces);
* :mod:`.quality` — quality measures of tetrahedral meshes;

The files the stage hands on are typed in :mod:`twinflow.artifacts.geometry`
(``measurements.json``) and :mod:`twinflow.artifacts.mesh` (``mesh_quality.json``,
``mesh.json``).
"""
