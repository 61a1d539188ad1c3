"""case.json is canonical: byte-identical across runs and equal-but-reformatted YAML."""

from pathlib import Path

from tests.conftest import ROOT, run_cli
from twinflow.case import canonical_text, from_canonical, load_case, to_canonical

REFORMATTED_LV_DEMO = """\
# the LV demo, written differently: flow style, other units, other key order, no comments
{anatomy: left-ventricle,
 description: "Hypertensive patient with LV hypertrophy; baseline vs 8 months of Entresto.",
 simulation: {mpi_ranks: 2, cycles: 3, time_step: 0.002 s},
 scenarios: [{id: baseline},
             {id: entresto, drug: sacubitril-valsartan, dose: 0.2 g,
              frequency: 0.0833333333333333333 /hour, duration: 243.5 day}],
 patient: {weight: 72000 g, height: 1.64 m, sex: female, age: 61 year},
 mesh: {cell_size: 0.6 cm},
 geometry: {source: measurements, fibres: {helix_epi: -60 deg, helix_endo: 1.0471975511965976 rad},
            measurements: {endo_short_radius: 2.5 cm, endo_long_radius: 55 mm,
                           epi_short_radius: 36 mm, epi_long_radius: 63 mm,
                           base_height: 1 cm}},
 physics: {study: cycle,
           material: {law: holzapfel-ogden, a: 2280 Pa, b: 9.726, a_f: 1685 Pa, b_f: 15.779},
           activation: {model: hunter1998, reference_tension: 0.1 MPa,
                        calcium: {diastolic: 1e-7 mol/L, peak: 1 umol/L, onset: 500 ms,
                                  decay_time: 200 ms}},
           circulation: {model: regazzoni2020, heart_rate: 1.25 Hz}}}
"""


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        out = tmp_path / f"run{i}" / "case.json"
        proc = run_cli("canonical", "cases/lv-demo.yaml", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0].endswith(b"\n") and b'"anatomy": "left-ventricle"' in outs[0]


def test_reformatted_equal_yaml_gives_identical_bytes(tmp_path: Path) -> None:
    other = tmp_path / "lv-demo.yaml"
    other.write_text(REFORMATTED_LV_DEMO)
    a = canonical_text(load_case(ROOT / "cases" / "lv-demo.yaml", root=ROOT))
    b = canonical_text(load_case(other, root=ROOT))
    assert a == b


def test_keys_are_sorted_and_values_si(tmp_path: Path) -> None:
    import json

    text = canonical_text(load_case(ROOT / "cases" / "carotid-demo.yaml", root=ROOT))
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["physics"]["blood"]["viscosity"] == 0.0035  # Pa s
    assert data["physics"]["inflow"]["mean_flow"] == 6e-6  # m^3/s


def test_round_trip_load_canonical_load(root: Path) -> None:
    for path in sorted((root / "cases").rglob("*.yaml")):
        case = load_case(path, root=root)
        again = from_canonical(to_canonical(case), root=root)
        assert again == case, path
        assert canonical_text(again) == canonical_text(case)
