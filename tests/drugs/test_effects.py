"""Drug arms: the shipped library entries, their pharmacology and the parameter diff."""

import math

import pytest

from twinflow.artifacts.drugs import DrugEffects
from twinflow.drugs import pharmacology as pd
from twinflow.drugs.effects import SIMPLIFICATIONS, scenario_effects
from twinflow.drugs.library import load_library
from twinflow.units import to_si

MG, DAY, MONTH, WEEK = to_si(1, "mg"), to_si(1, "day"), to_si(1, "month"), to_si(1, "week")
LIB = load_library()


def arm(drug: str, dose_mg: float, per_day: float, months: float) -> dict:
    return {"id": "arm", "drug": drug, "dose": dose_mg * MG, "frequency": per_day / DAY,
            "duration": months * MONTH}


def factors(drug: str, dose_mg: float, per_day: float, months: float) -> dict[str, float]:
    return scenario_effects(arm(drug, dose_mg, per_day, months), LIB.get(drug)).factors


def test_baseline_changes_nothing() -> None:
    e = scenario_effects({"id": "baseline", "drug": None}, None)
    assert e.factors == {} and e.changes == [] and e.simplifications == []


def test_steady_state_concentration_by_hand() -> None:
    # valsartan 80 mg once daily: F 0.25, t1/2 6 h, Vd 17 L -> CL = ln2 17 L / 6 h = 1.964 L/h
    # average C = 0.25 x 80 mg / (1.964 L/h x 24 h) = 0.4243 mg/L
    c = LIB.get("valsartan").concentration("valsartan", 80 * MG, 1 / DAY)
    assert c * 1e3 == pytest.approx(0.25 * 80 / (math.log(2) * 17 / 6 * 24), rel=1e-9)
    assert pd.emax_response(c, -0.2, c, 1.0) == pytest.approx(-0.1)
    assert pd.onset(4 * MONTH, 4 * MONTH) == pytest.approx(1 - math.exp(-1))


def test_studied_regimen_reproduces_the_trial() -> None:
    # Thürmann 1998: valsartan 80 mg/day for 8 months: MAP 121.7 -> 108.7 mmHg, LVMI 127 -> 106
    f = factors("valsartan", 80, 1, 8)
    assert f["circulation.R_AR_SYS"] == pytest.approx((90 + 56 / 3) / (101 + 62 / 3), rel=2e-3)
    assert f["geometry.wall_thickness"] == pytest.approx(106 / 127, rel=2e-3)


def test_entresto_valsartan_is_valsartan_at_the_labelled_equivalent_dose() -> None:
    # 24/26 mg twice daily = 80 mg/day of valsartan (Entresto label: 103 mg ~ 160 mg)
    e = LIB.get("sacubitril-valsartan")
    assert e.concentration("valsartan", 50 * MG, 2 / DAY) == pytest.approx(
        LIB.get("valsartan").concentration("valsartan", 80 * MG, 1 / DAY), rel=1e-3)


def test_effects_grow_with_dose_and_duration_and_saturate() -> None:
    def afterload(dose_mg: float, months: float) -> float:
        return factors("valsartan", dose_mg, 1, months)["circulation.R_AR_SYS"]

    assert afterload(40, 8) > afterload(80, 8) > afterload(160, 8) > afterload(320, 8)
    assert afterload(80, 0.25) > afterload(80, 1) > afterload(80, 8)
    e_max = LIB.get("valsartan").effects[0].e_max
    assert 1 + e_max < afterload(320, 60)  # never past Emax


def test_every_shipped_drug_has_sourced_effects_and_stated_assumptions() -> None:
    assert {"sacubitril-valsartan", "valsartan", "enalapril"} <= set(LIB.entries)
    for entry in LIB.entries.values():
        assert entry.problems() == []  # each calibrated effect reproduces its trial
        for effect in entry.effects:
            assert len(effect.source) > 20 and len(effect.assumption) > 20


def test_sacubitril_valsartan_arm_lists_every_change_with_its_source() -> None:
    e = scenario_effects(arm("sacubitril-valsartan", 200, 2, 8), LIB.get("sacubitril-valsartan"))
    f = e.factors
    assert f["circulation.R_AR_SYS"] < 1 and f["geometry.wall_thickness"] < 1
    assert f["circulation.C_VEN_SYS"] > 1
    # two effects on the resistance (valsartan and sacubitril) multiply
    r = [c for c in e.changes if c.parameter == "circulation.R_AR_SYS"]
    assert {c.component for c in r} == {"valsartan", "sacubitril"}
    assert f["circulation.R_AR_SYS"] == pytest.approx(math.prod(1 + c.change for c in r))
    assert any("PARAMOUNT" in c.source for c in r)
    assert [x.component for x in e.exposure] == ["sacubitril", "valsartan"]
    assert e.simplifications == list(SIMPLIFICATIONS)


def test_comparator_lowers_pressure_less_than_sacubitril_valsartan() -> None:
    # PARADIGM-HF: systolic pressure 3.2 mmHg lower with sacubitril/valsartan than enalapril
    enal = factors("enalapril", 10, 2, 8)["circulation.R_AR_SYS"]
    arni = factors("sacubitril-valsartan", 200, 2, 8)["circulation.R_AR_SYS"]
    assert 1 > enal > arni
    assert enal - arni == pytest.approx(3.2 / 121, rel=0.05)


def test_stage_writes_the_artifact(tmp_path, root) -> None:
    from twinflow.case import load_case, to_canonical
    from twinflow.drugs.effects import drug_effects
    from twinflow.stages import settings_path, write_stage_settings

    case = to_canonical(load_case(root / "cases" / "lv-demo.yaml"))
    write_stage_settings(case, tmp_path)
    settings = settings_path(tmp_path, "drug_effects", "entresto")
    written = DrugEffects.read(drug_effects(settings, tmp_path / "arm" / "drug_effects.json"))
    assert written.drug == "sacubitril-valsartan"
    assert written.factors == pytest.approx(factors("sacubitril-valsartan", 200, 2, 8), rel=1e-9)


def test_a_placebo_arm_has_a_duration_and_no_change(tmp_path) -> None:
    from twinflow.case import load_case, to_canonical
    from twinflow.stages import baseline_scenario, case_stages

    path = tmp_path / "case.yaml"
    path.write_text("anatomy: left-ventricle\nscenarios:\n  - id: placebo\n"
                    "    duration: 8 month\n  - id: baseline\n")
    case = to_canonical(load_case(path))
    assert baseline_scenario(case) == "baseline"  # not the placebo arm listed first
    assert "compare_arms" in case_stages(case)
    placebo = scenario_effects(case["scenarios"][0], None)
    assert placebo.factors == {} and placebo.drug is None
    path.write_text("anatomy: left-ventricle\nscenarios:\n  - id: placebo\n"
                    "    duration: 8 month\n")
    with pytest.raises(Exception, match="need a baseline"):
        load_case(path)
