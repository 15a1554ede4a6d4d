"""`logRetentionDays` reaches every log group the program creates, in both modes.

The key's description (components/config/schema.py) promises it for job, manager and Fargate
pod logs. A group created without `retention_in_days` keeps its events forever (CloudWatch
Logs API reference, PutRetentionPolicy: "by default, log events do not expire"), and so does
a group a service creates itself, which is why the program creates the EKS control plane and
Fargate groups (components/eks/fargate_logging.py: `auto_create_group false`)."""

from __future__ import annotations

import pytest

from components.offline.mocks import Plan
from tests.harness import dev_config, run_program

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RETENTION = 14  # not the default (30): a hard-coded default would pass unnoticed
# The groups that must follow the key in each mode (jobs, managers, Fargate pods), by name.
REQUIRED = {
    "ecs": {"/gitlab-runners-dev/jobs", "/gitlab-runners-dev/manager"},
    "eks": {
        "/aws/eks/gitlab-runners-dev/fargate",
        "/aws/eks/gitlab-runners-dev/cluster",
    },
}


@pytest.fixture(scope="module", params=["ecs", "eks"])
def retention_plan(request: pytest.FixtureRequest) -> tuple[str, Plan]:
    mode = request.param
    return mode, run_program(dev_config(mode=mode, logRetentionDays=str(RETENTION)))


def test_every_log_group_keeps_the_configured_days(retention_plan: tuple[str, Plan]) -> None:
    mode, plan = retention_plan
    groups = {r.inputs["name"]: r.inputs.get("retentionInDays") for r in plan.all(LOG_GROUP)}
    assert REQUIRED[mode] <= set(groups), sorted(groups)
    assert {name: days for name, days in groups.items() if days != RETENTION} == {}
