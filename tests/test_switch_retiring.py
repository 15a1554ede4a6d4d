"""Issue 22 item 8, review: step 1 of a two-step switch (`switchFrom`) touches nothing of the
retiring topology but the size of its managers.

On 5eb06c0 the retiring topology was read with `observability.enabled: false`. For ECS that
removed the CloudWatch agent's metrics from every manager's user data, so the launch template
got a new version (terraform-provider-aws internal/service/ec2/ec2_launch_template.go
resourceLaunchTemplateUpdate: a change to `user_data` calls CreateLaunchTemplateVersion and
`latest_version` grows); the group pins `latest_version`, and a changed `launch_template`
makes the group's update start an instance refresh right after UpdateAutoScalingGroup has set
its size to zero (internal/service/autoscaling/group.go resourceGroupUpdate:
`d.HasChange(launch_template)` sets `shouldRefreshInstances`, then startInstanceRefresh; its
capacity wait counts only InService instances, so it does not wait for the drain). At size 0
the refresh launches nothing, and an instance it replaces passes the same termination hook
(AWS Auto Scaling user guide, "Amazon EC2 Auto Scaling lifecycle hooks", table "Lifecycle hook
availability": instance refresh, instance terminating), so no job was lost, but the step
started a pointless refresh, took the metrics log group out of the draining managers' policy
(their agent's writes failed) and disabled the groups' metrics collection. For EKS it flipped
the runner releases' `metrics.enabled`, which the gitlab-runner chart (0.86.0) renders into
the pod template (templates/deployment.yaml: the `prometheus.io/*` annotations and, through
templates/configmap.yaml's `listen_address`, `checksum/configmap`): a rollout of Deployments
that the same step scales to zero. Their old pods still stopped gracefully (the old
ReplicaSet scales to zero as in a plain scale-down), so again no job was lost.

The retiring topology now keeps its settings as they were; only the size of its managers
changes. The metrics log group stays the serving topology's (it moves by alias), and the
retiring ECS managers keep writing to it by name.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.ecs.runner import TYPE_TOKEN as ECS_TOPOLOGY
from components.eks.runner import TYPE_TOKEN as EKS_TOPOLOGY
from components.offline.mocks import Plan, RecordedResource
from components.offline.order import Order

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRICS_LOG_GROUP = "/gitlab-runners-dev/metrics"
RELEASE = "kubernetes:helm.sh/v3:Release"
ASG = "aws:autoscaling/group:Group"
SIZES = ["desiredCapacity", "maxSize", "minSize"]


def _topology(plan: Plan, token: str) -> dict[str, RecordedResource]:
    """Every custom resource under the plan's topology component, by URN."""
    (top,) = plan.all(token)
    under = Order(plan).descendants(top.urn)
    return {r.urn: r for r in plan.resources if r.urn in under and r.custom}


def _plain(value: Any) -> Any:
    """An asset as what the engine diffs (its contents' hash): here the files it holds."""
    if isinstance(value, pulumi.AssetArchive):
        return {name: _plain(asset) for name, asset in value.assets.items()}
    if isinstance(value, pulumi.FileAsset):
        return value.path
    return value


def _changed_inputs(before: RecordedResource, after: RecordedResource) -> list[str]:
    keys = set(before.inputs) | set(after.inputs)
    return sorted(k for k in keys if _plain(before.inputs.get(k)) != _plain(after.inputs.get(k)))


def _step_one_changes(before: Plan, after: Plan, token: str) -> dict[str, list[str]]:
    """{name: changed inputs} of the topology's resources that both plans hold."""
    old, new = _topology(before, token), _topology(after, token)
    return {
        new[urn].name: changed
        for urn in new.keys() & old.keys()
        if (changed := _changed_inputs(old[urn], new[urn]))
    }


def test_step_one_from_ecs_changes_only_the_group_sizes(ecs_dev_plan: Plan, to_eks: Plan) -> None:
    """Launch templates (user data with the metrics agent), the manager policy, the reaper
    and the groups' metrics stay as they were: no new launch template version, so no
    instance refresh; only min/max/desired go to zero (the drain)."""
    changes = _step_one_changes(ecs_dev_plan, to_eks, ECS_TOPOLOGY)
    groups = [g.name for g in to_eks.all(ASG)]
    assert groups
    assert changes == {name: SIZES for name in groups}
    retiring = _topology(to_eks, ECS_TOPOLOGY)
    for template in (r for r in retiring.values() if r.type.endswith("LaunchTemplate")):
        before = ecs_dev_plan.one(template.type, template.name)
        assert template.inputs["userData"] == before.inputs["userData"], template.name


def test_step_one_from_ecs_creates_and_removes_nothing_of_the_ecs_topology(
    ecs_dev_plan: Plan, to_eks: Plan
) -> None:
    """The retiring managers keep writing to the metrics log group by name; the group itself
    moves to the serving EKS topology (alias), so the ECS topology only loses it."""
    old, new = _topology(ecs_dev_plan, ECS_TOPOLOGY), _topology(to_eks, ECS_TOPOLOGY)
    assert new.keys() <= old.keys()
    assert [old[u].inputs["name"] for u in old.keys() - new.keys()] == [METRICS_LOG_GROUP]


def test_step_one_from_eks_changes_only_the_replicas(eks_dev_plan: Plan, to_ecs: Plan) -> None:
    """The runner releases keep their values (`metrics.enabled` among them) and gain only
    `replicas: 0`: no pod-template change, so no rollout of the managers being retired."""
    changes = _step_one_changes(eks_dev_plan, to_ecs, EKS_TOPOLOGY)
    releases = [r.name for r in to_ecs.all(RELEASE) if r.name.startswith("eks-runner-")]
    assert releases
    assert changes == {name: ["values"] for name in releases}
    for name in releases:
        before = dict(eks_dev_plan.one(RELEASE, name).inputs["values"])
        after = dict(to_ecs.one(RELEASE, name).inputs["values"])
        assert after.pop("replicas") == 0
        assert after == before, name


def test_each_step_one_has_one_metrics_log_group(to_ecs: Plan, to_eks: Plan) -> None:
    """Only the serving topology declares `/<prefix>/metrics`: a second declaration would
    fail its create (ResourceAlreadyExistsException) or fight over the alias."""
    for plan in (to_ecs, to_eks):
        named = [r for r in plan.all(LOG_GROUP) if r.inputs["name"] == METRICS_LOG_GROUP]
        assert len(named) == 1
        assert plan.outputs["mode"] in named[0].urn
