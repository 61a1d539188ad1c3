"""envs/*.yaml (the conda environments of the rules' ``conda:``) agree with pyproject.toml.

Every package of an environment that pyproject.toml also names must ask for a version range
inside pyproject's (lower bound at least pyproject's, upper bound at most pyproject's), so a
conda deployment never runs a version the pip set-up excludes. Names differ between the two
where conda-forge splits a project (:data:`CONDA_TO_PYPI`); the packages that pyproject does
not name directly are listed with their reason (:data:`ENV_ONLY`). Every rule that runs a
command has a ``conda:`` naming one of these files.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import ROOT

#: conda-forge name -> PyPI name (where they differ).
CONDA_TO_PYPI = {"python-gmsh": "gmsh"}  # conda-forge's `gmsh` is the C++ app alone
#: Environment packages pyproject.toml does not list, and why.
ENV_ONLY = {
    "python": "requires-python",
    "pip": "installs the pip: section",
    "mpich": "the MPICH of dolfinx-solver-real (its dependency, mpich>=5,<6 on PyPI)",
}
#: pyproject dependencies no rule environment needs, and why.
NOT_IN_ENVS = {"snakemake": "runs the workflow, outside the jobs",
               "snakemake-executor-plugin-slurm": "submits the jobs, outside them",
               "psutil": "twinflow run/status look for live runs, outside the jobs",
               "tabulate": "twinflow status prints its table, outside the jobs"}
ENVS = sorted((ROOT / "envs").glob("*.yaml"))


def _pyproject() -> dict[str, SpecifierSet]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = {r.name.lower(): r.specifier for r in map(Requirement, meta["dependencies"])}
    reqs["python"] = SpecifierSet(meta["requires-python"])
    return reqs


def _packages(env: Path) -> dict[str, SpecifierSet]:
    """name (PyPI spelling) -> version range of every conda and pip entry of ``env``."""
    out: dict[str, SpecifierSet] = {}
    for dep in yaml.safe_load(env.read_text())["dependencies"]:
        for spec in dep["pip"] if isinstance(dep, dict) else [dep]:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", spec.split("#")[0].strip())
            assert match, (env.name, spec)
            name = CONDA_TO_PYPI.get(match[1].lower(), match[1].lower())
            out[name] = SpecifierSet(match[2].replace(" ", ""))
    return out


def _bounds(spec: SpecifierSet) -> tuple[Version | None, Version | None]:
    """(inclusive lower, exclusive upper) of a ``>=A,<B`` range."""
    assert all(s.operator in (">=", "<") for s in spec), spec
    low = [Version(s.version) for s in spec if s.operator == ">="]
    high = [Version(s.version) for s in spec if s.operator == "<"]
    return max(low, default=None), min(high, default=None)


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_environment_ranges_lie_inside_pyproject(env: Path) -> None:
    pyproject = _pyproject()
    for name, spec in _packages(env).items():
        if name not in pyproject:
            assert name in ENV_ONLY, f"{env.name}: {name} is not in pyproject.toml"
            continue
        (low, high), (p_low, p_high) = _bounds(spec), _bounds(pyproject[name])
        assert low is not None and high is not None, f"{env.name}: {name} {spec}: no range"
        assert p_low is None or low >= p_low, f"{env.name}: {name} {spec} vs {pyproject[name]}"
        assert p_high is None or high <= p_high, f"{env.name}: {name} {spec} vs {pyproject[name]}"


def test_every_dependency_is_in_an_environment() -> None:
    named = set().union(*(_packages(env) for env in ENVS))
    assert set(_pyproject()) - named == set(NOT_IN_ENVS)


def test_every_rule_with_a_command_names_an_environment() -> None:
    envs = {p.stem for p in ENVS}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for rule in re.split(r"\n(?=rule )", smk.read_text())[1:]:
            name = rule.split(":")[0].removeprefix("rule ")
            if "    shell:" in rule:
                used = re.search(r'    conda:\n\s+ENVS\["(\w+)"\]', rule)
                assert used and used[1] in envs, f"{smk.name}: rule {name} has no conda env"
