"""The shipped case files validate and point editors at the generated schema."""

from pathlib import Path

import pytest

from tests.conftest import ROOT
from twinflow.case import load_case
from twinflow.case.schema import stale_schemas

CASES = sorted((ROOT / "cases").rglob("*.yaml"))


def test_cases_exist() -> None:
    names = {p.stem for p in CASES}
    assert {"carotid-demo", "lv-demo", "minimal"} <= names


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_case_validates_and_declares_schema(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert schema == ROOT / "schemas" / "case.schema.json"
    load_case(path.relative_to(ROOT), root=ROOT)


def test_lv_demo_has_a_drug_arm() -> None:
    case = load_case(ROOT / "cases" / "lv-demo.yaml", root=ROOT).root
    drugs = {s.drug for s in case.scenarios}
    assert drugs == {None, "sacubitril-valsartan"}


def test_schemas_are_up_to_date() -> None:
    assert stale_schemas(ROOT / "schemas") == [], "run 'twinflow schema'"


def test_schema_check_detects_a_stale_file(tmp_path: Path) -> None:
    from twinflow.case.schema import write_schemas

    write_schemas(tmp_path)
    assert stale_schemas(tmp_path) == []
    (tmp_path / "case.schema.json").write_text("{}\n")
    assert stale_schemas(tmp_path) == ["case.schema.json"]
