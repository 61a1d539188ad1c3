"""The README's set-up (a Python >= 3.12 found by itself, an idempotent make target) and the
package's structure: one import direction, no cycles, every ``python -m`` entry point runs."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "workflow" / "twinflow"


def test_find_python_finds_a_supported_interpreter() -> None:
    exe = subprocess.run([str(ROOT / "scripts" / "find-python")], capture_output=True,
                         text=True, check=True).stdout.strip()
    version = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version in {"(3, 12)", "(3, 13)"}


def test_the_suite_tests_this_checkout() -> None:
    """An installed copy elsewhere would make every other test check the wrong code."""
    import twinflow

    assert Path(twinflow.__file__).resolve().parent == PACKAGE.resolve()


def test_second_setup_is_skipped() -> None:
    # `make -q` exits 0 only when the target is up to date: nothing would be re-installed.
    proc = subprocess.run(["make", "-q", "setup"], cwd=ROOT)
    assert proc.returncode == 0


def test_twinflow_never_imports_snakemake() -> None:
    for path in (ROOT / "workflow" / "twinflow").rglob("*.py"):
        text = path.read_text()
        assert "import snakemake" not in text and "from snakemake" not in text, path


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> twinflow modules it imports (at module level or inside functions)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                             for a in node.names)
        graph[name] = {m for m in found if m in modules and m != name
                       and not name.startswith(m + ".")}  # a package's own __init__
    return graph


def test_no_import_cycle() -> None:
    graph = _imports()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def _main_modules() -> list[str]:
    """Modules runnable as ``python -m``: a ``__main__.py`` or a ``__main__`` guard."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if path.name == "__main__.py":
            found.append(_module_name(path.parent) if path.parent != PACKAGE else "twinflow")
        elif 'if __name__ == "__main__"' in text:
            found.append(_module_name(path))
    return found


@pytest.mark.parametrize("module", _main_modules())
def test_every_python_m_entry_point_runs(module: str) -> None:
    """``python -m MODULE --help`` exits 0: nothing it needs is defined below its guard."""
    proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


def test_one_parser_module() -> None:
    """Every sub-command is defined in twinflow/cli.py; no stage module parses arguments."""
    others = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
              if "argparse" in p.read_text() and p.name != "cli.py"]
    assert others == []
