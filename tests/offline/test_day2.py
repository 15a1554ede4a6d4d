"""Day-2 edits must not replace the network, the EKS cluster, its Fargate profiles, or anything
whose delete has a side effect, must not remove the network, and must create or delete no
Fargate profile (adding or removing a runner, moving the managers to EC2).

Each edit is evaluated under the recording mocks next to the unedited example stack (or the
stack it starts from, STARTS_FROM) and the engine-order model (components/offline/order.py)
says what the engine would replace and remove. A new subnet CIDR, a moved NAT gateway or a
changed profile selector fails here, and so does an edit that breaks an order invariant
(tests/offline/invariants.py): egress kept until what needs it is gone, drains first, the
cluster's API (and its 443 rules) kept until every Kubernetes object is gone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from components.offline.mocks import Plan
from components.offline.order import REPLACEMENT_INPUTS, removal, replacements
from tests.harness import dev_config, run_program, sentinel, shared_plan
from tests.offline.invariants import (
    GROUP,
    alarms_go_first,
    api_outlives_objects,
    drains_first,
    egress_outlives,
    no_side_effect_replacements,
    removed_groups_drain,
    runners_outlive_drains,
)

NETWORK_TYPES = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
}
Edit = Callable[[dict[str, Any]], None]


def _concurrency_40_to_1000(config: dict[str, Any]) -> None:
    assert sum(r["concurrency"] for r in config["runners"]) == 40
    for runner in config["runners"]:
        runner["concurrency"] = 500


def _add_runner(config: dict[str, Any]) -> None:
    config["runners"].append({"name": "extra", "tags": ["extra"], "concurrency": 10})
    config["runnerTokens"]["extra"] = sentinel("extra")


def _remove_runner(config: dict[str, Any]) -> None:
    removed = config["runners"].pop()
    del config["runnerTokens"][removed["name"]]


def _manager_placement_ec2(config: dict[str, Any]) -> None:
    config["eks"] = {**(config.get("eks") or {}), "managerPlacement": "ec2"}


def _add_task_definition(config: dict[str, Any]) -> None:
    config["ecs"]["taskDefinitions"].append(
        {
            "name": "python",
            "image": "public.ecr.aws/docker/library/python:3.13",
            "cpu": 512,
            "memory": 1024,
        }
    )


def _bump_versions(config: dict[str, Any]) -> None:
    config["ecs"]["runnerVersion"] = "18.10.0"
    config["eks"] = {"runnerChartVersion": "0.87.0", "karpenterVersion": "1.14.2"}


def _change_retention(config: dict[str, Any]) -> None:
    config["logRetentionDays"] = 90


def _switch_lane(config: dict[str, Any]) -> None:
    config["runners"][1]["lane"] = "fargate"


def _rotate_token(config: dict[str, Any]) -> None:
    config["runnerTokens"]["fargate"] = sentinel("fargate-rotated")


def _change_catalogue_image(config: dict[str, Any]) -> None:
    config["ecs"]["taskDefinitions"][0]["image"] = "public.ecr.aws/docker/library/debian:13"


def _change_ami_parameter(config: dict[str, Any]) -> None:
    config["ecs"]["managerAmiParameter"] = (
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.12-x86_64"
    )


def _change_job_timeout(config: dict[str, Any]) -> None:
    config["ecs"]["jobTimeoutSeconds"] = 5400  # a new heartbeat for every manager's hook


def _drop_concurrency(config: dict[str, Any]) -> None:
    """From the 1000-job stack (5 managers) down to 600 jobs: two manager shards go."""
    _concurrency_40_to_1000(config)
    for runner in config["runners"]:
        runner["concurrency"] = 300


def _observability_off(config: dict[str, Any]) -> None:
    config["observability"] = {"enabled": False}


def _arm64_runner(config: dict[str, Any]) -> None:
    """The spot runner's jobs move to Graviton nodes: its pool admits arm64 too."""
    assert config["runners"][1]["lane"] == "spot"
    config["runners"][1]["architecture"] = "arm64"


def _private_endpoint(config: dict[str, Any]) -> None:
    config["eks"] = {
        **(config.get("eks") or {}),
        "endpointAccess": "private",
        "privateAccessCidrs": ["10.100.0.0/16"],
    }


