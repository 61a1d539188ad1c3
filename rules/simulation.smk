# Simulation: the MPI-parallel DOLFINx solve of each scenario of a case.
# Wiring only; the physics lives in twinflow.physics.flow (carotid CFD) and
# twinflow.physics.cardiac_cycle (LV mechanics coupled to a 0D circulation).
# MPI ranks come from the case (simulation.mpi_ranks), capped by --cores.


def case_ranks(cid):
    return int((case_canonical(cid) or {}).get("simulation", {}).get("mpi_ranks", 1))


rule simulate_carotid:
    message: "blood flow in {wildcards.case} ({wildcards.scenario}, MPI)"
    wildcard_constraints:
        case=anatomy_pattern("carotid"),
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        mesh=f"{RESULTS}/{{case}}/mesh/mesh.xdmf",
    output:
        summary=f"{RESULTS}/{{case}}/{{scenario}}/summary.json",
    params:
        physics=lambda w: case_section(w.case, "physics"),
        simulation=lambda w: case_section(w.case, "simulation"),
        outputs=lambda w: case_section(w.case, "outputs"),
    threads: lambda w: case_ranks(w.case)
    log:
        f"{RESULTS}/{{case}}/logs/simulate-{{scenario}}.log",
    shell:
        "{MPIRUN} -n {threads} {PY} -m twinflow.physics.flow --mesh {input.mesh:q}"
        " --case {input.case:q} --out $(dirname {output.summary:q})"
        " > {log:q} 2>&1 || (tail -n 20 {log:q} >&2; exit 2)"


rule simulate_lv:
    message: "cardiac cycle of {wildcards.case} ({wildcards.scenario}, MPI)"
    wildcard_constraints:
        case=anatomy_pattern("left-ventricle"),
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        mesh=f"{RESULTS}/{{case}}/{{scenario}}/mesh/mesh.xdmf",
    output:
        summary=f"{RESULTS}/{{case}}/{{scenario}}/summary.json",
    params:
        physics=lambda w: case_section(w.case, "physics"),
        simulation=lambda w: case_section(w.case, "simulation"),
        scenario=lambda w: scenario_section(w.case, w.scenario),
        outputs=lambda w: case_section(w.case, "outputs"),
    threads: lambda w: case_ranks(w.case)
    log:
        f"{RESULTS}/{{case}}/logs/simulate-{{scenario}}.log",
    shell:
        "{MPIRUN} -n {threads} {PY} -m twinflow.physics.cardiac_cycle --mesh {input.mesh:q}"
        " --case {input.case:q} --scenario {wildcards.scenario}"
        " --out $(dirname {output.summary:q})"
        " > {log:q} 2>&1 || (tail -n 20 {log:q} >&2; exit 2)"
