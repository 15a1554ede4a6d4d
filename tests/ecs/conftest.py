"""ECS plans beyond the example stack, evaluated once per session (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.offline.mocks import Plan
from tests.ecs.moto_account import FakeAccount, moto_account
from tests.ecs.support import EXISTING_VPC, TASK_ROLE_POLICY
from tests.harness import dev_config, shared_plan


@pytest.fixture(scope="session")
def ecs_existing_vpc_plan() -> Plan:
    """One on-demand runner in an existing VPC, a task role and environment on a non-default
    entry, a self-managed GitLab on a custom port, Container Insights on."""
    config = dev_config(
        gitlabUrl="https://gitlab.example.com:8443",
        runners=[{"name": "build", "tags": ["build", "aws"], "concurrency": 5}],
        network=EXISTING_VPC,
    )
    config["ecs"] = {
        **config["ecs"],
        "containerInsights": True,
        "taskDefinitions": [
            *config["ecs"]["taskDefinitions"][:1],
            {
                **config["ecs"]["taskDefinitions"][1],
                "taskRolePolicyArns": [TASK_ROLE_POLICY],
                "environment": {"TZ": "UTC", "NODE_ENV": "test"},
            },
        ],
    }
    return shared_plan(config)


@pytest.fixture(scope="session")
def ecs_sharded_plan() -> Plan:
    """1000 concurrent jobs over three runners (one spot), three zones, the default cap."""
    config = dev_config(
        runners=[
            {"name": "build", "concurrency": 500},
            {"name": "test", "concurrency": 301},
            {"name": "spot", "lane": "spot", "concurrency": 199},
        ]
    )
    config["network"] = {**config["network"], "availabilityZones": 3, "vpcCidr": "10.42.0.0/16"}
    return shared_plan(config)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAccount]:
    """The task reaper's moto account (tests/ecs/moto_account.py)."""
    yield from moto_account(monkeypatch)
