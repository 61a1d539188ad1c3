"""The Snakemake spine, through the real snakemake CLI (``twinflow run``)."""

import json
from pathlib import Path

import pytest

from tests.conftest import assert_columns_match, project_copy, run_cli, run_navier_stokes


def test_dry_run_prints_the_graph_of_the_demo_cases(tmp_path: Path) -> None:
    proc = run_cli("run", "--dry-run", "--cores", "1", cwd=project_copy(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "canonical" in out
    for cid in ("carotid-demo", "lv-demo"):
        assert f"results/{cid}/case.json" in out


def test_run_writes_canonical_case_json_and_reruns_only_on_change(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    case = project / "cases" / "minimal.yaml"
    proc = run_cli("run", "cases/minimal.yaml", "--cores", "1", "--snakemake-args",
                   "results/minimal/case.json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    out = project / "results" / "minimal" / "case.json"
    data = json.loads(out.read_text())
    assert data["anatomy"] == "left-ventricle"
    # nothing changed: nothing to do
    proc = run_cli("run", "cases/minimal.yaml", "--cores", "1", "--dry-run", "--snakemake-args",
                   "results/minimal/case.json", cwd=project)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr
    # a changed setting re-runs validation
    case.write_text(case.read_text() + "simulation: {cycles: 5}\n")
    proc = run_cli("run", "cases/minimal.yaml", "--cores", "1", "--snakemake-args",
                   "results/minimal/case.json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["simulation"]["cycles"] == 5


def test_invalid_case_fails_with_its_message_and_writes_nothing(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    bad = project / "cases" / "broken.yaml"
    bad.write_text("anatomy: carotid\nphysics:\n  blood:\n    viscosity: 12 kg\n")
    proc = run_cli("run", "cases/broken.yaml", "--cores", "1", "--snakemake-args",
                   "results/broken/case.json", cwd=project)
    assert proc.returncode != 0
    assert ("cases/broken.yaml:4:16: physics.blood.viscosity: expected a dynamic viscosity, "
            "got 12 kg") in proc.stdout + proc.stderr
    assert not (project / "results" / "broken" / "case.json").exists()


def test_config_errors_are_one_line(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    proc = run_cli("run", "cases/nothing-here.yaml", "--cores", "1", "--dry-run", cwd=project)
    assert proc.returncode != 0
    assert "config: cases: no such case file: cases/nothing-here.yaml" in proc.stdout + proc.stderr


@pytest.mark.heavy  # ~40 min on 2 cores: images -> ONNX masks -> mesh -> 2 cycles of CFD
def test_carotid_demo_runs_end_to_end_with_physiological_cca_tawss(tmp_path: Path) -> None:
    """Acceptance of issue 6: ``twinflow run cases/carotid-demo.yaml`` goes from the images to
    the indices; the CCA TAWSS lies in the physiological range (about 0.5-3 Pa), the
    prescribed ECA fraction and mass are kept, and the renders exist. The pipeline's 2-rank
    CFD, rerun on 1 rank with the same mesh and settings, gives the same series and summary
    (rtol 1e-6; measured 1.6e-8 and 5.8e-9)."""
    project = project_copy(tmp_path)
    proc = run_cli("run", "cases/carotid-demo.yaml", "--cores", "2", cwd=project,
                   timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    case_dir = project / "results" / "carotid-demo"
    summary = json.loads((case_dir / "baseline" / "summary.json").read_text())
    assert 0.5 <= summary["tawss_cca_segment_pa"]["mean"] <= 3.0
    assert summary["flow_split"]["3"] == pytest.approx(0.4, abs=0.01)
    assert summary["mass_balance_relative"] < 0.01
    for name in summary["outputs"]["renders"]:
        assert (case_dir / "baseline" / name).stat().st_size > 0
    quality = json.loads((case_dir / "mesh" / "mesh_quality.json").read_text())
    assert quality["inverted_cells"] == 0 and quality["wall_mesh"]["inverted_cells"] == 0

    assert summary["timing"]["ranks"] == 2
    settings = json.loads((case_dir / "baseline" / "settings.json").read_text())
    serial = run_navier_stokes(case_dir / "mesh" / "mesh.xdmf", settings | {"render": False},
                               tmp_path / "one-rank", timeout=3600)
    assert serial["timing"]["ranks"] == 1
    assert_columns_match(tmp_path / "one-rank" / "result" / "series.csv",
                         case_dir / "baseline" / "series.csv")
    numbers_2, numbers_1 = _numbers(summary), _numbers(serial)
    assert numbers_2.keys() == numbers_1.keys()
    for key, value in numbers_1.items():
        assert numbers_2[key] == pytest.approx(value, rel=1e-6, abs=1e-12), key


def _numbers(summary: dict, prefix: str = "") -> dict[str, float]:
    """Every number of a summary.json, by dotted key, timings and output names aside."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        if key in ("timing", "outputs"):
            continue
        if isinstance(value, dict):
            out.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            out.update({f"{prefix}{key}[{i}]": float(x) for i, x in enumerate(value)
                        if isinstance(x, (int, float)) and not isinstance(x, bool)})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = float(value)
    return out
