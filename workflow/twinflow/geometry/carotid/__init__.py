"""Carotid bifurcation: reconstruction from B-mode label maps and gmsh meshing.

* :mod:`.images` — measurements in the 2D label maps (transversal and longitudinal cuts);
* :mod:`.model` — the patient-adapted template (three straight branches with profiles);
* :mod:`.surface` — watertight, tagged lumen and outer-wall surfaces;
* :mod:`.reconstruct` — ``reconstruct_carotid`` (case entry point);
* :mod:`.mesh` — ``mesh_carotid``: gmsh tetrahedra, facet tags, XDMF, quality;
* :mod:`.evaluate` — distances to the ground truth of synthetic patients.
"""
