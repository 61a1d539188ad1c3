# Geometry: 3D reconstruction from masks (or measurements) and tetrahedral meshing (gmsh).
# Wiring only; the logic lives in twinflow.geometry.carotid and twinflow.geometry.lv.
# Both anatomies write geometry/ and mesh/: wildcard constraints keep one producer per case.


rule reconstruct_carotid:
    message: "reconstruct carotid bifurcation of {wildcards.case}"
    wildcard_constraints:
        case=anatomy_pattern("carotid"),
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        masks=f"{RESULTS}/{{case}}/masks/manifest.json",
        images=f"{RESULTS}/{{case}}/images/manifest.json",
    output:
        measurements=f"{RESULTS}/{{case}}/geometry/measurements.json",
        model=f"{RESULTS}/{{case}}/geometry/model.json",
        lumen=f"{RESULTS}/{{case}}/geometry/lumen.vtp",
        wall=f"{RESULTS}/{{case}}/geometry/wall.vtp",
        lumen_stl=f"{RESULTS}/{{case}}/geometry/lumen.stl",
        wall_stl=f"{RESULTS}/{{case}}/geometry/wall.stl",
    params:
        geometry=lambda w: case_section(w.case, "geometry"),
    log:
        f"{RESULTS}/{{case}}/logs/reconstruct_carotid.log",
    shell:
        "{PY} -m twinflow.geometry.carotid reconstruct --case {input.case:q}"
        " --masks $(dirname {input.masks:q}) --images $(dirname {input.images:q})"
        " --out $(dirname {output.measurements:q}) 2> {log:q} || (cat {log:q} >&2; exit 2)"


rule mesh_carotid:
    message: "mesh carotid lumen and vessel wall of {wildcards.case}"
    wildcard_constraints:
        case=anatomy_pattern("carotid"),
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        model=f"{RESULTS}/{{case}}/geometry/model.json",
        lumen=f"{RESULTS}/{{case}}/geometry/lumen.vtp",
    output:
        mesh=f"{RESULTS}/{{case}}/mesh/mesh.xdmf",
        h5=f"{RESULTS}/{{case}}/mesh/mesh.h5",
        wall_mesh=f"{RESULTS}/{{case}}/mesh/wall_mesh.xdmf",
        wall_h5=f"{RESULTS}/{{case}}/mesh/wall_mesh.h5",
        quality=f"{RESULTS}/{{case}}/mesh/mesh_quality.json",
    params:
        geometry=lambda w: case_section(w.case, "geometry"),
        mesh=lambda w: case_section(w.case, "mesh"),
    log:
        f"{RESULTS}/{{case}}/logs/mesh_carotid.log",
    shell:
        "{PY} -m twinflow.geometry.carotid mesh --case {input.case:q}"
        " --geometry $(dirname {input.model:q}) --out $(dirname {output.mesh:q})"
        " 2> {log:q} || (cat {log:q} >&2; exit 2)"


def _lv_reconstruction_inputs(w):
    inputs = {"case": f"{RESULTS}/{w.case}/case.json"}
    if (case_canonical(w.case) or {}).get("geometry", {}).get("source") != "measurements":
        inputs["masks"] = f"{RESULTS}/{w.case}/masks/manifest.json"
        inputs["images"] = f"{RESULTS}/{w.case}/images/manifest.json"
    return inputs


rule reconstruct_lv:
    message: "reconstruct the left ventricle of {wildcards.case}"
    wildcard_constraints:
        case=anatomy_pattern("left-ventricle"),
    input:
        unpack(_lv_reconstruction_inputs),
    output:
        measurements=f"{RESULTS}/{{case}}/geometry/measurements.json",
    params:
        geometry=lambda w: case_section(w.case, "geometry"),
        folder=lambda w: f"{RESULTS}/{w.case}",
    log:
        f"{RESULTS}/{{case}}/logs/reconstruct_lv.log",
    shell:
        "{PY} -m twinflow.geometry.lv.reconstruct {input.case:q} {params.folder}/masks"
        " {params.folder}/images $(dirname {output.measurements:q})"
        " > {log:q} 2>&1 || (cat {log:q} >&2; exit 2)"


rule mesh_lv:
    message: "mesh the left ventricle of {wildcards.case} ({wildcards.scenario})"
    wildcard_constraints:
        case=anatomy_pattern("left-ventricle"),
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        measurements=f"{RESULTS}/{{case}}/geometry/measurements.json",
    output:
        mesh=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.xdmf",
    params:
        mesh=lambda w: case_section(w.case, "mesh"),
        geometry=lambda w: case_section(w.case, "geometry"),
        scenario=lambda w: scenario_section(w.case, w.scenario),
    log:
        f"{RESULTS}/{{case}}/logs/mesh_lv-{{scenario}}.log",
    shell:
        "{PY} -m twinflow.geometry.lv.mesh $(dirname {input.measurements:q}) {input.case:q}"
        " $(dirname {output.mesh:q}) --scenario {wildcards.scenario}"
        " > {log:q} 2>&1 || (cat {log:q} >&2; exit 2)"
