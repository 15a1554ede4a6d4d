"""How the suite itself runs: it must stay under 60 s on a 2-core machine (issue 22)."""

from __future__ import annotations

import gc
import tomllib

import pytest

from tests.conftest import GC_THRESHOLDS, RUN_FIRST, _first_rank
from tests.harness import ROOT


def test_the_suite_runs_on_two_workers_one_module_each() -> None:
    """`bash scripts/test` and CI run plain `pytest`: the workers come from addopts, and
    pytest-xdist from the requirements the script installs."""
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    addopts = pytest_options["ini_options"]["addopts"].split()
    assert addopts == ["-n", "2", "--dist", "loadscope", "--no-loadscope-reorder"]
    requirements = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert any(line.startswith("pytest-xdist>=") for line in requirements)


def test_the_slowest_modules_are_handed_out_first(request: pytest.FixtureRequest) -> None:
    """Each entry of RUN_FIRST names modules that exist (a renamed one would drift back to the
    end unnoticed), and the session's modules run in RUN_FIRST's order, then the others."""
    assert all((ROOT / prefix).exists() for prefix in RUN_FIRST)
    modules = dict.fromkeys(item.nodeid.split("::")[0] for item in request.session.items)
    ranks = [_first_rank(module) for module in modules]
    assert ranks == sorted(ranks)


def test_collections_are_rare_while_plans_are_evaluated() -> None:
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0
