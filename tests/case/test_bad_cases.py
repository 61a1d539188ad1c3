"""Every kind of user mistake gives one-line errors FILE:LINE:COL: key.path: message, exit 2.

Each file under tests/case/bad/ states on its first line what it must produce:
``# expect: LINE key.path: message fragment``.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from twinflow.cli import main

BAD = sorted((ROOT / "tests" / "case" / "bad").glob("*.yaml"))
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): (?P<msg>.+)$")


def expectation(path: Path) -> tuple[int, str, str]:
    m = re.match(r"# expect: (\d+) (\S+): (.+)", path.read_text().splitlines()[0])
    assert m, f"{path.name} lacks its '# expect:' line"
    return int(m.group(1)), m.group(2), m.group(3)


def test_there_are_at_least_30_error_kinds() -> None:
    assert len(BAD) >= 30


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_case_gives_one_line_error(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rel = path.relative_to(ROOT).as_posix()
    status = main(["validate", rel])
    out, err = capsys.readouterr()
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines, "no error printed"
    for line in lines:
        assert LINE.match(line), f"not FILE:LINE:COL: key: message: {line!r}"
    want_line, want_path, want_msg = expectation(path)
    matching = [m for m in map(LINE.match, lines)
                if m and m["path"] == want_path and want_msg in m["msg"]]
    assert matching, f"expected '{want_path}: ...{want_msg}...' in {lines}"
    assert matching[0]["file"] == rel
    assert int(matching[0]["line"]) == want_line, lines


def test_cli_exit_status_and_no_traceback_in_a_real_process() -> None:
    proc = run_cli("validate", *(p.relative_to(ROOT).as_posix() for p in BAD))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) >= len(BAD)


def test_missing_case_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such/case.yaml"]) == 2
    assert "no/such/case.yaml:1:1: (document): no such case file" in capsys.readouterr().err
