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
from collections.abc import Iterator
from datetime import timedelta

import pytest

from components.config import ConfigError, parse_config
from components.ecs.manager import group_delete_timeout_seconds, stop_timeout_seconds
from components.ecs.reaper import handler as reaper
from components.ecs.reaper_resources import drain_event
from components.offline.mocks import Plan
from components.offline.order import Order, removal, replacements
from tests.ecs.moto_account import (
    FARGATE_CLUSTER,
    MANAGER_GROUP,
    SPOT_CLUSTER,
    FakeAccount,
    client,
    moto_account,
)
from tests.ecs.support import ASG, INVOCATION, ROLE_POLICY
from tests.ecs.test_files import typed
from tests.harness import dev_config
from tests.offline.invariants import removed_groups_drain


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAccount]:
    """The task reaper's moto account (tests/ecs/moto_account.py)."""
    yield from moto_account(monkeypatch)


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


def _group_sizes(account: FakeAccount) -> tuple[int, int, int]:
    (group,) = account.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[MANAGER_GROUP]
    )["AutoScalingGroups"]
    return group["MinSize"], group["MaxSize"], group["DesiredCapacity"]


@pytest.fixture
def marked(account: FakeAccount, monkeypatch: pytest.MonkeyPatch) -> FakeAccount:
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


# --- the two-step switch (switchFrom): both directions, no job lost on any topology --------


RELEASE = "kubernetes:helm.sh/v3:Release"


def _only_metrics_leave(before: Plan, after: Plan) -> bool:
    """Step 1 removes only what watches the old topology (its metrics collector, its
    start-wait sampler, its alarms): the retiring one is not watched, and its metrics log
    group moves by alias."""
    gone = [r.name for wave in removal(before, after) for r in wave]
    return all(n.startswith(("observability-", "eks-metrics", "eks-start-wait")) for n in gone)


def _runner_releases(plan: Plan) -> list:
    return [r for r in plan.all(RELEASE) if r.name.startswith("eks-runner-")]


def test_step_one_from_eks_removes_and_replaces_nothing_and_scales_the_managers_to_zero(
    eks_dev_plan: Plan, to_ecs: Plan
) -> None:
    """EKS -> ECS, step 1: every EKS resource stays (no removal, no replacement), so the
    managers keep their ServiceAccount, RBAC, Fargate profile and cluster; their Deployments
    are scaled to zero (gitlab-runner chart 0.86.0 templates/deployment.yaml lines 19-20:
    `if ... (not (quote .Values.replicas | empty))` then `replicas: {{ .Values.replicas }}`;
    `quote 0` is "0", not empty, so 0 is rendered, unlike `default 1`), which deletes
    each pod gracefully: the preStop SIGQUIT drain finishes its jobs within
    terminationGracePeriodSeconds (components/eks/runner_chart.py). A scale-down is no
    eviction, so the managers' PodDisruptionBudget does not apply (Kubernetes docs,
    "Disruptions": PDBs limit voluntary evictions, not deletions by a controller)."""
    assert _only_metrics_leave(eks_dev_plan, to_ecs)
    assert [r.before.name for r in replacements(eks_dev_plan, to_ecs)] == []
    releases = _runner_releases(to_ecs)
    assert releases and all(r.inputs["values"]["replicas"] == 0 for r in releases)
    assert all("replicas" not in r.inputs["values"] for r in _runner_releases(eks_dev_plan))
    groups = to_ecs.all(ASG)
    assert groups and all(g.inputs["desiredCapacity"] == 1 for g in groups)
    assert to_ecs.outputs["mode"] == "ecs" and to_ecs.outputs["switchFrom"] == "eks"
    assert _marker(to_ecs).inputs["value"] == "ecs"


def test_step_one_from_ecs_retires_the_groups_and_keeps_the_drain(
    ecs_dev_plan: Plan, to_eks: Plan
) -> None:
    """ECS -> EKS, step 1: the ECS resources stay; each group's size goes to zero in place
    (min/max/desired update the group, terraform-provider-aws autoscaling/group.go), so each
    manager leaves through its termination hook once its jobs have ended."""
    assert _only_metrics_leave(ecs_dev_plan, to_eks)
    assert [r.before.name for r in replacements(ecs_dev_plan, to_eks)] == []
    groups = to_eks.all(ASG)
    assert groups
    for group in groups:
        sizes = (group.inputs[k] for k in ("minSize", "maxSize", "desiredCapacity"))
        assert tuple(sizes) == (0, 0, 0), group.name
    # A destroy in the middle of a switch still cancels: the marker goes before the drain.
    (drain,) = to_eks.all(INVOCATION)
    assert Order(to_eks).deleted_before(_marker(to_eks), drain)


@pytest.mark.parametrize("direction", ["from-eks", "from-ecs"])
def test_step_two_removes_a_topology_that_runs_nothing(
    direction: str, to_ecs: Plan, to_eks: Plan, ecs_dev_plan: Plan, eks_dev_plan: Plan
) -> None:
    """Step 2 (`pulumi config rm switchFrom` after the job timeout): what goes had no manager
    left: every removed runner release ran zero replicas, every removed group was at zero,
    and the marker (now the serving mode's) is kept, so the ECS drain retires, stops nothing."""
    before, after = (to_ecs, ecs_dev_plan) if direction == "from-eks" else (to_eks, eks_dev_plan)
    gone = [r for wave in removal(before, after) for r in wave]
    assert gone
    assert _marker(before).urn not in {r.urn for r in gone}
    for release in (r for r in gone if r.type == RELEASE and r.name.startswith("eks-runner-")):
        assert release.inputs["values"]["replicas"] == 0
    for group in (r for r in gone if r.type == ASG):
        assert group.inputs["desiredCapacity"] == 0 and group.inputs["maxSize"] == 0


def test_switch_from_the_mode_itself_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="switchFrom: 'ecs' is the mode being switched to"):
        parse_config(dev_config(mode="ecs", switchFrom="ecs"))


def _physical(r) -> tuple[str, str] | None:
    name = r.inputs.get("name")
    return (r.type, name) if r.custom and isinstance(name, str) else None


@pytest.mark.parametrize(
    "edit", ["ecs-to-eks", "eks-to-ecs", "ecs-step-1", "eks-step-1", "ecs-step-2", "eks-step-2"]
)
def test_a_switch_never_creates_a_name_that_a_removed_resource_still_holds(
    edit: str, ecs_dev_plan: Plan, eks_dev_plan: Plan, to_ecs: Plan, to_eks: Plan
) -> None:
    """A removed resource is deleted after the update's creates (order.py), so a new
    resource with the same physical name fails its create (CloudWatch Logs CreateLogGroup:
    ResourceAlreadyExistsException). Both modes name their metrics log group
    `/<prefix>/metrics`; on 6384895 every switch with observability on failed there."""
    before, after = {
        "ecs-to-eks": (ecs_dev_plan, eks_dev_plan),
        "eks-to-ecs": (eks_dev_plan, ecs_dev_plan),
        "ecs-step-1": (ecs_dev_plan, to_eks),
        "eks-step-1": (eks_dev_plan, to_ecs),
        "ecs-step-2": (to_eks, eks_dev_plan),
        "eks-step-2": (to_ecs, ecs_dev_plan),
    }[edit]
    old = {r.urn for r in before.resources}
    created = [
        r
        for r in after.resources
        if r.urn not in old and not any(a.get("urn") in old for a in r.aliases)
    ]
    held = {_physical(r) for wave in removal(before, after) for r in wave} - {None}
    assert [r.name for r in created if _physical(r) in held] == []
