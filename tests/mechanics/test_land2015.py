"""Land et al. 2015 benchmark, fast (coarse) variants.

Mesh convergence measured with ``python -m twinflow.verification.land2015`` (Taylor-Hood
P2-P1, 1 rank; see the report in docs / the module docstring):

problem 1 (tip z, reference 4.17 mm): N=1 (10 hex) 4.1575; N=2 (80 hex) 4.1695;
N=4 (640 hex) 4.1690 -> coarse error 0.3 %, converged value within 0.03 % of 4.17.

problem 2 (endo apex z): N=1 (cell 4 mm, ~850 curved tets) -26.556; N=2 (~2300 tets)
-26.585 -> the coarse mesh is within 0.15 % of the next refinement.

The fast tests use the coarsest meshes, so their tolerances are the measured coarse-mesh
discretisation error plus margin: 1 % for problem 1 and 0.5 % against our own refined value
for problem 2/3 (the stored problem-2 reference is only approximate, see land2015.REFERENCE).
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
    assert res["tip_z"] == pytest.approx(4.17, rel=0.01)
    assert sum(res["newton_iterations"]) < 60  # measured 34 (18 in the first step)


def test_problem2_ellipsoid_coarse():
    res = land2015.run(2, refinement=1)
    # refined (N=2) value -26.585 mm; coarse within 0.5 %
    assert res["endo_apex_z"] == pytest.approx(-26.585, rel=5e-3)
    assert res["epi_apex_z"] < res["endo_apex_z"]  # epi apex stays below the endo apex
    assert res["cavity_volume_mm3"] > 2.0 * res["reference_cavity_volume_mm3"]


@pytest.mark.slow
def test_problem3_coarse():
    res = land2015.run(3, refinement=1)
    # active contraction shortens the ventricle against the 15 kPa inflation:
    assert res["endo_apex_z"] == pytest.approx(-18.30, rel=1e-2)  # N=1 value, see module doc


def test_cli_writes_summary(tmp_path):
    cmd = [sys.executable, "-m", "twinflow.verification.land2015", "--problem", "1",
           "--refinement", "1", "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, timeout=300)
    data = json.loads((tmp_path / "land2015_problem1_ref1.json").read_text())
    assert data["reference"] == {"tip_z": 4.17}
    assert data["relative_error"] < 0.01
