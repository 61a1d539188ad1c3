# Physics: the MPI-parallel DOLFINx solve of each scenario of a case. Wiring only; the physics
# lives in twinflow.physics.flow (carotid CFD) and twinflow.physics.heart (LV mechanics
# coupled to a 0D circulation). MPI ranks come from the case (simulation.mpi_ranks); the
# rules declare them as resources and launch through mpi() (rules/case.smk: mpiexec here, srun
# under SLURM).

rule simulate_flow:
    message: "blood flow in {wildcards.case} ({wildcards.scenario}, MPI)"
    wildcard_constraints:
        case=cases_with("simulate_flow"),
    input:
        settings=settings("simulate_flow"),
        mesh=f"{RESULTS}/{{case}}/mesh/mesh.xdmf",
        h5=f"{RESULTS}/{{case}}/mesh/mesh.h5",
        quality=f"{RESULTS}/{{case}}/mesh/mesh_quality.json",
        code=code("simulate_flow"),
    output:
        summary=f"{RESULTS}/{{case}}/{{scenario}}/summary.json",
        series=f"{RESULTS}/{{case}}/{{scenario}}/series.csv",
        solver_settings=f"{RESULTS}/{{case}}/{{scenario}}/settings.json",
        record=step_record("simulate_flow"),
    threads: lambda w: case_ranks(w.case)  # locally: the ranks count against --cores
    resources:
        **mpi_resources(),
    params:
        record=record("simulate_flow"),
    log:
        f"{RESULTS}/{{case}}/logs/simulate_flow-{{scenario}}.log",
    conda:
        ENVS["physics"]
    shell:
        mpi("{TWINFLOW} {params.record} simulate-flow --settings {input.settings:q}"
            " --mesh {input.mesh:q} --mesh-quality {input.quality:q}"
            " --summary {output.summary:q}"
            " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)")


def personalisation(w):
    """The case's personalisation.json when it calibrates its baseline, else nothing."""
    if "personalise_lv" not in CASE_STAGES.get(w.case, []):
        return []
    return f"{RESULTS}/{w.case}/personalisation/personalisation.json"


rule personalise_lv:
    message: "calibrate the LV baseline of {wildcards.case} to its measurements (MPI)"
    wildcard_constraints:
        case=cases_with("personalise_lv"),
    input:
        settings=settings("personalise_lv"),
        mesh=lambda w: f"{RESULTS}/{w.case}/{baseline_scenario(CANONICAL[w.case])}/mesh/mesh.xdmf",
        h5=lambda w: f"{RESULTS}/{w.case}/{baseline_scenario(CANONICAL[w.case])}/mesh/mesh.h5",
        measurements=f"{RESULTS}/{{case}}/geometry/measurements.json",
        code=code("personalise_lv"),
    output:
        personalisation=f"{RESULTS}/{{case}}/personalisation/personalisation.json",
        record=step_record("personalise_lv"),
    threads: lambda w: case_ranks(w.case)  # locally: the ranks count against --cores
    resources:
        **mpi_resources(),
    params:
        record=record("personalise_lv"),
    log:
        f"{RESULTS}/{{case}}/logs/personalise_lv.log",
    conda:
        ENVS["physics"]
    shell:
        mpi("{TWINFLOW} {params.record} personalise-lv --settings {input.settings:q}"
            " --mesh {input.mesh:q} --measurements {input.measurements:q}"
            " --personalisation {output.personalisation:q}"
            " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)")


rule simulate_heart:
    message: "cardiac cycle of {wildcards.case} ({wildcards.scenario}, MPI)"
    wildcard_constraints:
        case=cases_with("simulate_heart"),
    input:
        settings=settings("simulate_heart"),
        mesh=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.xdmf",
        h5=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.h5",
        info=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.json",
        drug_effects=f"{RESULTS}/{{case}}/{{scenario}}/drug_effects.json",
        personalisation=personalisation,
        code=code("simulate_heart"),
    output:
        summary=f"{RESULTS}/{{case}}/{{scenario}}/summary.json",
        series=f"{RESULTS}/{{case}}/{{scenario}}/series.csv",
        fields=f"{RESULTS}/{{case}}/{{scenario}}/fields.xdmf",
        fields_h5=f"{RESULTS}/{{case}}/{{scenario}}/fields.h5",
        record=step_record("simulate_heart"),
    threads: lambda w: case_ranks(w.case)  # locally: the ranks count against --cores
    resources:
        **mpi_resources(),
    params:
        record=record("simulate_heart",
                      optional=[f"{RESULTS}/{{case}}/{{scenario}}/pv_loop.png"]),
        personalisation=lambda w, input: (f"--personalisation {input.personalisation}"
                                          if input.personalisation else ""),
    log:
        f"{RESULTS}/{{case}}/logs/simulate_heart-{{scenario}}.log",
    conda:
        ENVS["physics"]
    shell:
        mpi("{TWINFLOW} {params.record} simulate-heart --settings {input.settings:q}"
            " --mesh {input.mesh:q} --drug-effects {input.drug_effects:q}"
            " {params.personalisation} --summary {output.summary:q}"
            " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)")
