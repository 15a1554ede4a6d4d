"""Plans with observability on (both modes, each notification variant) and off."""

from __future__ import annotations

import pytest

from components.offline.mocks import Plan
from tests.harness import dev_config, shared_plan

EMAIL = "platform-team@example.com"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:platform-alerts"


@pytest.fixture(scope="session")
def ecs_email_plan() -> Plan:
    return shared_plan(dev_config(alerts={"email": EMAIL}))


@pytest.fixture(scope="session")
def eks_email_plan() -> Plan:
    return shared_plan(dev_config(mode="eks", alerts={"email": EMAIL}))


@pytest.fixture(scope="session")
def eks_topic_plan() -> Plan:
    return shared_plan(dev_config(mode="eks", alerts={"snsTopicArn": TOPIC}))


@pytest.fixture(scope="session", params=["ecs", "eks"])
def mode_plan(request: pytest.FixtureRequest, ecs_email_plan: Plan, eks_topic_plan: Plan) -> Plan:
    return ecs_email_plan if request.param == "ecs" else eks_topic_plan


@pytest.fixture(scope="session", params=["ecs", "eks"])
def disabled_plan(request: pytest.FixtureRequest) -> Plan:
    return shared_plan(dev_config(mode=request.param, observability={"enabled": False}))
