# Geometry: 3D reconstruction from masks (or measurements) and tetrahedral meshing (gmsh).
# Wiring only; the logic lives in twinflow.geometry. Every anatomy writes geometry/ and mesh/:
# cases_with() keeps one producer per case.


rule reconstruct_carotid:
    message: "reconstruct the carotid bifurcation of {wildcards.case}"
    wildcard_constraints:
        case=cases_with("reconstruct_carotid"),
    input:
        settings=settings("reconstruct_carotid"),
        images=f"{RESULTS}/{{case}}/images/manifest.json",
        masks=f"{RESULTS}/{{case}}/masks/manifest.json",
        code=code("reconstruct_carotid"),
    output:
        measurements=f"{RESULTS}/{{case}}/geometry/measurements.json",
        model=f"{RESULTS}/{{case}}/geometry/model.json",
        lumen=f"{RESULTS}/{{case}}/geometry/lumen.vtp",
        wall=f"{RESULTS}/{{case}}/geometry/wall.vtp",
        lumen_stl=f"{RESULTS}/{{case}}/geometry/lumen.stl",
        wall_stl=f"{RESULTS}/{{case}}/geometry/wall.stl",
        record=step_record("reconstruct_carotid"),
    params:
        record=record("reconstruct_carotid"),
    log:
        f"{RESULTS}/{{case}}/logs/reconstruct_carotid.log",
    conda:
        ENVS["physics"]
    shell:
        "{TWINFLOW} {params.record} reconstruct-carotid"
        " --settings {input.settings:q} --images {input.images:q}"
        " --masks {input.masks:q} --measurements {output.measurements:q}"
        " --model {output.model:q} --lumen {output.lumen:q} --wall {output.wall:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


rule mesh_carotid:
    message: "mesh the carotid lumen and vessel wall of {wildcards.case}"
    wildcard_constraints:
        case=cases_with("mesh_carotid"),
    input:
        settings=settings("mesh_carotid"),
        model=f"{RESULTS}/{{case}}/geometry/model.json",
        code=code("mesh_carotid"),
    output:
        mesh=f"{RESULTS}/{{case}}/mesh/mesh.xdmf",
        h5=f"{RESULTS}/{{case}}/mesh/mesh.h5",
        wall_mesh=f"{RESULTS}/{{case}}/mesh/wall_mesh.xdmf",
        wall_h5=f"{RESULTS}/{{case}}/mesh/wall_mesh.h5",
        quality=f"{RESULTS}/{{case}}/mesh/mesh_quality.json",
        record=step_record("mesh_carotid"),
    params:
        record=record("mesh_carotid"),
    log:
        f"{RESULTS}/{{case}}/logs/mesh_carotid.log",
    conda:
        ENVS["physics"]
    shell:
        "{TWINFLOW} {params.record} mesh-carotid"
        " --settings {input.settings:q} --model {input.model:q}"
        " --mesh {output.mesh:q} --wall-mesh {output.wall_mesh:q} --quality {output.quality:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


rule mesh_tube:
    message: "mesh the straight tube of {wildcards.case}"
    wildcard_constraints:
        case=cases_with("mesh_tube"),
    input:
        settings=settings("mesh_tube"),
        code=code("mesh_tube"),
    output:
        mesh=f"{RESULTS}/{{case}}/mesh/mesh.xdmf",
        h5=f"{RESULTS}/{{case}}/mesh/mesh.h5",
        quality=f"{RESULTS}/{{case}}/mesh/mesh_quality.json",
        record=step_record("mesh_tube"),
    params:
        record=record("mesh_tube"),
    log:
        f"{RESULTS}/{{case}}/logs/mesh_tube.log",
    conda:
        ENVS["physics"]
    shell:
        "{TWINFLOW} {params.record} mesh-tube"
        " --settings {input.settings:q} --mesh {output.mesh:q}"
        " --quality {output.quality:q} 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


def _lv_images(w):
    if "segment" not in CASE_STAGES[w.case]:
        return {}
    return {"images": f"{RESULTS}/{w.case}/images/manifest.json",
            "masks": f"{RESULTS}/{w.case}/masks/manifest.json"}


rule reconstruct_lv:
    message: "reconstruct the left ventricle of {wildcards.case}"
    wildcard_constraints:
        case=cases_with("reconstruct_lv"),
    input:
        unpack(_lv_images),
        settings=settings("reconstruct_lv"),
        code=code("reconstruct_lv"),
    output:
        measurements=f"{RESULTS}/{{case}}/geometry/measurements.json",
        endo=f"{RESULTS}/{{case}}/geometry/endo.vtp",
        epi=f"{RESULTS}/{{case}}/geometry/epi.vtp",
        record=step_record("reconstruct_lv"),
    params:
        record=record("reconstruct_lv"),
        images=lambda w, input: (f"--images {input.images} --masks {input.masks}"
                                 if "images" in input.keys() else ""),
    log:
        f"{RESULTS}/{{case}}/logs/reconstruct_lv.log",
    conda:
        ENVS["physics"]
    shell:
        "{TWINFLOW} {params.record} reconstruct-lv"
        " --settings {input.settings:q} {params.images}"
        " --measurements {output.measurements:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


rule mesh_lv:
    message: "mesh the left ventricle of {wildcards.case} ({wildcards.scenario})"
    wildcard_constraints:
        case=cases_with("mesh_lv"),
    input:
        settings=settings("mesh_lv"),
        measurements=f"{RESULTS}/{{case}}/geometry/measurements.json",
        endo=f"{RESULTS}/{{case}}/geometry/endo.vtp",
        epi=f"{RESULTS}/{{case}}/geometry/epi.vtp",
        drug_effects=f"{RESULTS}/{{case}}/{{scenario}}/drug_effects.json",
        code=code("mesh_lv"),
    output:
        mesh=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.xdmf",
        h5=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.h5",
        info=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.json",
        msh=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.msh",
        record=step_record("mesh_lv"),
    params:
        record=record("mesh_lv"),
    log:
        f"{RESULTS}/{{case}}/logs/mesh_lv-{{scenario}}.log",
    conda:
        ENVS["physics"]
    shell:
        "{TWINFLOW} {params.record} mesh-lv"
        " --settings {input.settings:q} --measurements {input.measurements:q}"
        " --drug-effects {input.drug_effects:q} --mesh {output.mesh:q} --info {output.info:q}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"
