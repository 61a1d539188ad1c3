"""Hypothesis: broken case documents give CaseError lines, never another exception."""

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from twinflow.case.load import validate_document
from twinflow.case.yamlpos import YamlSyntaxError, load_yaml_with_positions
from twinflow.errors import CaseError

LINE = re.compile(r"^case\.yaml:\d+:\d+: \S+: .+$")
SEEDS = [yaml.safe_load((ROOT / "cases" / n).read_text())
         for n in ("carotid-demo.yaml", "lv-demo.yaml", "minimal.yaml")]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["12 kg", "-3 mm", "1e400 Pa", "3 mmHgg", "nan Pa", "0 s", "abc",
                     "60 deg", "1/0", "[", "mmHg", "2 ** 5000 m", "carotid", "guccione"]),
)
values = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=8), kids, max_size=3)),
    max_leaves=8)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def broken_documents(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        targets = [p for p in paths(doc) if p]
        if not targets:
            break
        target = draw(st.sampled_from(targets))
        parent = doc
        for part in target[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[target[-1]] = draw(values)
        elif action == "delete":
            del parent[target[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return yaml.safe_dump(doc, allow_unicode=True)


def check(text: str) -> None:
    try:
        doc = load_yaml_with_positions(text)
    except YamlSyntaxError:
        return
    try:
        validate_document(doc, "case.yaml", base_dir=Path("."), root=ROOT)
    except CaseError as err:
        for line in err.lines:
            assert LINE.match(line), line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_documents())
def test_broken_documents_never_raise_anything_else(text: str) -> None:
    check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_raises_anything_else(text: str) -> None:
    check(text)


def test_key_with_trailing_newline_is_quoted() -> None:
    """Found by the fuzzer: ``re.match`` with ``$`` accepted "0\\n" as a plain key."""
    check("? '0\n\n  '\n: null\nanatomy: carotid\n")
    from twinflow.case.load import format_path

    assert format_path(("physics", "0\n")) == 'physics["0\\n"]'
