"""case.json is canonical: byte-identical across runs and equal-but-reformatted YAML."""

from pathlib import Path

from tests.conftest import ROOT, run_cli
from twinflow.case import canonical_text, from_canonical, load_case, to_canonical

ORIGINAL = """\
# yaml-language-server: $schema=../../schemas/case.schema.json
anatomy: left-ventricle
description: Hypertensive patient; baseline vs 8 months of Entresto.
patient:
  age: 61 year
  sex: female
  height: 164 cm
  weight: 72 kg
geometry:
  source: measurements
  measurements:
    endo_short_radius: 25 mm
    endo_long_radius: 55 mm
    epi_short_radius: 36 mm
    epi_long_radius: 63 mm
    base_height: 10 mm
  fibres: {helix_endo: 60 deg, helix_epi: -60 deg}
mesh:
  cell_size: 6 mm
physics:
  material:
    law: holzapfel-ogden
    a: 2.28 kPa
    b: 9.726
    a_f: 1.685 kPa
    b_f: 15.779
  activation:
    reference_tension: 100 kPa
    calcium: {diastolic: 0.1 umol/L, peak: 1 umol/L, onset: 0.5 s, decay_time: 0.2 s}
  circulation:
    heart_rate: 75 bpm
scenarios:
  - id: baseline
  - id: entresto
    drug: sacubitril-valsartan
    dose: 97 mg + 103 mg
    frequency: 2 /day
    duration: 8 month
simulation:
  time_step: 2 ms
"""

REFORMATTED = """\
# the same case written differently: flow style, other units, other key order, no schema line
{anatomy: left-ventricle,
 description: "Hypertensive patient; baseline vs 8 months of Entresto.",
 simulation: {time_step: 0.002 s},
 scenarios: [{id: baseline},
             {id: entresto, drug: sacubitril-valsartan, dose: 0.2 g,
              frequency: 0.0833333333333333333 /hour, duration: 243.5 day}],
 patient: {weight: 72000 g, height: 1.64 m, sex: female, age: 61 year},
 mesh: {cell_size: 0.6 cm},
 geometry: {source: measurements, fibres: {helix_epi: -60 deg, helix_endo: 1.0471975511965976 rad},
            measurements: {endo_short_radius: 2.5 cm, endo_long_radius: 55 mm,
                           epi_short_radius: 36 mm, epi_long_radius: 63 mm,
                           base_height: 1 cm}},
 physics: {material: {law: holzapfel-ogden, a: 2280 Pa, b: 9.726, a_f: 1685 Pa, b_f: 15.779},
           activation: {reference_tension: 0.1 MPa,
                        calcium: {diastolic: 1e-7 mol/L, peak: 1 umol/L, onset: 500 ms,
                                  decay_time: 200 ms}},
           circulation: {heart_rate: 1.25 Hz}}}
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
    (tmp_path / "a.yaml").write_text(ORIGINAL)
    (tmp_path / "b.yaml").write_text(REFORMATTED)
    a = canonical_text(load_case(tmp_path / "a.yaml", root=ROOT))
    b = canonical_text(load_case(tmp_path / "b.yaml", root=ROOT))
    assert a == b


def test_keys_are_sorted_and_values_si(tmp_path: Path) -> None:
    import json

    text = canonical_text(load_case(ROOT / "cases" / "carotid-demo.yaml", root=ROOT))
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["physics"]["blood"]["viscosity"] == 0.0035  # Pa s
    assert data["physics"]["inflow"]["mean_flow"] == 6e-6  # m^3/s


def test_round_trip_load_canonical_load(root: Path) -> None:
    """The canonical form loads back to the same canonical form; it names images by their
    SHA-256 only (the path, which may hold a patient's name, is not in it)."""
    for path in sorted((root / "cases").rglob("*.yaml")):
        case = load_case(path, root=root)
        again = from_canonical(to_canonical(case), root=root)
        assert canonical_text(again) == canonical_text(case), path
        images = getattr(case.root, "images", [])
        assert [i.sha256 for i in getattr(again.root, "images", [])] == \
            [i.sha256 for i in images]
        assert all(i.path is None for i in getattr(again.root, "images", []))
        for image in images:
            assert "path" not in canonical_text(case) and len(image.sha256 or "") == 64


def test_canonical_case_names_images_by_hash_not_path(tmp_path: Path) -> None:
    """A case whose images lie in a folder named after the patient: case.json holds neither
    the folder's name nor depends on where the images lie (same bytes elsewhere, same
    canonical text); a changed image changes it."""
    import shutil

    texts = []
    for folder in ("DOE^JOHN_12345", "elsewhere/anon"):
        data = tmp_path / folder
        data.mkdir(parents=True)
        for png in (ROOT / "cases" / "data" / "lv-demo").glob("apical-*.png"):
            shutil.copy(png, data / png.name)
        case = tmp_path / f"case-{len(texts)}.yaml"
        text = (ROOT / "cases" / "lv-demo.yaml").read_text()
        case.write_text(text.replace("data/lv-demo/", f"{folder}/"))
        texts.append(canonical_text(load_case(case, root=tmp_path)))
    assert texts[0] == texts[1]
    assert "DOE" not in texts[0] and "12345" not in texts[0] and "apical-4ch-end" not in texts[0]
    (tmp_path / "elsewhere" / "anon" / "apical-2ch-end-systole.png").write_bytes(b"changed")
    assert canonical_text(load_case(tmp_path / "case-1.yaml", root=tmp_path)) != texts[0]
