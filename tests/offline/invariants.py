"""What a platform engineer expects of every destroy, removal and day-2 edit, as checks on
recorded plans and the engine-order model (components/offline/order.py), for both modes.

Each check returns the violations it found as readable strings (an empty list is a pass), so
a test can assert `== []` and show every broken pair at once:

- `egress_outlives`: whatever needs the network while it is deleted (draining managers talk
  to GitLab and Auto Scaling; the EKS cluster, its Helm releases and Karpenter's objects have
  finalizers that call STS and EC2) is deleted before the NAT gateways, the private route
  tables and their associations, and the VPC endpoints;
- `drains_first`: every drain runs before what it drains is deleted (the ECS destroy drain
  before the clusters, capacity providers, task security group, subnets and manager groups; a
  manager group keeps its termination hook while it is deleted; an EKS runner's release and
  namespace go before the Fargate profile that places its pods);
- `api_outlives_objects`: every Kubernetes object is deleted while the cluster and the 443
  rules that admit the deployer to its API still exist (a private endpoint is reachable only
  through them, and the provider deletes each object through the API);
- `no_side_effect_replacements`: no edit replaces a resource whose delete does something
  (SIDE_EFFECT_DELETES);
- `removed_groups_drain`: a manager group that leaves the program drains before it goes,
  and its manager keeps the permission to complete the hook meanwhile;
- `alarms_go_first`: a destroy pages nobody: every alarm (and whatever notifies) is deleted
  before the ECS destroy drain retires the managers, which "manager down" and "not
  polling" would otherwise report after 5 minutes of a long drain;
- `vpc_functions_first`: a Lambda function in the VPC (the EKS start-wait sampler) is deleted
  before its security groups, every rule that names them and its subnets, and swaps its groups
  for the VPC's default one first: its VPC network interfaces outlive it by up to ~35 minutes
  and would hold its own group (terraform-provider-aws internal/service/lambda/function.go
  replaceSecurityGroupsOnDestroy; internal/service/ec2/vpc_network_interface.go
  deleteLingeringLambdaENI);
- `runners_outlive_drains`: an edit neither replaces nor removes a GitLab runner whose token
  a kept token store held before it. The managers that read that store drain after
  `pulumi up` has returned (an ECS instance refresh runs on in AWS; the EKS Helm upgrade waits
  for the new manager pod to be Ready, not for the old one's termination grace period), and
  every delete of the update, a replacement's old runner included, happens before that: a
  deleted runner's token is revoked and its running jobs lose their runner in GitLab.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from components.offline.mocks import Plan, RecordedResource
from components.offline.order import (
    Order,
    removal,
    replacements,
    skipped_deletes,
)

GROUP = "aws:autoscaling/group:Group"
HOOK = "aws:autoscaling/lifecycleHook:LifecycleHook"
INVOCATION = "aws:lambda/invocation:Invocation"
FUNCTION = "aws:lambda/function:Function"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
PROFILE = "aws:eks/fargateProfile:FargateProfile"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
CLUSTER = "eks:index:Cluster"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
COMPLETE = "autoscaling:CompleteLifecycleAction"
USER_RUNNER = "gitlab:index/userRunner:UserRunner"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
NOTIFIERS = (
    ALARM,
    "aws:sns/topic:Topic",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:sns/topicPolicy:TopicPolicy",
)
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
# What the ECS destroy drain empties: deleting any of these while a task runs fails or strands
# the task (ClusterContainsTasksException, an ENI in the subnet or security group).
TASK_HOLDERS = (
    "aws:ecs/cluster:Cluster",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    "aws:ec2/subnet:Subnet",
    GROUP,
)


def _seconds(duration: str) -> int:
    """A Pulumi custom timeout ("4230s", "70m", "1h") in seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if not duration or duration[-1] not in units:
        raise ValueError(f"unreadable timeout {duration!r}")
    return int(float(duration[:-1]) * units[duration[-1]])


def egress(plan: Plan) -> list[RecordedResource]:
    """The private subnets' way out: NAT gateways, the route tables that route through one,
    their subnet associations, and the VPC endpoints."""
    nat_tables = {
        r.urn
        for r in plan.all(ROUTE_TABLE)
        if any(route.get("natGatewayId") for route in r.inputs.get("routes") or [])
    }
    associations = [r for r in plan.all(ASSOCIATION) if nat_tables & set(r.dependencies)]
    return [
        *plan.all(NAT),
        *(r for r in plan.all(ROUTE_TABLE) if r.urn in nat_tables),
        *associations,
        *plan.all(ENDPOINT),
    ]


def needs_network_at_delete(plan: Plan) -> list[RecordedResource]:
    """Resources whose delete talks to something outside the VPC from inside it."""
    in_vpc_functions = {r.urn for r in plan.all(FUNCTION) if r.inputs.get("vpcConfig")}
    return [
        r
        for r in plan.resources
        if r.type in (GROUP, CLUSTER, RELEASE)
        or (r.type.startswith("kubernetes:") and r.custom)
        or r.urn in in_vpc_functions
        or (r.type == INVOCATION and in_vpc_functions & set(r.dependencies))
    ]


