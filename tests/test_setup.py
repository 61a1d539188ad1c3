"""The README's set-up: a Python >= 3.12 found by itself, an idempotent make target."""

import subprocess
import sys

from tests.conftest import ROOT


def test_find_python_finds_a_supported_interpreter() -> None:
    exe = subprocess.run([str(ROOT / "scripts" / "find-python")], capture_output=True,
                         text=True, check=True).stdout.strip()
    version = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version in {"(3, 12)", "(3, 13)"}


def test_this_suite_runs_in_the_project_venv() -> None:
    assert sys.version_info >= (3, 12)


def test_second_setup_is_skipped() -> None:
    # `make -q` exits 0 only when the target is up to date: nothing would be re-installed.
    proc = subprocess.run(["make", "-q", "setup"], cwd=ROOT)
    assert proc.returncode == 0


def test_twinflow_never_imports_snakemake() -> None:
    for path in (ROOT / "workflow" / "twinflow").rglob("*.py"):
        text = path.read_text()
        assert "import snakemake" not in text and "from snakemake" not in text, path
