"""The destroy drain retires the managers before it stops their tasks (reaper/managers.py):
otherwise a manager still polling GitLab takes the next queued jobs in the seconds between
the drain and its group's delete, and that delete waits for them (up to the job timeout)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from parliament import analyze_policy_string

from components.ecs import reaper_resources
from components.ecs.reaper import handler as reaper
from components.ecs.reaper.managers import retire_managers
from components.offline.mocks import Plan
from tests.ecs.moto_account import FARGATE_CLUSTER, MANAGER_GROUP, SPOT_CLUSTER, FakeAccount
from tests.ecs.support import ASG, INVOCATION, ROLE_POLICY, named


class FakeAutoScaling:
    """Groups whose instances reach Terminating:Wait after `polls` describes."""

    def __init__(self, groups: dict[str, int], polls: int) -> None:
        self.groups = groups  # name -> instance count; a missing name is a deleted group
        self.polls = polls
        self.updates: list[dict[str, Any]] = []

    def update_auto_scaling_group(self, **kwargs: Any) -> None:
        if kwargs["AutoScalingGroupName"] not in self.groups:
            error = {"Code": "ValidationError", "Message": "AutoScalingGroup name not found"}
            raise ClientError({"Error": error}, "UpdateAutoScalingGroup")
        self.updates.append(kwargs)

    def get_paginator(self, name: str) -> FakeAutoScaling:
        assert name == "describe_auto_scaling_groups"
        return self

    def paginate(self, AutoScalingGroupNames: list[str]) -> list[dict[str, Any]]:
        self.polls -= 1
        state = "InService" if self.polls >= 0 else "Terminating:Wait"
        groups = [
            {
                "AutoScalingGroupName": name,
                "Instances": [
                    {"InstanceId": f"i-{name}-{n}", "LifecycleState": state}
                    for n in range(self.groups[name])
                ],
            }
            for name in AutoScalingGroupNames
        ]
        return [{"AutoScalingGroups": groups}]


def _retire(client: FakeAutoScaling, groups: list[str], wait: float = 60) -> dict[str, Any]:
    clock = iter(range(0, 10**6, 5))  # five seconds a poll
    slept: list[float] = []
    result = retire_managers(
        client,
        groups,
        lambda *a, **k: None,
        lambda: float(next(clock)),
        slept.append,
        5,
        wait_seconds=wait,
        settle_seconds=15,
    )
    result["slept"] = slept
    return result


def test_every_group_is_scaled_to_zero_and_the_drain_waits_until_they_take_no_job() -> None:
    client = FakeAutoScaling({"manager": 1, "manager-1": 2}, polls=3)
    result = _retire(client, ["manager", "gone", "manager-1"])
    assert client.updates == [
        {"AutoScalingGroupName": g, "MinSize": 0, "MaxSize": 0, "DesiredCapacity": 0}
        for g in ("manager", "manager-1")
    ]
    assert result["groups"] == ["manager", "manager-1"]  # a deleted group is skipped
    assert result["still_working"] == []
    # Polled while InService, then the settle time for the drain service's SIGQUIT.
    assert result["slept"][-1] == 15 and len(result["slept"]) >= 2


def test_a_manager_that_never_retires_does_not_hold_the_destroy() -> None:
    client = FakeAutoScaling({"manager": 1}, polls=10**6)
    result = _retire(client, ["manager"], wait=30)
    assert result["still_working"] == ["i-manager-0"]
    assert sum(result["slept"]) <= 30 + 15


def test_moto_destroy_drain_retires_the_group_then_stops_its_tasks(
    account: FakeAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REAPER_SETTLE_SECONDS", "0")
    account.manager_group(instances=1, launched_ago=timedelta(hours=1))
    account.run_task("job", FARGATE_CLUSTER, timedelta(minutes=10))
    drain_input = reaper_resources.drain_event([FARGATE_CLUSTER, SPOT_CLUSTER], [MANAGER_GROUP])
    event = {**drain_input, "tf": {"action": "delete", "prev_input": drain_input}}
    result = reaper.handler(event, None)
    group = account.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[MANAGER_GROUP])[
        "AutoScalingGroups"
    ][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 0, 0)
    assert result["stopped"] == [account.tasks["job"]]
    assert account.status("job") == "STOPPED"


def test_the_drain_names_the_groups_and_may_scale_only_them(ecs_sharded_plan: Plan) -> None:
    plan = ecs_sharded_plan
    groups = plan.all(ASG)
    drain = plan.one(INVOCATION)
    names = json.loads(drain.inputs["input"])["autoscaling_group_names"]
    assert sorted(names) == sorted(g.name for g in groups)
    assert {g.urn for g in groups} <= set(drain.dependencies)
    document = json.loads(named(plan, ROLE_POLICY, "ecs-reaper-policy")["policy"])
    (retire,) = [s for s in document["Statement"] if s["Sid"].startswith("Retire")]
    assert retire["Action"] == "autoscaling:UpdateAutoScalingGroup"
    assert len(groups) == 5
    # By the tag every group carries, to zero only (one ARN per shard outgrew IAM's limit).
    assert retire["Resource"] == (
        "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*"
    )
    assert retire["Condition"] == {
        "StringEquals": {"aws:ResourceTag/gitlab-runner-managers": "gitlab-runners-dev"},
        "NumericEquals": {"autoscaling:MinSize": "0", "autoscaling:MaxSize": "0"},
    }
    for group in groups:
        tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
        assert tags["gitlab-runner-managers"] == "gitlab-runners-dev"
    findings = analyze_policy_string(json.dumps({**document, "Statement": [retire]})).findings
    assert findings == []


def test_every_retire_call_meets_the_policys_size_condition() -> None:
    """The drain's grant holds only for requests that set MinSize and MaxSize to 0: a call
    that left one out (or resized instead) would be denied in the middle of a destroy."""
    statement = reaper_resources.retire_statement(
        "arn:aws:ecs:eu-west-1:123456789012:cluster/gitlab-runners-dev", "k", "v"
    )
    wanted = {
        key.removeprefix("autoscaling:"): int(value)
        for key, value in statement["Condition"]["NumericEquals"].items()
    }
    autoscaling = FakeAutoScaling({"a": 1, "b": 2}, polls=1)
    retire_managers(autoscaling, ["a", "b"], lambda *a, **k: None, lambda: 0.0, lambda s: None, 1)
    assert len(autoscaling.updates) == 2
    for call in autoscaling.updates:
        assert {key: call.get(key) for key in wanted} == wanted