def egress_outlives(plan: Plan) -> list[str]:
    order = Order(plan)
    exits = egress(plan)
    return [
        f"{r.name} ({r.type}) may be deleted after {e.name} ({e.type})"
        for r in needs_network_at_delete(plan)
        for e in exits
        if not order.deleted_before(r, e)
    ]


def hook_kept_while_deleted(plan: Plan, group: RecordedResource, deleted: set[str]) -> list[str]:
    """A group's termination hook is still there while the group is deleted, and the delete
    waits for it: the group owns it (initial hook), is not force-deleted, and its delete
    timeout covers the hook's heartbeat; a separate hook on it that goes in the same
    operation (`deleted`) calls no provider before the group is gone."""
    problems: list[str] = []
    initial = [
        h
        for h in group.inputs.get("initialLifecycleHooks") or []
        if h.get("lifecycleTransition") == TERMINATING
    ]
    if not initial:
        problems.append(f"{group.name}: no initial termination hook of its own")
    if group.inputs.get("forceDelete"):
        problems.append(f"{group.name}: force_delete terminates without the hook")
    heartbeat = max((int(h.get("heartbeatTimeout") or 3600) for h in initial), default=0)
    timeout = group.custom_timeouts.get("delete")
    if timeout is None or _seconds(timeout) < heartbeat:
        problems.append(f"{group.name}: delete timeout {timeout} < heartbeat {heartbeat}s")
    order = Order(plan)
    skipped = skipped_deletes(plan, deleted)
    for hook in plan.all(HOOK):
        if hook.urn in deleted and hook.urn not in skipped and order.deleted_before(hook, group):
            problems.append(f"{hook.name} is deleted before {group.name}, which it drains")
    return problems