def _add_privileged_runner(config: dict[str, Any]) -> None:
    """A runner on the last lane: a Docker-in-Docker NodePool, node class and role."""
    config["runners"].append(
        {"name": "docker", "lane": "privileged", "tags": ["docker"], "concurrency": 5}
    )
    config["runnerTokens"]["docker"] = sentinel("docker")


def _alerts_off(config: dict[str, Any]) -> None:
    del config["alerts"]


def _alerts_topic_instead(config: dict[str, Any]) -> None:
    """From the email topic to an existing one: the stack's topic and subscription go."""
    config["alerts"] = {"snsTopicArn": "arn:aws:sns:eu-west-1:123456789012:platform-alerts"}


EDITS: dict[str, Edit] = {
    "concurrency 40 -> 1000": _concurrency_40_to_1000,
    "add a runner": _add_runner,
    "remove a runner": _remove_runner,
    "switch managerPlacement to ec2": _manager_placement_ec2,
    "add a task definition": _add_task_definition,
    "bump versions": _bump_versions,
    "change log retention": _change_retention,
    "switch a runner's lane": _switch_lane,
    "rotate a runner token": _rotate_token,
    "change a catalogue image": _change_catalogue_image,
    "change the manager AMI parameter": _change_ami_parameter,
    "change the job timeout": _change_job_timeout,
    "concurrency 1000 -> 600": _drop_concurrency,
    "turn observability off": _observability_off,
    "arm64 jobs for a runner": _arm64_runner,
    "switch the API endpoint to private": _private_endpoint,
    "add a privileged runner": _add_privileged_runner,
    "turn alerts off": _alerts_off,
    "alerts to an existing topic": _alerts_topic_instead,
}
# Edits whose "before" is the stack after another edit (a drop needs shards to drop).
STARTS_FROM: dict[str, str] = {"concurrency 1000 -> 600": "concurrency 40 -> 1000"}
# Keys only ECS mode reads: in EKS mode they change nothing worth a case.
ECS_ONLY = {
    "add a task definition",
    "change a catalogue image",
    "change the manager AMI parameter",
    "change the job timeout",
}


def _base(mode: str) -> dict[str, Any]:
    """The example stack with alerts.email on: no edit may replace its subscription (the
    successor would wait for a confirmation, and alarms would notify nobody meanwhile)."""
    return dev_config(mode=mode, alerts={"email": "platform-team@example.com"})


_PLANS: dict[tuple[str, str | None], Plan] = {}


def _plan(mode: str, edit: str | None = None) -> Plan:
    """The example stack in `mode`, after `edit` (one evaluation per pair)."""
    if (mode, edit) not in _PLANS:
        config = copy.deepcopy(_base(mode))
        if edit is not None:
            EDITS[edit](config)
        _PLANS[mode, edit] = shared_plan(config)
    return _PLANS[mode, edit]


def _baseline(mode: str) -> Plan:
    return _plan(mode)


def plans(mode: str, edit: str) -> tuple[Plan, Plan]:
    """The plans before and after the edit."""
    return _plan(mode, STARTS_FROM.get(edit)), _plan(mode, edit)


# The catalogue and the manager's own settings exist in ecs mode only; manager placement, a
# runner's architecture, the API endpoint and the privileged lane in eks mode only.
EKS_ONLY = {
    "switch managerPlacement to ec2",
    "arm64 jobs for a runner",
    "switch the API endpoint to private",
    "add a privileged runner",
}
ONLY_IN = {**dict.fromkeys(ECS_ONLY, "ecs"), **dict.fromkeys(EKS_ONLY, "eks")}
CASES = [
    (mode, edit) for edit in EDITS for mode in ("ecs", "eks") if ONLY_IN.get(edit, mode) == mode
]
PROFILE = "aws:eks/fargateProfile:FargateProfile"


