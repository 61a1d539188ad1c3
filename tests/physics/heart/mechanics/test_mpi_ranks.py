"""Same answer on 1 and 2 MPI ranks (MUMPS direct solver, tight Newton tolerance)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

MPIRUN = Path(sys.executable).parent / "mpirun"


def _run(n: int, out: Path, problem: int) -> dict:
    cmd = [str(MPIRUN), "-n", str(n), sys.executable, "-m", "twinflow", "land2015",
           "--problem", str(problem), "--refinement", "1", "--steps", "4", "--out",
           str(out / "land2015.json")]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=600)
    return json.loads((out / "land2015.json").read_text())


@pytest.mark.heavy  # make test: the same solver on 1 vs 2 ranks in test_cycle_mpi.py (the
@pytest.mark.mpi    # coupled cycle) and test_unloading.py (the unloading), ~2 min saved
@pytest.mark.parametrize("problem", [2])
def test_one_vs_two_ranks(tmp_path, problem):
    r1 = _run(1, tmp_path / "n1", problem)
    r2 = _run(2, tmp_path / "n2", problem)
    assert r2["ranks"] == 2 and r1["ranks"] == 1
    assert r1["cells"] == r2["cells"]
    for key in ("endo_apex_z_m", "epi_apex_z_m", "cavity_volume_m3"):
        assert r2[key] == pytest.approx(r1[key], rel=1e-6), key