def eks_selector_matches(pattern: str, value: str) -> bool:
    """EKS' selector wildcards (user guide, fargate-profile.md "Fargate profile wildcards"):
    `*` is none, one or more characters, `?` exactly one; no other pattern syntax."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _runner_profiles(plan: Plan, namespace: str) -> list[RecordedResource]:
    """The profiles that can place pods of this namespace: by name or by wildcard (the one
    runner profile selects `gitlab-runner-*`)."""
    return [
        p
        for p in plan.all(PROFILE)
        if any(
            eks_selector_matches(s.get("namespace") or "", namespace)
            for s in p.inputs.get("selectors") or []
        )
    ]


def drains_first(plan: Plan) -> list[str]:
    order = Order(plan)
    problems: list[str] = []
    for drain in plan.all(INVOCATION):
        for holder in (r for r in plan.resources if r.type in TASK_HOLDERS):
            if not order.deleted_before(drain, holder):
                problems.append(f"{holder.name} may be deleted before {drain.name} drains it")
    everything = {r.urn for r in plan.resources}
    for group in plan.all(GROUP):
        problems += hook_kept_while_deleted(plan, group, everything)
    for release in plan.all(RELEASE):
        namespace = release.inputs.get("namespace")
        if not namespace or release.name.endswith("-crds"):
            continue
        for profile in _runner_profiles(plan, namespace):
            for drained in (release, *_namespaces(plan, namespace)):
                if not order.deleted_before(drained, profile):
                    problems.append(f"{profile.name} may be deleted before {drained.name}")
    return problems


INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
HTTPS = 443


def api_access(plan: Plan) -> list[RecordedResource]:
    """The cluster and the ingress rules that open HTTPS to its API for the deployer: from
    CIDRs or security groups the stack does not create. A rule that admits a security group of
    the plan admits one of the stack's own functions (the start-wait sampler), which goes
    before its rule (tests/eks/test_start_wait_sampler.py), not the Kubernetes provider."""
    groups = {r.urn for r in plan.all(SECURITY_GROUP)}
    rules = [
        r
        for r in plan.all(INGRESS)
        if r.inputs.get("fromPort") == HTTPS
        and not groups & set(r.property_dependencies.get("referencedSecurityGroupId", []))
    ]
    return [*plan.all(CLUSTER), *rules]


def api_outlives_objects(plan: Plan) -> list[str]:
    order = Order(plan)
    objects = [r for r in plan.resources if r.type.startswith("kubernetes:") and r.custom]
    return [
        f"{o.name} ({o.type}) may be deleted after {a.name} ({a.type})"
        for o in objects
        for a in api_access(plan)
        if not order.deleted_before(o, a)
    ]


def alarms_go_first(plan: Plan) -> list[str]:
    order = Order(plan)
    return [
        f"{alarm.name} may still alarm while {drain.name} retires the managers"
        for drain in plan.all(INVOCATION)
        for alarm in notifiers(plan)
        if not order.deleted_before(alarm, drain)
    ]


def notifiers(plan: Plan) -> list[RecordedResource]:
    """The alarms, the alert topic with its subscription and policy, and every EventBridge
    target that publishes to an SNS topic (the EKS failed-eviction rule's)."""
    return [
        r
        for r in plan.resources
        if r.type in NOTIFIERS
        or (r.type == EVENT_TARGET and str(r.inputs.get("arn", "")).startswith("arn:aws:sns:"))
    ]


EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def vpc_functions_first(plan: Plan) -> list[str]:
    order = Order(plan)
    groups = {r.urn for r in plan.all(SECURITY_GROUP)}
    problems: list[str] = []
    for function in (f for f in plan.all(FUNCTION) if f.inputs.get("vpcConfig")):
        if not function.inputs.get("replaceSecurityGroupsOnDestroy"):
            problems.append(f"{function.name}: its ENIs keep its security groups after it is gone")
        placed = set(function.property_dependencies.get("vpcConfig", []))
        rules = [
            r
            for r in (*plan.all(INGRESS), *plan.all(EGRESS_RULE))
            if placed & groups & {u for us in r.property_dependencies.values() for u in us}
        ]
        for needed in (*(order.resource(u) for u in placed if u in order.by_urn), *rules):
            if not order.deleted_before(function, needed):
                problems.append(f"{needed.name} may be deleted before {function.name}")
    return problems


def _namespaces(plan: Plan, name: str) -> list[RecordedResource]:
    return [n for n in plan.all(NAMESPACE) if (n.inputs.get("metadata") or {}).get("name") == name]


def no_side_effect_replacements(before: Plan, after: Plan) -> list[str]:
    return [
        f"{r.after.name} ({r.after.type}) replaced by {list(r.inputs)}: {r.side_effect}"
        for r in replacements(before, after)
        if r.side_effect
    ]


def removed(before: Plan, after: Plan) -> list[RecordedResource]:
    return [r for wave in removal(before, after) for r in wave]


def _covers(statement: dict[str, Any], group: RecordedResource) -> bool:
    """Whether an Allow statement reaches this group: by its ARN (the mocks name a group by
    its resource name) or by a wildcard narrowed to tags the group carries."""
    resources = statement.get("Resource")
    resources = [resources] if isinstance(resources, str) else list(resources or [])
    tags = {t["key"]: t["value"] for t in group.inputs.get("tags") or []}
    wanted = (statement.get("Condition") or {}).get("StringEquals", {})
    tagged = all(
        tags.get(key.removeprefix("aws:ResourceTag/")) == value
        for key, value in wanted.items()
        if key.startswith("aws:ResourceTag/")
    )
    return any(
        fnmatch.fnmatchcase(f"autoScalingGroupName/{group.name}", arn.rsplit(":", 1)[-1])
        for arn in resources
    ) and (tagged or not wanted)


def lifecycle_grants(plan: Plan, group: RecordedResource) -> list[RecordedResource]:
    """The role policies that let a manager complete its group's termination hook."""
    found = []
    for policy in plan.all(ROLE_POLICY):
        document = json.loads(policy.inputs.get("policy") or "{}")
        for statement in document.get("Statement", []):
            actions = statement.get("Action")
            actions = [actions] if isinstance(actions, str) else actions or []
            allows = COMPLETE in actions and statement.get("Effect") == "Allow"
            if allows and _covers(statement, group):
                found.append(policy)
                break
    return found


def removed_groups_drain(before: Plan, after: Plan) -> list[str]:
    """Each manager group that leaves the program drains before it goes, and its manager
    may still complete the hook then: the update that runs before the delete leaves a grant
    that covers the group, and a grant that leaves too goes after the group."""
    gone = removed(before, after)
    urns = {r.urn for r in gone}
    order = Order(before)
    problems: list[str] = []
    for group in (g for g in gone if g.type == GROUP):
        problems += hook_kept_while_deleted(before, group, urns)
        kept = lifecycle_grants(after, group)
        leaving = [p for p in lifecycle_grants(before, group) if p.urn in urns]
        if not kept and not any(order.deleted_before(group, p) for p in leaving):
            problems.append(f"{group.name}: its manager loses CompleteLifecycleAction first")
    return problems


def token_users(plan: Plan, runner: RecordedResource) -> list[RecordedResource]:
    """The resources that take this runner's token (or id) as an input: its token stores."""
    return [
        r
        for r in plan.resources
        if runner.urn in r.dependencies
        or any(runner.urn in urns for urns in r.property_dependencies.values())
    ]


def runners_outlive_drains(before: Plan, after: Plan) -> list[str]:
    kept = {r.urn for r in after.resources}
    replaced = {r.before.urn for r in replacements(before, after)}
    problems: list[str] = []
    for runner in before.all(USER_RUNNER):
        users = [u.name for u in token_users(before, runner) if u.urn in kept]
        if not users:
            continue
        if runner.urn not in kept:
            problems.append(f"{runner.name} is deleted while the managers of {users} drain")
        elif runner.urn in replaced:
            problems.append(
                f"{runner.name} is replaced: the old runner is deleted at the end of the update "
                f"while the managers of {users} still drain with its token"
            )
    return problems
