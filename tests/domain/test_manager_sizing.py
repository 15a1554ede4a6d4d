"""The capacity estimate for any manager type agrees with the sized types' table."""

from __future__ import annotations

import pytest

from components.domain.manager_sizing import estimated_max_jobs
from components.ecs.sizing import MANAGER_TYPES, ManagerType


@pytest.mark.parametrize("kind", MANAGER_TYPES, ids=lambda k: k.name)
def test_the_estimate_agrees_with_the_sized_manager_types(kind: ManagerType) -> None:
    assert estimated_max_jobs(kind.name) == kind.max_jobs


@pytest.mark.parametrize(
    ("kind", "jobs"), [("t3.nano", 0), ("t3.micro", 3), ("c6i.large", 50), ("x2iedn.xlarge", None)]
)
def test_small_and_unknown_types(kind: str, jobs: int | None) -> None:
    assert estimated_max_jobs(kind) == jobs
