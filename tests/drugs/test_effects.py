import pytest

from twinflow.drugs import DRUGS
from twinflow.drugs.effects import SIMPLIFICATIONS, effects_of, parameter_factors, scenario_effects
from twinflow.units import to_si

MG, DAY, MONTH = to_si(1, "mg"), to_si(1, "day"), to_si(1, "month")


def test_baseline_changes_nothing() -> None:
    assert parameter_factors(None, None, None, None) == {}


def test_studied_regimen_reproduces_the_trial() -> None:
    # Thürmann 1998: valsartan 80 mg/day for 8 months: MAP 121.7 -> 108.7 mmHg, LVMI 127 -> 106
    f = parameter_factors("valsartan", 80 * MG, 1 / DAY, 8 * MONTH)
    assert f["circulation.R_AR_SYS"] == pytest.approx((90 + 56 / 3) / (101 + 62 / 3))
    assert f["geometry.wall_thickness"] == pytest.approx(106 / 127)


def test_effects_grow_with_dose_and_duration_and_saturate() -> None:
    def afterload(dose_mg: float, months: float) -> float:
        return parameter_factors("valsartan", dose_mg * MG, 1 / DAY, months * MONTH)[
            "circulation.R_AR_SYS"]

    assert afterload(40, 8) > afterload(80, 8) > afterload(160, 8) > afterload(320, 8)
    assert afterload(80, 0.25) > afterload(80, 1) > afterload(80, 8)
    observed = afterload(80, 8) - 1
    assert afterload(320, 8) - 1 > 2 * observed  # Emax = 2 x observed is never passed


def test_every_library_drug_has_sourced_effects() -> None:
    for drug_id in DRUGS:
        effects = effects_of(drug_id)
        assert effects
        assert all(e.source for e in effects)


def test_sacubitril_valsartan_lowers_afterload_and_raises_venous_compliance() -> None:
    f = parameter_factors("sacubitril-valsartan", 200 * MG, 2 / DAY, 8 * MONTH)
    assert f["circulation.R_AR_SYS"] < 1 < f["circulation.C_VEN_SYS"]
    assert f["geometry.wall_thickness"] < 1


ARM = {"id": "arm", "drug": "valsartan", "dose": 80 * MG, "frequency": 1 / DAY,
       "duration": 8 * MONTH}
BASELINE = {"id": "baseline", "drug": None, "dose": None, "frequency": None, "duration": None}


def test_a_baseline_scenario_has_no_effects() -> None:
    effects = scenario_effects(BASELINE)
    assert effects.scenario == "baseline" and effects.drug is None
    assert effects.factors == {} and effects.circulation == {}
    assert effects.wall_thickness == 1.0 and effects.simplifications == []


def test_a_drug_arm_gives_the_wall_remodelling_and_the_circulation_factors() -> None:
    effects = scenario_effects(ARM)
    assert effects.drug == "valsartan"
    # Thürmann 1998: LVMI 127 -> 106 g/m^2 at the studied regimen, wall thickness alike
    assert effects.wall_thickness == pytest.approx(106 / 127, rel=1e-12)
    assert effects.circulation == {"R_AR_SYS": effects.factors["circulation.R_AR_SYS"]}
    assert effects.simplifications == list(SIMPLIFICATIONS)


def test_the_stage_writes_the_typed_effects_of_its_scenario(tmp_path) -> None:
    """Stage drug_effects: the settings slice in, DrugEffects out (what mesh_lv and
    simulate_heart read)."""
    import json

    from twinflow.artifacts.drugs import DrugEffects
    from twinflow.drugs.effects import drug_effects

    settings = tmp_path / "drug_effects.json"
    settings.write_text(json.dumps({"anatomy": "left-ventricle", "scenario": ARM}))
    written = DrugEffects.read(drug_effects(settings, tmp_path / "arm" / "drug_effects.json"))
    assert written == scenario_effects(ARM) and written.scenario == "arm"
