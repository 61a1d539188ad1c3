"""Coupled cycle: same answer on 1 and 2 MPI ranks (MUMPS, tight Newton tolerances)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, drug_effects_of
from twinflow.artifacts.cycle import CycleSummary

MPIRUN = Path(sys.executable).parent / "mpirun"


def _run(n: int, mesh: Path, settings: Path, out: Path) -> list[dict[str, str]]:
    """The stage's command line, as the rule runs it (``twinflow simulate-heart``)."""
    cmd = [str(MPIRUN), "-n", str(n), sys.executable, "-m", "twinflow", "simulate-heart",
           "--settings", str(settings), "--mesh", str(mesh), "--drug-effects",
           str(drug_effects_of(settings)), "--summary",
           str(out / "summary.json"), "--time-step", "0.005", "--beats", "1",
           "--max-steps", "36", "--output-every", "0"]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=900)
    assert CycleSummary.read(out / "summary.json").ranks == n
    return list(csv.DictReader((out / "series.csv").open()))


@pytest.mark.slow
@pytest.mark.mpi
def test_cycle_one_vs_two_ranks(coarse_lv, tmp_path):
    mesh, baseline = coarse_lv
    entresto = baseline.parent.parent / "entresto" / "simulate_heart.json"
    r1 = _run(1, mesh, entresto, tmp_path / "n1")
    r2 = _run(2, mesh, entresto, tmp_path / "n2")
    # 36 steps of 5 ms: into the first ejection (calcium onset 0.1 s), so the stretch history
    # of the velocity-dependent tension (quadrature points, per rank) is compared too
    assert len(r1) == len(r2) == 37
    assert max(float(r["Q_AV_mL_per_s"]) for r in r1) > 10.0
    for a, b in zip(r1, r2, strict=True):
        for key in ("p_LV_mmHg", "V_LV_mL", "p_AR_SYS_mmHg"):
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-6, abs=1e-9), key
