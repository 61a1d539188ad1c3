"""Exact incremental re-runs, judged by the jobs real Snakemake runs (``twinflow run``).

The stage contract (twinflow.stages): each rule reads its settings slice, the artifacts of
earlier stages and the package modules it runs, so an edit re-runs exactly what it affects.
Small cases keep this affordable: a coarse Poiseuille tube (mesh -> flow -> report) and the
LV demo shortened to one beat (images -> reconstruct -> mesh and cycle per arm -> report).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, package_env, project_copy, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.mpi]

TUBE = """# yaml-language-server: $schema=../schemas/case.schema.json
anatomy: carotid
description: coarse Poiseuille tube for the re-run tests
geometry:
  kind: tube
  tube: {radius: 3 mm, length: 12 mm}
mesh: {cell_size: 1.5 mm}
physics:
  inflow: {waveform: steady, mean_flow: 6 mL/s, period: 0.1 s, profile: parabolic}
  outlets: {model: flow-split, pressure: 0 Pa}
simulation: {time_step: 25 ms, cycles: 1}
"""
TUBE_REFORMATTED = """simulation:
  cycles: 1
  time_step: 0.025 s          # same value, other unit
physics:
  outlets: {pressure: 0 kPa, model: flow-split}
  inflow: {profile: parabolic, period: 100 ms, mean_flow: 6e-6 m**3/s, waveform: steady}
mesh:
  cell_size: 0.15 cm
geometry:
  tube: {length: 1.2 cm, radius: 0.3 cm}
  kind: tube
description: coarse Poiseuille tube for the re-run tests
anatomy: carotid
"""


def executed(proc_output: str) -> Counter[str]:
    """Jobs Snakemake ran, per rule (its 'Job stats' table; empty when nothing ran)."""
    match = re.search(r"Job stats:\njob\s+count\n[-\s]+\n(.*?)\ntotal\s+\d+", proc_output,
                      re.S)
    if match is None:
        assert "Nothing to be done" in proc_output, proc_output[-3000:]
        return Counter()
    jobs = Counter({name: int(n) for name, n in re.findall(r"^(\S+)\s+(\d+)$",
                                                           match.group(1), re.M)})
    jobs.pop("all", None)
    return jobs


def run(project: Path, case: str) -> Counter[str]:
    proc = run_cli("run", case, "--cores", "2", cwd=project, env=package_env(project),
                   timeout=1800)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return executed(out)


def edit(path: Path, text: str) -> None:
    time.sleep(1.1)  # a new modification time even on coarse file systems
    path.write_text(text)


def test_tube_reruns_exactly_what_an_edit_affects(tmp_path: Path) -> None:
    project = project_copy(tmp_path, package=True)
    case = project / "cases" / "tube.yaml"
    case.write_text(TUBE)
    assert run(project, "cases/tube.yaml") == Counter(
        canonical=1, mesh_tube=1, simulate_flow=1, report=1, provenance=1)
    assert run(project, "cases/tube.yaml") == Counter()

    edit(case, TUBE_REFORMATTED)  # same values, other spelling and key order
    # (the re-validation is a new step record, so the crate is written again)
    assert run(project, "cases/tube.yaml") == Counter(canonical=1, provenance=1)

    edit(case, TUBE_REFORMATTED.replace("0.15 cm", "0.2 cm"))
    assert run(project, "cases/tube.yaml") == Counter(
        canonical=1, mesh_tube=1, simulate_flow=1, report=1, provenance=1)

    edit(case, case.read_text().replace("description: coarse", "description: a coarse"))
    assert run(project, "cases/tube.yaml") == Counter(canonical=1, report=1, provenance=1)

    # editing a module only the mesher imports: meshing and what depends on it (Snakemake
    # compares the content of an input whose modification time moved, so a bare touch of a
    # file re-runs nothing: edits do)
    module = project / "workflow" / "twinflow" / "geometry" / "tube.py"
    edit(module, module.read_text() + "# an edit\n")
    assert run(project, "cases/tube.yaml") == Counter(mesh_tube=1, simulate_flow=1, report=1,
                                                      provenance=1)
    time.sleep(1.1)  # a bare touch of a module changes nothing
    os.utime(module)
    assert run(project, "cases/tube.yaml") == Counter()


def _lv_case() -> str:
    """The LV demo case (images -> biplane LV -> two arms), shortened to one beat at 10 ms
    on one rank per arm, without its blood pressure (so not personalised: the calibration's
    beats would dominate the test; which settings a measurement changes is tested in
    tests/test_stages.py). The demo's 12 mm cells: on 15 mm cells the image-route mesh
    failed its first Newton solve (non-finite residual)."""
    text = (ROOT / "cases" / "lv-demo.yaml").read_text()
    for old, new in (("time_step: 5 ms", "time_step: 10 ms"), ("cycles: 8", "cycles: 1"),
                     ("mpi_ranks: 2", "mpi_ranks: 1"),
                     ("  blood_pressure: {systolic: 138 mmHg, diastolic: 84 mmHg}   # cuff\n",
                      "")):
        assert old in text, old
        text = text.replace(old, new)
    return text


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file()}


def test_lv_arm_dose_and_mesh_size_rerun_only_their_jobs(tmp_path: Path) -> None:
    project = project_copy(tmp_path, package=True)
    case = project / "cases" / "lv.yaml"
    case.write_text(_lv_case())
    assert run(project, "cases/lv.yaml") == Counter(
        canonical=1, ingest=1, segment=1, reconstruct_lv=1, drug_effects=2, mesh_lv=2,
        simulate_heart=2, compare_arms=1, report=1, provenance=1)

    baseline = _mtimes(project / "results" / "lv" / "baseline")
    edit(case, case.read_text().replace("97 mg + 103 mg", "49 mg + 51 mg"))
    assert run(project, "cases/lv.yaml") == Counter(
        canonical=1, drug_effects=1, mesh_lv=1, simulate_heart=1, compare_arms=1, report=1,
        provenance=1)
    assert _mtimes(project / "results" / "lv" / "baseline") == baseline  # the other arm

    edit(case, case.read_text().replace("cell_size: 12 mm", "cell_size: 11 mm"))
    assert run(project, "cases/lv.yaml") == Counter(
        canonical=1, mesh_lv=2, simulate_heart=2, compare_arms=1, report=1, provenance=1)

    # a drug's library entry is an input of its arms alone (not of the baseline)
    entry = project / "workflow" / "twinflow" / "drugs" / "data" / "sacubitril-valsartan.yaml"
    edit(entry, entry.read_text().replace("PROVE-HF's higher EF", "PROVE-HF's higher LVEF"))
    baseline = _mtimes(project / "results" / "lv" / "baseline")
    assert run(project, "cases/lv.yaml") == Counter(
        drug_effects=1, mesh_lv=1, simulate_heart=1, compare_arms=1, report=1, provenance=1)
    assert _mtimes(project / "results" / "lv" / "baseline") == baseline
