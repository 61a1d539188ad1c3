"""Shared pytest fixtures: the project root, runners for the real command lines, the coarse
demo LV (``coarse_lv``: settings + mesh through the stage functions), and the
column-by-column comparison of result tables (1 vs 2 MPI ranks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twinflow.workflow import copy_project

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m twinflow ARGS`` as a user would, capturing output (decoded as UTF-8
    whatever the locale of the shell that runs the tests: messages hold units like µm)."""
    return subprocess.run([sys.executable, "-m", "twinflow", *args], cwd=cwd,
                          encoding="utf-8", errors="replace", capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def project_copy(tmp_path: Path, package: bool = False) -> Path:
    """A throw-away copy of the workflow files, so runs never touch the checkout.

    With ``package``, ``workflow/`` is copied too; run commands with :func:`package_env`
    so the copy's modules are the ones imported (and may be edited or touched).
    """
    return copy_project(ROOT, tmp_path / "project", package)


def package_env(project: Path) -> dict[str, str]:
    """Environment that imports twinflow from ``project/workflow`` (see project_copy)."""
    return {"PYTHONPATH": str(project / "workflow")}


def run_navier_stokes(mesh: Path, settings: dict, out: Path, ranks: int = 1,
                      timeout: float = 600) -> dict:
    """Run ``twinflow simulate-flow`` (under ``mpirun -n ranks`` when ranks > 1) with the
    solver ``settings`` written to ``out/settings.json``; results go to ``out/result``.
    Returns the run's summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "settings.json"
    path.write_text(json.dumps(settings))
    cmd = [sys.executable, "-m", "twinflow", "simulate-flow", "--mesh", str(mesh),
           "--solver-settings", str(path), "--summary", str(out / "result" / "summary.json")]
    if ranks > 1:
        cmd = [str(VENV_BIN / "mpirun"), "-n", str(ranks)] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "result" / "summary.json").read_text())


def assert_columns_match(a_csv: Path, b_csv: Path, rtol: float = 1e-6) -> None:
    """Every column of two result tables (``series.csv``, ``probes.csv``) equal to ``rtol``,
    with an absolute floor of ``rtol`` times the column's maximum in ``a_csv``."""
    a, b = (np.genfromtxt(path, delimiter=",", names=True) for path in (a_csv, b_csv))
    for col in a.dtype.names:
        scale = np.abs(a[col]).max()
        assert np.allclose(b[col], a[col], rtol=rtol, atol=rtol * scale), col


@pytest.fixture(scope="session")
def coarse_lv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(mesh.xdmf, baseline ``simulate_heart`` settings): the demo case as the exact ellipsoid
    of its measurements, meshed at 15 mm (713 tets), through the workflow's stage functions;
    the entresto arm's settings lie beside (``../entresto/simulate_heart.json``), each arm's
    drug effects at :func:`drug_effects_of` its settings. Shared by the session: tests must
    not modify the files."""
    from twinflow.case import load_case, to_canonical
    from twinflow.drugs.effects import drug_effects
    from twinflow.geometry.lv.mesh import mesh_lv
    from twinflow.geometry.lv.reconstruct import reconstruct_lv
    from twinflow.stages import settings_path, write_stage_settings

    tmp = tmp_path_factory.mktemp("lvcoarse")
    case = to_canonical(load_case(ROOT / "cases" / "lv-demo.yaml"))
    case["mesh"]["cell_size"] = 0.015
    case["geometry"]["source"] = "measurements"  # the exact ellipsoid: no images needed
    write_stage_settings(case, tmp)
    measurements = reconstruct_lv(settings_path(tmp, "reconstruct_lv"), None, None,
                                  tmp / "geo" / "measurements.json")
    for arm in ("baseline", "entresto"):
        settings = settings_path(tmp, "simulate_heart", arm)
        drug_effects(settings_path(tmp, "drug_effects", arm), drug_effects_of(settings))
    mesh = mesh_lv(settings_path(tmp, "mesh_lv", "baseline"), measurements,
                   drug_effects_of(settings_path(tmp, "mesh_lv", "baseline")),
                   tmp / "mesh" / "mesh.xdmf", tmp / "mesh" / "mesh.json")
    return mesh, settings_path(tmp, "simulate_heart", "baseline")


def drug_effects_of(settings: Path) -> Path:
    """``<case>/<scenario>/drug_effects.json`` of a per-scenario settings file
    ``<case>/settings/<scenario>/<stage>.json`` (the workflow's layout)."""
    return settings.parents[2] / settings.parent.name / "drug_effects.json"
