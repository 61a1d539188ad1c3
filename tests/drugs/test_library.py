"""The drug library as data: a user's folder adds a drug without code changes; a bad drug
file fails ``twinflow validate`` of the case that names it with one line per problem
(FILE:LINE:COL: key: message) and exit status 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from twinflow.drugs.library import PACKAGE_LIBRARY

#: A made-up drug: an afterload effect and a contractility effect.
MADE_UP = """\
# yaml-language-server: $schema=../schemas/drug.schema.json
id: zapotril
name: zapotril (made up for a test)
class: imaginary inodilator
components:
  - name: zapotril
    dose_fraction: 1
    pharmacokinetics:
      bioavailability: 0.5
      half_life: 8 h
      volume_of_distribution: 40 L
      source: invented for the test suite, not a real drug
dosing:
  min_dose: 5 mg
  max_dose: 40 mg
  max_frequency: 1 /day
  source: invented for the test suite, not a real drug
effects:
  - target: circulation.R_AR_SYS
    component: zapotril
    e_max: -0.2
    ec50: 0.1 mg/L
    onset: 1 week
    source: invented for the test suite, not a real drug
    assumption: invented mapping, only to exercise the library
  - target: activation.reference_tension
    component: zapotril
    e_max: 0.1
    ec50: 0.1 mg/L
    hill: 2
    onset: 1 week
    source: invented for the test suite, not a real drug
    assumption: invented mapping, only to exercise the library
"""

CASE = """\
anatomy: left-ventricle
drug_library: drugs
scenarios:
  - id: baseline
  - id: zap
    drug: zapotril
    dose: 20 mg
    frequency: 1 /day
    duration: 3 month
"""


def project(tmp_path: Path, drug_text: str = MADE_UP, name: str = "zapotril") -> Path:
    (tmp_path / "drugs").mkdir()
    (tmp_path / "drugs" / f"{name}.yaml").write_text(drug_text)
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    return case


def test_a_user_folder_adds_a_drug(tmp_path: Path) -> None:
    case = project(tmp_path)
    r = run_cli("validate", str(case), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_cli("canonical", str(case), "-o", str(tmp_path / "case.json"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    canonical = json.loads((tmp_path / "case.json").read_text())
    assert canonical["drug_library"] == "drugs"
    # the drug-effects stage reads the user's entry through the workflow's settings
    from twinflow.artifacts.drugs import DrugEffects
    from twinflow.drugs.library import scenario_drug_file
    from twinflow.stages import settings_path, write_stage_settings

    write_stage_settings(canonical, tmp_path / "res")
    drug = scenario_drug_file(canonical, "zap", tmp_path)
    assert drug is not None and Path(drug).resolve() == (tmp_path / "drugs" / "zapotril.yaml")
    out = tmp_path / "zap.json"
    r = run_cli("drug-effects", "--settings",
                str(settings_path(tmp_path / "res", "drug_effects", "zap")), "--drug", drug,
                "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    effects = DrugEffects.read(out)
    assert effects.factors["circulation.R_AR_SYS"] < 1 < effects.reference_tension


def test_unknown_drug_names_the_library(tmp_path: Path) -> None:
    case = project(tmp_path)
    case.write_text(CASE.replace("drug: zapotril", "drug: zapotrill"))
    r = run_cli("validate", str(case), cwd=tmp_path)
    assert r.returncode == 2
    assert re.search(r"case.yaml:\d+:\d+: scenarios\[1\].drug: unknown drug 'zapotrill' "
                     r"\(library: enalapril, sacubitril-valsartan, valsartan, zapotril\)",
                     r.stderr), r.stderr


@pytest.mark.parametrize("edit, line, key, message", [
    (("volume_of_distribution: 40 L", "volume_of_distribution: 40 kg"), 11,
     "components[0].pharmacokinetics.volume_of_distribution", "expected a volume"),
    (("target: circulation.R_AR_SYS", "target: circulation.R_ARTERIAL"), 19,
     "effects[0].target", "unknown target parameter 'circulation.R_ARTERIAL'"),
    (("    onset: 1 week\n    source: invented for the test suite, not a real drug\n",
      "    onset: 1 week\n"), 19, "effects[0].source", "missing required key"),
    (("min_dose: 5 mg", "min_dose: 50 mg"), 14, "dosing",
     "dose range inverted: min_dose 50 mg > max_dose 40 mg"),
    (("ec50: 0.1 mg/L\n    onset", "ec50: 0.1 mmol/L\n    onset"), 22, "effects[0].ec50",
     "expected a mass concentration"),
])
def test_bad_drug_file_is_one_line_per_problem(tmp_path: Path, edit, line, key, message
                                               ) -> None:
    old, new = edit
    assert old in MADE_UP
    case = project(tmp_path, MADE_UP.replace(old, new, 1))
    r = run_cli("validate", str(case), cwd=tmp_path)
    assert r.returncode == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    drug = str(Path("drugs") / "zapotril.yaml")
    m = re.match(r"(.+):(\d+):(\d+): (\S+): (.*)$", lines[0])
    assert m, lines[0]
    assert m.group(1).endswith(drug) and int(m.group(2)) == line, lines[0]
    assert m.group(4) == key and message in m.group(5), lines[0]


def test_a_calibration_the_numbers_do_not_reproduce_fails(tmp_path: Path) -> None:
    text = (PACKAGE_LIBRARY / "valsartan.yaml").read_text().replace(
        "e_max: -0.1338", "e_max: -0.20", 1)
    case = project(tmp_path, text, "valsartan")
    case.write_text(CASE.replace("zapotril", "valsartan").replace("20 mg", "80 mg"))
    r = run_cli("validate", str(case), cwd=tmp_path)
    assert r.returncode == 2
    assert re.fullmatch(r".*drugs/valsartan.yaml:37:17: effects\[0\].calibration.observed: "
                        r"the effect's numbers give -0.1600 at this regimen, the trial "
                        r"observed -0.1068\n", r.stderr), r.stderr


def test_shipped_entries_validate_against_the_exported_schema(root: Path) -> None:
    import jsonschema

    schema = json.loads((root / "schemas" / "drug.schema.json").read_text())
    for path in sorted(PACKAGE_LIBRARY.glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=")
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
