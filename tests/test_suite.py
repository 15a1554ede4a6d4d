"""How the suite itself runs: it must stay under 60 s on a 2-core machine (issue 22)."""

from __future__ import annotations

import gc
import tomllib

from tests.conftest import GC_THRESHOLDS
from tests.harness import ROOT


def test_the_suite_runs_on_two_workers_one_module_each() -> None:
    """`bash scripts/test` and CI run plain `pytest`: the workers come from addopts, and
    pytest-xdist from the requirements the script installs."""
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert pytest_options["ini_options"]["addopts"].split() == ["-n", "2", "--dist", "loadscope"]
    requirements = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert any(line.startswith("pytest-xdist>=") for line in requirements)


def test_collections_are_rare_while_plans_are_evaluated() -> None:
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0
