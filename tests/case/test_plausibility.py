"""Plausibility ranges (issue 19, item 4): outside a typical range a warning line
``FILE:LINE:COL: key: message`` naming the range, exit 0; outside a hard range an error (the
files in tests/case/bad/). Shipped cases give no warning."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from twinflow.case import load_case, plausibility
from twinflow.errors import CaseError

SHIPPED = sorted((ROOT / "cases").rglob("*.yaml"))

# (case text, key path, line, what the message says)
TYPICAL = [
    ("anatomy: carotid\nphysics:\n  blood:\n    viscosity: 8 mPa*s\n",
     "physics.blood.viscosity", 4, "blood viscosity 8 mPa*s is outside the typical range "
                                   "2.5-6 mPa*s"),
    ("anatomy: carotid\nphysics:\n  blood: {density: 1100 kg/m**3}\n",
     "physics.blood.density", 3, "outside the typical range 1035-1070 kg/m**3"),
    ("anatomy: left-ventricle\nmeasurements:\n  heart_rate: 110 bpm\n",
     "measurements.heart_rate", 3, "heart rate 110 bpm is outside the typical range 50-100 bpm"),
    ("anatomy: left-ventricle\nmeasurements:\n  blood_pressure: {systolic: 190 mmHg, "
     "diastolic: 95 mmHg}\n",
     "measurements.blood_pressure.systolic", 3, "outside the typical range 90-180 mmHg"),
    ("anatomy: left-ventricle\nmeasurements:\n  end_diastolic_volume: 400 mL\n",
     "measurements.end_diastolic_volume", 3, "outside the typical range 60-300 mL"),
    ("anatomy: carotid\nphysics:\n  inflow: {mean_flow: 20 mL/s}\n",
     "physics.inflow.mean_flow", 3, "outside the typical range 2-12 mL/s"),
    # 49 steps in a 1 s beat (50 would be the limit)
    ("anatomy: left-ventricle\nmeasurements: {heart_rate: 60 bpm}\nsimulation:\n"
     "  time_step: 20.4 ms\n",
     "simulation.time_step", 4, "time step / period 0.0204 (0.0204 s / 1 s) is outside the "
                                "typical range 0-0.02"),
    ("anatomy: carotid\ngeometry:\n  template: {cca_diameter: 6 mm}\nmesh:\n"
     "  cell_size: 2 mm\n",
     "mesh.cell_size", 5, "cell size / vessel radius 0.6667 (2 mm / 3 mm) is outside the "
                          "typical range 0-0.5"),
    ("anatomy: left-ventricle\nmesh:\n  cell_size: 20 mm\n",
     "mesh.cell_size", 3, "cell size / wall thickness 2 (20 mm / 10 mm) is outside the "
                          "typical range 0-1.5"),
    ("anatomy: benchmark\nproblem: 1\nsimulation:\n  mpi_ranks: 4\n",
     "simulation.mpi_ranks", 4, "4 MPI ranks is outside the typical range 1-2"),
]


@pytest.mark.parametrize(("text", "key", "line", "message"), TYPICAL,
                         ids=[t[1] + f"-{i}" for i, t in enumerate(TYPICAL)])
def test_a_value_outside_its_typical_range_warns_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        text: str, key: str, line: int, message: str) -> None:
    monkeypatch.setattr(plausibility, "available_cores", lambda: 2)
    path = tmp_path / "case.yaml"
    path.write_text(text)
    with caplog.at_level(logging.WARNING):
        load_case(path, root=tmp_path)  # no error
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert re.match(rf"{re.escape(str(path))}:{line}:\d+: {re.escape(key)}: .*"
                    rf"{re.escape(message)}: \S", warnings[0]), warnings[0]


def test_validate_and_canonical_print_warnings_and_succeed(tmp_path: Path) -> None:
    (tmp_path / "case.yaml").write_text(
        "anatomy: carotid\nphysics:\n  blood:\n    viscosity: 8 mPa*s\n"
        "simulation:\n  mpi_ranks: 4096\n")
    want = [r"case\.yaml:4:16: physics\.blood\.viscosity: blood viscosity 8 mPa\*s is outside "
            r"the typical range 2\.5-6 mPa\*s: ",
            r"case\.yaml:6:14: simulation\.mpi_ranks: 4096 MPI ranks is outside the typical "
            r"range 1-\d+: more ranks than this machine's \d+ cores"]
    for args in (("validate", "case.yaml"), ("canonical", "case.yaml", "-o", "case.json")):
        proc = run_cli(*args, cwd=tmp_path, timeout=120)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 2, lines
        for pattern, text in zip(want, lines, strict=True):
            assert " WARNING " in text and re.search(pattern, text), text
    assert (tmp_path / "case.json").exists()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shipped_cases_give_no_warning(path: Path, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    # the shipped cases use 2 ranks; a machine with fewer cores rightly warns about that
    monkeypatch.setattr(plausibility, "available_cores", lambda: 64)
    with caplog.at_level(logging.WARNING):
        case = load_case(path.relative_to(ROOT), root=ROOT)
    assert plausibility.check(case.root) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_an_error_suppresses_the_warnings(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("anatomy: carotid\nphysics:\n  blood: {viscosity: 8 mPa*s}\n"
                    "simulation: {time_step: 2 s}\n")
    with caplog.at_level(logging.WARNING), pytest.raises(CaseError) as err:
        load_case(path, root=tmp_path)
    assert [line.split(": ")[1] for line in err.value.lines] == ["simulation.time_step"]
    assert caplog.records == []


@pytest.mark.parametrize("rng", plausibility.RANGES.values(), ids=lambda r: r.what)
def test_each_range_is_ordered_nested_and_sourced(rng: plausibility.Range) -> None:
    (lo, hi), (tlo, thi) = rng.hard, rng.typical
    assert lo <= tlo < thi <= hi
    assert rng.hard_why and rng.typical_why


def test_a_verification_tube_period_is_no_heart_rate(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tube.yaml"
    path.write_text("anatomy: carotid\ngeometry: {kind: tube}\nphysics:\n  inflow: "
                    "{waveform: sinusoidal, amplitude: 3 mL/s, period: 0.2 s}\n"
                    "simulation: {time_step: 1 ms}\n")
    with caplog.at_level(logging.WARNING):
        load_case(path, root=tmp_path)  # 300 "bpm": no error
    assert caplog.records == []
    bifurcation = path.read_text().replace("{kind: tube}", "{kind: bifurcation}")
    path.write_text(bifurcation)
    with pytest.raises(CaseError, match=r"physics\.inflow\.period: heart rate 300 bpm"):
        load_case(path, root=tmp_path)
