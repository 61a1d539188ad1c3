"""What the workflow does when it loads, kept fast for cohorts (benchmarks/dry_run.py): the
import scan of the stages' code closures, the code manifests and the canonical-case cache."""

from __future__ import annotations

import ast
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from twinflow.cache import canonical_case
from twinflow.case import load_case, to_canonical
from twinflow.case.load import image_paths
from twinflow.errors import CaseError
from twinflow.stages import PACKAGE_DIR, _imports, code_manifest, write_code_manifest


def _imports_by_ast(path: Path, module: str) -> frozenset[str]:
    """The reference: every import node of the whole parsed module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(n for n in found if n == "twinflow" or n.startswith("twinflow."))


def test_import_scan_finds_what_the_parser_finds_in_every_module() -> None:
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        assert _imports(path, module) >= _imports_by_ast(path, module), path


def test_code_manifest_moves_only_when_a_module_changes(tmp_path: Path) -> None:
    manifest = write_code_manifest("mesh_tube", tmp_path)
    assert "twinflow/geometry/tube.py" in code_manifest("mesh_tube")
    before = manifest.stat().st_mtime_ns
    time.sleep(0.01)
    assert write_code_manifest("mesh_tube", tmp_path).stat().st_mtime_ns == before


def test_canonical_cache_hits_misses_and_still_reports_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "cases", tmp_path / "cases")
    monkeypatch.chdir(tmp_path)
    case, cache = Path("cases/carotid-demo.yaml"), tmp_path / "cache"
    loaded = load_case(case)
    fresh = (to_canonical(loaded), image_paths(loaded))
    assert canonical_case(case, cache, "carotid-demo") == fresh  # miss: validated, stored
    entry = cache / "carotid-demo.json"
    stamp = entry.stat().st_mtime_ns
    assert canonical_case(case, cache, "carotid-demo") == fresh  # hit: not rewritten
    assert entry.stat().st_mtime_ns == stamp

    case.write_text(case.read_text().replace("cell_size: 1.2 mm", "cell_size: 1.4 mm"))
    assert canonical_case(case, cache, "carotid-demo")[0]["mesh"]["cell_size"] == \
        pytest.approx(1.4e-3)

    image = Path("cases/data/carotid-demo/longitudinal.png")
    hashes = [i["sha256"] for i in canonical_case(case, cache, "carotid-demo")[0]["images"]]
    with image.open("ab") as f:  # an image edited in place: hashed again (the case names it
        f.write(b"\0")           # by SHA-256), though the case file did not change
    rehashed = [i["sha256"] for i in canonical_case(case, cache, "carotid-demo")[0]["images"]]
    assert sum(a != b for a, b in zip(rehashed, hashes, strict=True)) == 1
    os.remove(image)  # a file the cached case names is gone: validated again, its error
    with pytest.raises(CaseError, match="image not found: data/carotid-demo/longitudinal.png"):
        canonical_case(case, cache, "carotid-demo")
