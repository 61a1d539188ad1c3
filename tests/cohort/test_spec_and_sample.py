"""Cohort specs (validation with file:line errors) and population sampling (marginals,
truncation, correlations, reproducibility)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from tests.conftest import run_cli
from twinflow.cohort.sample import marginal, sample_member
from twinflow.cohort.spec import read_spec
from twinflow.errors import CaseError

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "cohorts" / "hypertensive-lvh.yaml"


def test_shipped_spec_validates() -> None:
    spec = read_spec(SPEC)
    assert spec.cohort == "hypertensive-lvh"
    assert [a["id"] for a in spec.arms] == ["baseline", "sacubitril-valsartan", "enalapril"]
    assert spec.population.end_diastolic_volume.mean == pytest.approx(125e-6)
    assert spec.population.systolic_pressure.mean == pytest.approx(150 * 133.322387415)


def _bad(tmp_path: Path, edit) -> str:
    """The one-line errors of the shipped spec after ``edit(data)`` (written next to a
    copy of the template so its relative path still resolves)."""
    data = yaml.safe_load(SPEC.read_text())
    edit(data)
    (tmp_path / "cohorts").mkdir(exist_ok=True)
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / "lv-demo.yaml").write_text((ROOT / "cases" / "lv-demo.yaml").read_text())
    path = tmp_path / "cohorts" / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(CaseError) as err:
        read_spec(path)
    return str(err.value)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: d["population"]["end_diastolic_volume"].update(mean="125 mmHg"),
     "population.end_diastolic_volume.mean: expected a volume"),
    (lambda d: d["population"]["wall_thickness"].pop("source"),
     "population.wall_thickness.source: missing required key"),
    (lambda d: d["population"]["heart_rate"].update(min="95 bpm"),
     "population.heart_rate: needs min < mean < max"),
    (lambda d: d["population"].pop("heart_rate"), "population.heart_rate: missing required key"),
    (lambda d: d["population"].update(cholesterol={"distribution": "normal"}),
     "population.cholesterol: unknown key"),
    (lambda d: d["population"]["end_diastolic_volume"].update(max="400 mL"),
     "population.end_diastolic_volume: [min, max] must lie within 50-300 mL"),
    (lambda d: d["correlations"].append(
        {"between": ["systolic_pressure", "diastolic_pressure"], "r": 0.5, "source": "x y z"}),
     "pair given twice"),
    (lambda d: d["correlations"].extend([
        {"between": ["systolic_pressure", "heart_rate"], "r": 0.9, "source": "assumed"},
        {"between": ["diastolic_pressure", "heart_rate"], "r": -0.9, "source": "assumed"}]),
     "correlations: the correlation matrix is not positive definite"),
    (lambda d: d["arms"].pop(0), "arms: the arms need a baseline"),
    (lambda d: d["arms"][2].update(drug="zapotril"), "unknown drug 'zapotril'"),
    (lambda d: d["arms"][2].update(dose="500 mg"), "outside the approved range"),
    (lambda d: d["settings"].update(patient={"age": "50 year"}),
     "settings: patient are set per member"),
    (lambda d: d.update(template="../cases/nothere.yaml"), "template: no such case file"),
])
def test_bad_specs_name_file_line_and_key(tmp_path: Path, edit, expected: str) -> None:
    message = _bad(tmp_path, edit)
    assert expected.lower() in message.lower(), message
    first = message.splitlines()[0]
    assert first.startswith(str(tmp_path / "cohorts" / "bad.yaml") + ":"), first
    assert first.split(":")[1].isdigit() and first.split(":")[2].isdigit(), first


def test_bad_spec_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.read_text().replace("mean: 125 mL", "mean: 125 mmHg"))
    proc = run_cli("cohort", "generate", str(bad), "--n", "2", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert any(":" in ln and "expected a volume" in ln for ln in lines), proc.stderr
    assert not (tmp_path / "cohorts").exists()  # nothing written


def test_marginals_truncation_and_correlation() -> None:
    spec = read_spec(SPEC)
    draws = [sample_member(spec, 3, k)["values"] for k in range(600)]
    for var, dist in spec.distributions().items():
        x = np.array([d[var] for d in draws])
        tol = 1e-9 * abs(dist.max)
        assert x.min() >= dist.min - tol and x.max() <= dist.max + tol, var
        m = marginal(dist)
        assert abs(x.mean() - m.mean()) < 4 * m.std() / np.sqrt(len(x)) + 0.01 * m.std(), var
    names, corr = spec.correlation_matrix()
    i, j = names.index("systolic_pressure"), names.index("wall_thickness")
    rho = stats.spearmanr([d["systolic_pressure"] for d in draws],
                          [d["wall_thickness"] for d in draws]).statistic
    # a Gaussian copula with correlation r has Spearman's rho = 6/pi asin(r/2)
    assert rho == pytest.approx(6 / np.pi * np.arcsin(corr[i, j] / 2), abs=0.09)
    sbp = np.array([d["systolic_pressure"] for d in draws])
    dbp = np.array([d["diastolic_pressure"] for d in draws])
    assert (sbp - dbp >= 10 * 133.322387415 - 1e-6).all()


def test_member_draws_do_not_depend_on_cohort_size() -> None:
    spec = read_spec(SPEC)
    assert sample_member(spec, 1, 4) == sample_member(spec, 1, 4)
    assert sample_member(spec, 1, 4) != sample_member(spec, 2, 4)
    sexes = [sample_member(spec, 1, k)["sex"] for k in range(200)]
    assert 70 < sexes.count("female") < 130
