"""Issue 22 item 8: a switch of `mode` loses no running job; `pulumi destroy` still cancels.

The ECS drain (an `aws.lambda_.Invocation` with lifecycle_scope CRUD) runs on every delete of
the Invocation: on `pulumi destroy` and when a switch to `mode: eks` removes the ECS topology.
On today's code (6384895) it stopped every job task in both cases. The topology marker
(components/shared/marker.py) tells them apart; the order model
(components/offline/order.py: a resource is deleted after everything that depends on it;
removed resources go after the update's creates and updates) proves when the drain sees it,
and the drain's own code (components/ecs/reaper/teardown.py) what it does with it.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from components.ecs.manager import group_delete_timeout_seconds, stop_timeout_seconds
from components.ecs.reaper import handler as reaper
from components.ecs.reaper_resources import drain_event
from components.offline.mocks import Plan
from components.offline.order import Order, removal
from tests.ecs.support import ASG, INVOCATION, ROLE_POLICY
from tests.ecs.test_files import typed
from tests.ecs.test_reaper import (  # noqa: F401 (account is a fixture)
    FARGATE_CLUSTER,
    MANAGER_GROUP,
    SPOT_CLUSTER,
    FakeAccount,
    account,
    client,
)
from tests.harness import dev_config
from tests.offline.invariants import removed_groups_drain

MARKER = "aws:ssm/parameter:Parameter"
MARKER_NAME = "/gitlab-runners-dev/topology"
FUNCTION = "aws:lambda/function:Function"
SECRET = "kubernetes:core/v1:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def _marker(plan: Plan):
    return plan.one(MARKER)


# --- the order model ----------------------------------------------------------------------


def test_destroy_deletes_the_marker_before_the_drain_runs(ecs_dev_plan: Plan) -> None:
    """`pulumi destroy`: the marker depends on the drain, so it goes first and the drain finds
    none (pulumi/pulumi pkg/resource/graph: dependents are deleted before dependencies)."""
    order = Order(ecs_dev_plan)
    marker = _marker(ecs_dev_plan)
    assert marker.inputs["name"] == MARKER_NAME and marker.inputs["value"] == "ecs"
    (drain,) = ecs_dev_plan.all(INVOCATION)
    assert order.deleted_before(marker, drain)


@pytest.mark.parametrize("direction", ["ecs-to-eks", "eks-to-ecs"])
def test_a_switch_keeps_the_marker_with_the_new_mode(
    direction: str, ecs_dev_plan: Plan, eks_dev_plan: Plan
) -> None:
    """The marker's URN does not depend on the mode, so a switch updates it (with the new
    value and without the old topology's readers) in the update phase, before the removed
    resources are deleted, and removes it never."""
    before, after = (
        (ecs_dev_plan, eks_dev_plan) if direction == "ecs-to-eks" else (eks_dev_plan, ecs_dev_plan)
    )
    assert _marker(before).urn == _marker(after).urn
    assert _marker(after).inputs["value"] == after.outputs["mode"]
    removed = {r.urn for wave in removal(before, after) for r in wave}
    assert _marker(before).urn not in removed
    assert not Order(after).outlives(_marker(after)) & removed


def test_ecs_to_eks_drains_before_every_group_and_every_group_waits_for_its_jobs(
    ecs_dev_plan: Plan, eks_dev_plan: Plan
) -> None:
    """The removed drain runs (and retires the managers) before any removed manager group is
    deleted; each group's delete then waits for its manager's termination hook, i.e. for its
    running jobs: no force_delete, and a delete timeout longer than gitlab-runner's stop
    (terraform-provider-aws autoscaling/group.go drainGroup)."""
    gone = [r for wave in removal(ecs_dev_plan, eks_dev_plan) for r in wave]
    (drain,) = [r for r in gone if r.type == INVOCATION]
    groups = [r for r in gone if r.type == ASG]
    assert groups
    order = Order(ecs_dev_plan)
    for group in groups:
        assert order.deleted_before(drain, group), group.name
        assert group.inputs["forceDelete"] is False
    assert removed_groups_drain(ecs_dev_plan, eks_dev_plan) == []


def test_group_delete_timeout_outlasts_the_longest_job() -> None:
    stack = typed(dev_config())
    assert group_delete_timeout_seconds(stack) > stop_timeout_seconds(stack)
    assert stop_timeout_seconds(stack) > stack.ecs.job_timeout_seconds


def test_the_new_topology_serves_the_same_runners_with_the_same_tokens(
    ecs_dev_plan: Plan, eks_dev_plan: Plan
) -> None:
    """Same GitLab runners, same tokens: EKS's runner Secrets hold the tokens the ECS token
    secret holds, so the new managers take jobs for the same runners while the old drain."""
    ecs_tokens = json.loads(ecs_dev_plan.one(SECRET_VERSION).inputs["secretString"])
    eks_tokens = {
        s.inputs["metadata"]["namespace"].removeprefix("gitlab-runner-"): s.inputs["stringData"][
            "runner-token"
        ]
        for s in eks_dev_plan.all(SECRET)
        if "runner-token" in (s.inputs.get("stringData") or {})
    }
    assert ecs_tokens == eks_tokens


def test_the_drain_may_read_the_marker_and_knows_its_name(ecs_dev_plan: Plan) -> None:
    function = ecs_dev_plan.one(FUNCTION).inputs
    assert function["environment"]["variables"]["REAPER_TOPOLOGY_PARAMETER"] == MARKER_NAME
    policy = json.loads(ecs_dev_plan.one(ROLE_POLICY, "ecs-reaper-policy").inputs["policy"])
    (statement,) = [s for s in policy["Statement"] if s.get("Sid") == "ReadTopologyMarker"]
    assert statement["Action"] == "ssm:GetParameter"
    assert statement["Resource"] == (
        "arn:aws:ssm:eu-west-1:123456789012:parameter/gitlab-runners-dev/topology"
    )


# --- the drain's own code (moto) ----------------------------------------------------------


def _delete_event() -> dict:
    drain_input = drain_event([FARGATE_CLUSTER, SPOT_CLUSTER], [MANAGER_GROUP])
    return {**drain_input, "tf": {"action": "delete", "prev_input": drain_input}}


def _group_sizes(account: FakeAccount) -> tuple[int, int, int]:  # noqa: F811
    (group,) = account.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[MANAGER_GROUP]
    )["AutoScalingGroups"]
    return group["MinSize"], group["MaxSize"], group["DesiredCapacity"]


@pytest.fixture
def marked(account: FakeAccount, monkeypatch: pytest.MonkeyPatch) -> FakeAccount:  # noqa: F811
    monkeypatch.setenv("REAPER_TOPOLOGY_PARAMETER", MARKER_NAME)
    account.manager_group(instances=1, launched_ago=timedelta(hours=1))
    account.run_task("job", FARGATE_CLUSTER, timedelta(minutes=10))
    return account


def test_moto_switch_to_eks_retires_the_managers_and_stops_no_job(marked: FakeAccount) -> None:
    client("ssm").put_parameter(Name=MARKER_NAME, Value="eks", Type="String")
    result = reaper.handler(_delete_event(), None)
    assert result["teardown"] == "switch" and result["stopped"] == []
    assert _group_sizes(marked) == (0, 0, 0)  # no new job; the hook drains the running one
    assert marked.status("job") != "STOPPED"


def test_moto_destroy_without_the_marker_still_cancels_every_job(marked: FakeAccount) -> None:
    result = reaper.handler(_delete_event(), None)
    assert result["stopped"] == [marked.tasks["job"]]
    assert marked.status("job") == "STOPPED"
    assert _group_sizes(marked) == (0, 0, 0)


def test_moto_a_drain_replaced_while_ecs_stays_touches_nothing(marked: FakeAccount) -> None:
    client("ssm").put_parameter(Name=MARKER_NAME, Value="ecs", Type="String")
    result = reaper.handler(_delete_event(), None)
    assert result["teardown"] == "stays" and result["stopped"] == []
    assert _group_sizes(marked) == (0, 1, 1)
    assert marked.status("job") != "STOPPED"
