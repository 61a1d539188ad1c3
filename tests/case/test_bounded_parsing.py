"""Hostile case files end quickly with one line and exit 2 (issue 19, bounded parsing).

The bad-case corpus (tests/case/bad/: alias bomb, recursive alias, deep nesting, arithmetic
in a quantity, overflow, booleans as integers) is checked by test_bad_cases.py; here the
limits that need a generated file or a special file, each run as a user would, under a time
limit, and the YAML features that must keep working (merge keys, -0)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from twinflow.case import canonical_text, load_case
from twinflow.case.yamlpos import MAX_BYTES, load_yaml_with_positions

MINIMAL = "anatomy: carotid\n"


def _validate(path: Path, timeout: float = 10) -> tuple[int, list[str], float]:
    tic = time.monotonic()
    proc = run_cli("validate", str(path), timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.returncode, proc.stderr.strip().splitlines(), time.monotonic() - tic


def test_a_large_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    case = tmp_path / "big.yaml"
    case.write_text(MINIMAL + "".join(f"unknown_{i}: {i}\n" for i in range(MAX_BYTES // 12)))
    assert case.stat().st_size > MAX_BYTES
    status, lines, _ = _validate(case)
    assert status == 2 and lines == [f"{case}:1:1: (document): larger than 1024 KiB "
                                     "(a case file is a few kB)"]


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)  # reading it would block forever
    status, lines, _ = _validate(fifo)
    assert status == 2 and lines == [f"{fifo}:1:1: (document): not a regular file"]


def test_a_symlink_loop_and_a_folder(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    for path in (loop, folder):
        status, lines, _ = _validate(path)
        assert status == 2 and lines == [f"{path}:1:1: (document): not a regular file"]


@pytest.mark.parametrize("levels", [9, 12])
def test_alias_bombs_end_in_well_under_a_second(tmp_path: Path, levels: int) -> None:
    case = tmp_path / "bomb.yaml"
    rows = [f"l0: &l0 [{', '.join(['lol'] * 10)}]"]
    rows += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    case.write_text(MINIMAL + "\n".join(rows) + "\n")
    tic = time.monotonic()
    with pytest.raises(Exception, match="aliases expand to more than 100000 items"):
        load_case(case)
    assert time.monotonic() - tic < 1.0


def test_control_characters_in_a_key_are_escaped(tmp_path: Path) -> None:
    case = tmp_path / "escape.yaml"
    case.write_text(MINIMAL + '"\\e[31mred\\e[0m": 1\n')
    status, lines, _ = _validate(case)
    assert status == 2 and len(lines) == 1
    assert "\x1b" not in lines[0] and "\\x1b[31mred\\x1b[0m" in lines[0], lines


def test_merge_keys_work_as_yaml_defines_them(tmp_path: Path) -> None:
    """`<<` merges mappings (YAML 1.1 merge key); keys written beside it override them, and
    nothing is reported as a duplicate."""
    merged = tmp_path / "merged.yaml"
    merged.write_text("anatomy: carotid\nphysics:\n  blood:\n"
                      "    <<: [{viscosity: 4 mPa*s}, {density: 1060 kg/m**3}]\n"
                      "    viscosity: 3.5 mPa*s\n")
    written = tmp_path / "written.yaml"
    written.write_text("anatomy: carotid\n"
                       "physics:\n  blood: {viscosity: 3.5 mPa*s, density: 1060 kg/m**3}\n")
    assert canonical_text(load_case(merged)) == canonical_text(load_case(written))
    doc = load_yaml_with_positions("a: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n")
    assert doc.data == {"a": {"x": 1, "y": 2}, "c": {"x": 3, "y": 2}} and not doc.duplicates
    assert doc.position(("c", "x")).line == 4


def test_negative_zero_is_zero_in_the_canonical_case(tmp_path: Path) -> None:
    base = (ROOT / "cases" / "verification" / "womersley.yaml").read_text()
    assert "pressure: 0 Pa" in base
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(base)
    b.write_text(base.replace("pressure: 0 Pa", "pressure: -0.0 Pa"))
    assert canonical_text(load_case(a)) == canonical_text(load_case(b))
    assert '"pressure": 0.0' in canonical_text(load_case(b))
