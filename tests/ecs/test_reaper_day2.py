"""Day-2 edits and the task reaper: what it sees while `pulumi up` removes a shard or the spot
lane, proved with the engine-order model (components/offline/order.py) and the reaper's own
code (Settings, live_managers, decide) on the recorded plans before and after the edit.

The engine applies every create and update of an edit before it deletes what left the
program (order.py; pulumi/pulumi pkg/resource/deploy/step_generator.go): the reaper's new
schedule input and environment are live while a removed shard's group still exists and its
manager drains (up to the job timeout, through its termination hook).
"""

from __future__ import annotations

import copy
import functools
import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from components.ecs import manager
from components.ecs.reaper import handler as reaper
from components.ecs.reaper import instances
from components.ecs.reaper.decisions import KEEP, STOP, LiveManager, TaskInfo, decide
from components.offline.mocks import Plan
from components.offline.order import removal
from tests.ecs.support import (
    ASG,
    CAPACITY,
    CLUSTER,
    INVOCATION,
    LAUNCH_TEMPLATE,
    actions,
    named,
    policy_document,
    resources,
    statement_for,
)
from tests.harness import run_program
from tests.offline.test_day2 import EDITS, _base, plans

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TIMEOUT, MARGIN = 3600, 900
FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"
SPOT_CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/gitlab-runners-dev-spot"


# --------------------------------------------------------------------------------------------
# An account as the reaper's boto3 clients see it while the update runs.
# --------------------------------------------------------------------------------------------