@pytest.mark.parametrize(("mode", "edit"), CASES, ids=[f"{e}-{m}" for m, e in CASES])
def test_day2_edit_replaces_nothing_and_removes_no_network(mode: str, edit: str) -> None:
    before, after = plans(mode, edit)
    # Everything of the network (and, in eks mode, the cluster) survives the edit.
    gone = {r.type for wave in removal(before, after) for r in wave}
    assert not gone & {*NETWORK_TYPES, "eks:index:Cluster"}
    replaced = [(r.after.type, r.after.name, r.inputs) for r in replacements(before, after)]
    assert replaced == []
    # No Fargate profile is created or deleted either: each takes minutes, one at a time, and
    # deleting one deletes the pods it placed.
    profiles = [{r.urn for r in plan.all(PROFILE)} for plan in (before, after)]
    assert profiles[0] == profiles[1]
    assert no_side_effect_replacements(before, after) == []
    # A manager group that leaves (a dropped shard) drains its jobs before it goes.
    assert removed_groups_drain(before, after) == []
    # A runner in GitLab whose token a draining manager still holds stays.
    assert runners_outlive_drains(before, after) == []


IDS = [f"{e}-{m}" for m, e in CASES]


@pytest.mark.parametrize(("mode", "edit"), CASES, ids=IDS)
def test_day2_edit_keeps_egress_until_what_needs_it_is_deleted(mode: str, edit: str) -> None:
    _, after = plans(mode, edit)
    assert egress_outlives(after) == []


@pytest.mark.parametrize(("mode", "edit"), CASES, ids=IDS)
def test_day2_edit_keeps_every_drain_before_what_it_drains(mode: str, edit: str) -> None:
    _, after = plans(mode, edit)
    assert drains_first(after) == []
    assert alarms_go_first(after) == []


@pytest.mark.parametrize(("mode", "edit"), CASES, ids=IDS)
def test_day2_edit_keeps_the_api_until_every_kubernetes_object_is_gone(
    mode: str, edit: str
) -> None:
    _, after = plans(mode, edit)
    assert api_outlives_objects(after) == []


def test_the_shard_drop_removes_managers() -> None:
    """Guards the removal case: the drop really takes manager groups away."""
    before, after = plans("ecs", "concurrency 1000 -> 600")
    gone = [r.name for wave in removal(before, after) for r in wave if r.type == GROUP]
    assert sorted(gone) == ["ecs-manager-3-asg", "ecs-manager-4-asg"]


def test_the_table_covers_what_each_mode_creates() -> None:
    """Guards the test itself: it compares real resources, not an empty set."""
    ecs = {r.type for r in _baseline("ecs").resources}
    eks = {r.type for r in _baseline("eks").resources}
    assert ecs >= NETWORK_TYPES
    assert NETWORK_TYPES - {"aws:ec2/vpcEndpoint:VpcEndpoint"} <= eks
    assert {"eks:index:Cluster", "aws:eks/fargateProfile:FargateProfile"} <= eks
    assert set(REPLACEMENT_INPUTS) & ecs and set(REPLACEMENT_INPUTS) & eks


@pytest.mark.parametrize(
    "edit", ["turn observability off", "turn alerts off", "alerts to an existing topic"]
)
def test_observability_edits_leave_the_managers_and_the_drain_alone(edit: str) -> None:
    """Toggling the dashboard, alarms or notifications removes only their own resources:
    no manager group, hook, reaper function or drain goes (a removed drain Invocation runs
    the drain: every job stops)."""
    before, after = plans("ecs", edit)
    gone = [r for wave in removal(before, after) for r in wave]
    assert gone, "the edit removes something"
    assert {r.type for r in gone}.isdisjoint(
        {
            GROUP,
            "aws:autoscaling/lifecycleHook:LifecycleHook",
            "aws:lambda/function:Function",
            "aws:lambda/invocation:Invocation",
        }
    )
    assert all(r.name.startswith(("observability", "ecs-metrics-logs")) for r in gone), [
        r.name for r in gone
    ]


def test_a_new_alert_address_replaces_the_subscription_and_says_so() -> None:
    """Guards the table: a changed alerts.email is the edit that does replace the
    subscription (endpoint is ForceNew), and the check names what that costs."""
    config = _base("ecs")
    config["alerts"] = {"email": "someone-else@example.com"}
    problems = no_side_effect_replacements(_baseline("ecs"), run_program(config))
    assert len(problems) == 1 and "observability-alerts-email" in problems[0]
    assert "notify nobody" in problems[0]
