"""Land et al. 2015 cardiac-mechanics benchmark (Proc R Soc A 471:20150641), problems 1-3.

References (see ``land2015.REFERENCE`` / ``REFERENCE_SOURCE``): problem 1 tip z 4.17 mm
(consensus); problems 2 and 3 from the converged FEniCS submission to the benchmark
(S. Pezzuto, github.com/finsberg/mechbench ``summary_results.txt``): problem 2 endo/epi
apex z = -26.612 / -28.279 mm, problem 3 endo/epi apex z = -12.347 / -15.452 mm.

Mesh convergence measured with ``python -m twinflow.verification.land2015`` (Taylor-Hood
P2-P1 on curved P2 tetrahedra, 1 rank, 2 shared cores; ``N`` = refinement, cell size 4/N mm):

problem 1 (tip z, ref 4.17): N=1 (10 hex) 4.1575 (0.30 %); N=2 (80 hex) 4.1695 (0.01 %);
N=4 (640 hex) 4.1690 (0.02 %).

problem 2 (endo / epi apex z, ref -26.612 / -28.279):
N=1 (855 tets, 5.5k dofs)   -26.556 / -28.229  (0.21 % / 0.18 %), volume 10702 mm^3
N=2 (2309 tets, 14.8k dofs) -26.585 / -28.243  (0.10 % / 0.13 %), volume 10708 mm^3
N=3 (cell 1.33 mm): load stepping stalled at 52 % of the load (open, docs/verification.md).

problem 3 (endo / epi apex z, ref -12.347 / -15.452):
N=1 (855 tets)  -18.298 / -22.133   N=2 (2309 tets) -17.990 / -21.824
-> self-convergent (N=1 -> N=2 changes 1.7 %), but 46 % away from the reference: an OPEN
discrepancy (not a discretisation error; the isochoric-split formulation gives the same
-18.48 on N=1, so the solver solves the problem as coded). Tracked by a strict xfail.

Tolerances: the coarse problem-2 error is 0.21 %, so 0.5 % against the published value;
problem 3 coarse is checked against our own N=2 value within 2.5 % (measured 1.7 %).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twinflow.verification import land2015

ROOT = Path(__file__).resolve().parents[2]


def test_problem1_beam_coarse():
    res = land2015.run(1, refinement=1)
    assert res["tip_z"] == pytest.approx(4.17, rel=0.01)  # coarse error measured 0.30 %
    assert sum(res["newton_iterations"]) < 60  # measured 34 (18 in the first step)


def test_problem2_ellipsoid_coarse():
    res = land2015.run(2, refinement=1)
    ref = land2015.REFERENCE[2]
    assert res["endo_apex_z"] == pytest.approx(ref["endo_apex_z"], rel=5e-3)  # measured 0.21 %
    assert res["epi_apex_z"] == pytest.approx(ref["epi_apex_z"], rel=5e-3)  # measured 0.18 %
    assert res["relative_error"] < 5e-3
    # reference (FEniCS submission) cavity volume 10734 mm^3 from 2492 mm^3 unloaded
    assert res["cavity_volume_mm3"] == pytest.approx(10734.0, rel=0.02)


def test_problem3_coarse_self_convergence():
    res = land2015.run(3, refinement=1)
    # our N=2 value -17.990 mm; N=1 measured -18.298 (1.7 %)
    assert res["endo_apex_z"] == pytest.approx(-17.990, rel=0.025)
    assert res["reference"]["endo_apex_z"] == -12.347
    assert res["relative_error"] > 0.0


@pytest.mark.slow
def test_problem2_fine_within_1_percent_of_reference():
    res = land2015.run(2, refinement=2)  # measured errors 0.10 % (endo) / 0.13 % (epi)
    for key, ref in land2015.REFERENCE[2].items():
        assert res[key] == pytest.approx(ref, rel=0.01), key
    assert res["relative_errors"]["endo_apex_z"] < 2e-3


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="open discrepancy: problem 3 gives about -18.0 mm vs "
                   "reference -12.347 mm (docs/verification.md)")
def test_problem3_matches_reference():
    res = land2015.run(3, refinement=2)
    assert res["endo_apex_z"] == pytest.approx(land2015.REFERENCE[3]["endo_apex_z"], rel=0.01)


def test_cli_writes_summary(tmp_path):
    cmd = [sys.executable, "-m", "twinflow.verification.land2015", "--problem", "1",
           "--refinement", "1", "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=300)
    data = json.loads((tmp_path / "land2015_problem1_ref1.json").read_text())
    assert data["reference"] == {"tip_z": 4.17}
    assert data["relative_error"] < 0.01
    assert "Land" in data["reference_source"]