@dataclass
class Account:
    """Auto Scaling groups (their recorded tags) and their instances (launch time and the
    tags of the launch template version they started from)."""

    groups: list[dict[str, Any]] = field(default_factory=list)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, plan: Plan, group: str, launched: datetime) -> None:
        asg = plan.named(group)
        template = named(plan, LAUNCH_TEMPLATE, group.removesuffix("-asg") + "-lt")
        instance = f"i-{len(self.instances):017d}"
        tags = template["tagSpecifications"][0]["tags"]
        self.instances[instance] = {
            "InstanceId": instance,
            "LaunchTime": launched,
            "State": {"Name": "running"},
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        self.groups.append(
            {
                "AutoScalingGroupName": asg.name,
                "Tags": [{"Key": t["key"], "Value": t["value"]} for t in asg.inputs["tags"]],
                "Instances": [{"InstanceId": instance}],
            }
        )

    # boto3's paginator interface, for the two calls the reaper makes.
    def get_paginator(self, operation: str) -> Account:
        self._operation = operation
        return self

    def paginate(self, **query: Any) -> Iterator[dict[str, Any]]:
        if self._operation == "describe_instances":
            wanted = [self.instances[i] for i in query["InstanceIds"]]
            yield {"Reservations": [{"Instances": wanted}]}
            return
        found = self.groups
        if "AutoScalingGroupNames" in query:
            found = [
                g for g in found if g["AutoScalingGroupName"] in query["AutoScalingGroupNames"]
            ]
        for selector in query.get("Filters", []):
            key = selector["Name"].removeprefix("tag:")
            found = [
                g
                for g in found
                if any(t["Key"] == key and t["Value"] in selector["Values"] for t in g["Tags"])
            ]
        yield {"AutoScalingGroups": found}


def reaper_view(plan: Plan, account: Account) -> list[LiveManager] | None:
    """The managers the plan's reaper finds: its schedule input and environment, its code."""
    event = json.loads(plan.one(SCHEDULE).inputs["target"]["input"])
    env = plan.one(FUNCTION).inputs["environment"]["variables"]
    return reaper.live_managers(account, account, reaper.Settings.load(event, env))


def task_in(plan: Plan, shard: int, created: datetime) -> TaskInfo:
    """A job task as shard `shard`'s driver starts it: in its fargate.toml's subnet."""
    key = "" if shard == 0 else f"manager-{shard}:"
    toml = tomllib.loads(plan.rendered_files[f"{key}/etc/gitlab-runner/fargate-fargate.toml"])
    return TaskInfo(
        arn=f"task-of-manager-{shard}",
        cluster=toml["Fargate"]["Cluster"],
        last_status="RUNNING",
        desired_status="RUNNING",
        created_at=created,
        subnet=toml["Fargate"]["Subnet"],
    )


# --------------------------------------------------------------------------------------------
# Issue 22 item 1: removing a shard while refreshing the survivors.
# --------------------------------------------------------------------------------------------


@functools.cache
def shard_drop_with_runner_bump() -> Plan:
    """The 1000 -> 600 drop plus a runner version bump: the survivors are refreshed too."""
    config = copy.deepcopy(_base("ecs"))
    EDITS["concurrency 1000 -> 600"](config)
    config["ecs"]["runnerVersion"] = "18.10.0"
    return run_program(config)


def test_removing_a_shard_while_refreshing_the_others_keeps_the_leaving_managers_jobs() -> None:
    """1000 -> 600 jobs and a runner version bump: shards 3 and 4 go, shards 0-2 get new user
    data (an instance refresh: new managers). While the removed groups drain, the reaper runs
    with the updated schedule and function; it must still count their managers, or it stops
    their running jobs as orphans (every surviving manager launched after those jobs
    began). It finds the groups by tag (as the managers' lifecycle policy does,
    components/ecs/iam.py): the removed groups keep theirs until deleted."""
    before, after = plans("ecs", "concurrency 1000 -> 600")[0], shard_drop_with_runner_bump()
    leaving = [r.name for wave in removal(before, after) for r in wave if r.type == ASG]
    assert sorted(leaving) == ["ecs-manager-3-asg", "ecs-manager-4-asg"]
    account = Account()
    for group in (g.name for g in after.all(ASG)):  # refreshed: new managers, new templates
        assert (
            named(before, LAUNCH_TEMPLATE, group[:-4] + "-lt")["userData"]
            != named(after, LAUNCH_TEMPLATE, group[:-4] + "-lt")["userData"]
        )
        account.add(after, group, NOW - timedelta(minutes=3))
    for group in leaving:  # still draining: the managers of before, launched hours ago
        account.add(before, group, NOW - timedelta(hours=3))
    jobs = [task_in(before, shard, NOW - timedelta(minutes=40)) for shard in (3, 4)]

    managers = reaper_view(after, account)

    assert managers is not None and len(managers) == 5
    decisions = decide(jobs, managers, NOW, TIMEOUT, MARGIN)
    assert [(d.task, d.action) for d in decisions] == [
        ("task-of-manager-3", KEEP),
        ("task-of-manager-4", KEEP),
    ], [d.reason for d in decisions]


def test_reap_without_a_tagged_group_only_applies_the_time_rule() -> None:
    """A wrong tag must not kill running jobs: no group found means managers unknown."""
    settings = reaper.Settings.load({}, {"REAPER_CLUSTERS": "c", "REAPER_MANAGER_GROUP_TAG": "k=v"})
    assert reaper.live_managers(Account(), Account(), settings) is None


def test_the_reaper_may_find_the_managers_by_tag() -> None:
    """DescribeAutoScalingGroups (with its tag filter) and DescribeInstances (which returns
    each instance's tags) have no resource-level permissions (Service Authorization
    Reference: no resource type listed; parliament's copy agrees), so "*" is the scope."""
    from parliament import iam_definition

    _, after = plans("ecs", "concurrency 1000 -> 600")
    document = policy_document(after, "ecs-reaper-policy")
    for action in ("autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"):
        assert resources(statement_for(document, action)) == ["*"]
        prefix, name = action.split(":")
        service = next(s for s in iam_definition if s["prefix"] == prefix)
        (privilege,) = [p for p in service["privileges"] if p["privilege"] == name]
        assert [r["resource_type"] for r in privilege["resource_types"]] == [""], action
    # Nothing else of the reaper's is "*" but ListTasks (bound by ecs:cluster).
    stars = {a for s in document["Statement"] if s["Resource"] == "*" for a in actions(s)}
    assert stars == {
        "ecs:ListTasks",
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstances",
    }


# --------------------------------------------------------------------------------------------
# Issue 22 item 2: a lost manager's tasks with two or more shards.
# --------------------------------------------------------------------------------------------


def test_a_lost_managers_tasks_are_orphaned_though_another_shard_is_older() -> None:
    """Two shards, each starting its tasks in its own subnet (sizing.shard_subnet). Shard 1's
    manager died and was replaced 10 minutes ago; shard 0's has run for a day. Its lost job
    is compared with shard 1's managers only: stopped at once, not after job timeout + margin
    (75 minutes). Shard 0's running job stays."""
    managers = [
        LiveManager(NOW - timedelta(days=1), frozenset({"subnet-a"})),
        LiveManager(NOW - timedelta(minutes=10), frozenset({"subnet-b"})),
    ]
    lost = TaskInfo(
        "lost", "c", "RUNNING", "RUNNING", NOW - timedelta(minutes=20), subnet="subnet-b"
    )
    kept = TaskInfo(
        "kept", "c", "RUNNING", "RUNNING", NOW - timedelta(minutes=20), subnet="subnet-a"
    )
    decisions = {d.task: d for d in decide([lost, kept], managers, NOW, TIMEOUT, MARGIN)}
    assert decisions["lost"].action == STOP
    assert decisions["lost"].reason.startswith("orphaned")
    assert decisions["kept"].action == KEEP
    # A manager that names no subnets (launched before the tag) may own any task.
    legacy = [LiveManager(NOW - timedelta(days=1)), managers[1]]
    (decision,) = decide([lost], legacy, NOW, TIMEOUT, MARGIN)
    assert decision.action == KEEP


def test_each_manager_names_the_one_subnet_of_its_tasks() -> None:
    """What the driver leaves on a task: its cluster, task definition, ONE subnet and ONE
    security group from fargate.toml; no startedBy, tags or group of ours (gitlab-org/ci-cd/
    custom-executor-drivers/fargate, aws/fargate.go awsFargate.RunTask builds RunTaskInput
    from TaskDefinition, Cluster, NetworkConfiguration, Overrides and PlatformVersion only).
    So the subnet attributes a task: with several managers each uses one subnet for every
    runner, and its instances carry it in TASK_SUBNETS_TAG for the reaper."""
    _, plan = plans("ecs", "concurrency 40 -> 1000")
    groups = plan.all(ASG)
    assert len(groups) == 5
    subnets = {}
    for shard in range(len(groups)):
        key = "" if shard == 0 else f"manager-{shard}:"
        tomls = [
            v
            for k, v in plan.rendered_files.items()
            if k.startswith(f"{key}/etc/gitlab-runner/fargate-")
        ]
        used = {tomllib.loads(t)["Fargate"]["Subnet"] for t in tomls}
        suffix = "" if shard == 0 else f"-{shard}"
        template = named(plan, LAUNCH_TEMPLATE, f"ecs-manager{suffix}-lt")
        (instance,) = [s for s in template["tagSpecifications"] if s["resourceType"] == "instance"]
        assert instance["tags"][manager.TASK_SUBNETS_TAG].split() == sorted(used)
        assert len(used) == 1
        subnets[shard] = used.pop()
    # Two private subnets: shards 0, 2, 4 share one, shards 1 and 3 the other.
    assert subnets[0] != subnets[1] and subnets[0] == subnets[2] == subnets[4]
    assert manager.TASK_SUBNETS_TAG == instances.TASK_SUBNETS_TAG


def test_task_subnet_comes_from_its_network_interface() -> None:
    raw = {
        "taskArn": "t",
        "attachments": [
            {
                "type": "ElasticNetworkInterface",
                "details": [
                    {"name": "subnetId", "value": "subnet-0abc"},
                    {"name": "networkInterfaceId", "value": "eni-1"},
                ],
            }
        ],
    }
    assert TaskInfo.from_api(raw).subnet == "subnet-0abc"


# --------------------------------------------------------------------------------------------
# Issue 22 item 3: the spot lane leaves while the old managers still serve it.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", ["switch a runner's lane", "remove a runner"])
def test_the_spot_cluster_outlives_the_last_spot_runner(edit: str) -> None:
    """The only spot runner moves to `fargate` (or goes). The update narrows nothing the old
    managers still need while they drain their spot jobs: the manager policy keeps RunTask,
    DescribeTasks and StopTask on the spot cluster (else finished jobs leave their tasks
    running), the reaper and the destroy drain keep watching it, and no cluster is deleted
    (ECS refuses to delete a cluster with tasks: DeleteCluster ClusterContainsTasksException,
    so `pulumi up` would wait on them and fail)."""
    before, after = plans("ecs", edit)
    assert any(r["lane"] == "spot" for r in before.outputs["runners"])
    assert all(r["lane"] != "spot" for r in after.outputs["runners"])
    gone = {r.type for wave in removal(before, after) for r in wave}
    assert not gone & {CLUSTER, CAPACITY}
    policy = policy_document(after, "ecs-manager-policy")
    for action in ("ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks"):
        statement = statement_for(policy, action)
        assert SPOT_CLUSTER in statement["Condition"]["ArnEquals"]["ecs:cluster"], action
    stop = statement_for(policy, "ecs:StopTask")
    assert "ecs:StopTask" in actions(stop)
    assert SPOT_CLUSTER.replace(":cluster/", ":task/") + "/*" in resources(stop)
    env = after.one(FUNCTION).inputs["environment"]["variables"]
    assert SPOT_CLUSTER in env["REAPER_CLUSTERS"].split(",")
    drain = json.loads(after.one(INVOCATION).inputs["input"])
    assert SPOT_CLUSTER in drain["clusters"]
