"""What the Pulumi engine does with a recorded plan: in which order it deletes, what goes when a
resource leaves the program, and whether a replacement deletes before or after it creates.

Mocks accept every registration and never delete anything, so the order of deletes and the
replacements an edit causes are invisible to them. The engine's rules are few (FACTS.md
section 9, pulumi/pulumi pkg/resource/graph and pkg/resource/deploy/step_generator.go):
- a resource is deleted only after everything that depends on it is gone: its dependents by
  `depends_on`, by an input Output (both land in the registration's `dependencies`), the
  resources an explicit provider manages (pkg/resource/graph/dependency_graph.go), and its
  children (a parent goes after its children); a dependency on a ComponentResource is a
  dependency on every resource under it; anything unrelated goes in the same wave, in parallel;
- a resource removed from the program is deleted after the update's creates and updates, in
  that same dependency order among the removed ones;
- a replacement creates the successor first and deletes the old resource afterwards, unless
  `delete_before_replace` is set; a change to an input the provider cannot update in place
  (or one listed in `replace_on_changes`) replaces, unless the input is in `ignore_changes`;
- a delete step calls no provider for a resource with `retain_on_delete`, nor for one
  `deleted_with` a resource deleted in the same operation (pkg/resource/deploy/step.go,
  DeleteStep.Apply and isDeletedWith): that resource stays until its owner takes it along.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from components.offline.mocks import Plan, RecordedResource

# Inputs the providers cannot change in place (their schema's forceNew / replaceOnChanges):
# a change replaces the resource, and everything placed in it.
REPLACEMENT_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "vpcId"),
    "aws:ec2/eip:Eip": ("domain",),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcId", "vpcEndpointType"),
    "eks:index:Cluster": ("name", "vpcId", "privateSubnetIds", "publicSubnetIds", "fargate"),
    # terraform-provider-aws internal/service/eks/fargate_profile.go: every argument but tags
    # is ForceNew.
    "aws:eks/fargateProfile:FargateProfile": (
        "clusterName",
        "fargateProfileName",
        "podExecutionRoleArn",
        "selectors",
        "subnetIds",
    ),
    # terraform-provider-aws internal/service/lambda/invocation.go: function_name, input's
    # qualifier and lifecycle_scope are ForceNew (input itself updates in place).
    # Checked there: function_name, qualifier and triggers are ForceNew; lifecycle_scope and
    # input update in place (an update invokes the function with tf.action "update").
    "aws:lambda/invocation:Invocation": ("functionName", "qualifier", "triggers"),
    # internal/service/lambda/function.go: function_name is ForceNew.
    "aws:lambda/function:Function": ("name",),
    # internal/service/autoscaling/group.go: name and initial_lifecycle_hook (every field of
    # it) are ForceNew, and Read never sets the hooks; launch template changes update.
    "aws:autoscaling/group:Group": ("name", "namePrefix", "initialLifecycleHooks"),
    # internal/service/autoscaling/lifecycle_hook.go: only name is ForceNew; create and
    # update are both PutLifecycleHook.
    "aws:autoscaling/lifecycleHook:LifecycleHook": ("name",),
    "kubernetes:core/v1:Namespace": ("metadata.name",),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    # internal/service/sns/topic_subscription.go: endpoint, protocol and topic_arn are
    # ForceNew; internal/service/sns/topic.go: so is name.
    "aws:sns/topicSubscription:TopicSubscription": ("endpoint", "protocol", "topic"),
    "aws:sns/topic:Topic": ("name",),
    # internal/service/iam/role_policy_attachment.go: role and policy_arn are ForceNew.
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
}

# Resource types whose delete does something beyond removing the resource: a replacement or a
# removal of one runs it. Each value says what.
SIDE_EFFECT_DELETES: dict[str, str] = {
    "aws:lambda/invocation:Invocation": "a CRUD invocation runs its function on delete",
    "aws:autoscaling/group:Group": "terminates the group's instances (their running jobs)",
    "aws:eks/fargateProfile:FargateProfile": "AWS deletes every pod the profile placed",
    "kubernetes:core/v1:Namespace": "deletes every pod in it (their grace periods)",
    "kubernetes:helm.sh/v3:Release": "deletes the release's pods (a manager's running jobs)",
    "aws:sns/topicSubscription:TopicSubscription": (
        "its email successor is pending until someone confirms it: alarms notify nobody"
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        "detaches the policy from the role, also when its successor attached the same one"
    ),
}

ReplaceOrder = Literal["create-then-delete", "delete-then-create"]


def _get(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


@dataclass
class Order:
    """The engine's view of one recorded plan: who waits for whom when things are deleted."""

    plan: Plan
    by_urn: dict[str, RecordedResource] = field(init=False)

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.plan.resources}

    # --- lookups -------------------------------------------------------------------------
    def resource(self, ref: str | RecordedResource) -> RecordedResource:
        """A resource by URN, by unique name, or itself."""
        if isinstance(ref, RecordedResource):
            return ref
        if ref in self.by_urn:
            return self.by_urn[ref]
        return self.plan.named(ref)

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for r in self.plan.resources:
            if r.parent:
                children.setdefault(r.parent, []).append(r.urn)
        return children

    def descendants(self, urn: str) -> set[str]:
        found: set[str] = set()
        stack = list(self._children.get(urn, []))
        while stack:
            child = stack.pop()
            if child not in found:
                found.add(child)
                stack.extend(self._children.get(child, []))
        return found

    @cached_property
    def _waits_for(self) -> dict[str, set[str]]:
        """urn -> the URNs that must outlive it on delete (what it depends on, its parent)."""
        edges: dict[str, set[str]] = {}
        for r in self.plan.resources:
            targets: set[str] = set()
            for dep in [
                *r.dependencies,
                *(u for us in r.property_dependencies.values() for u in us),
            ]:
                targets.add(dep)
                dependency = self.by_urn.get(dep)
                if dependency is not None and not dependency.custom:
                    targets |= self.descendants(dep)
            if r.parent and r.parent in self.by_urn:
                targets.add(r.parent)
            if r.deleted_with:
                targets.add(r.deleted_with)
            if r.provider:
                targets.add(r.provider)
            edges[r.urn] = {t for t in targets if t in self.by_urn and t != r.urn}
        return edges

    def outlives(self, ref: str | RecordedResource) -> set[str]:
        """Every URN guaranteed to still exist while `ref` is deleted (transitively)."""
        start = self.resource(ref).urn
        found: set[str] = set()
        stack = list(self._waits_for[start])
        while stack:
            urn = stack.pop()
            if urn not in found:
                found.add(urn)
                stack.extend(self._waits_for[urn])
        return found

    def deleted_before(self, first: str | RecordedResource, then: str | RecordedResource) -> bool:
        """True when the engine is bound to finish deleting `first` before it deletes `then`."""
        return self.resource(then).urn in self.outlives(first)

    # --- destroy -------------------------------------------------------------------------
    def waves(self, only: Iterable[str] | None = None) -> list[list[RecordedResource]]:
        """Delete waves, first wave first: each resource goes in the wave after the last of the
        resources that wait for it. `only` restricts the waves to some URNs (a removal)."""
        keep = set(self.by_urn) if only is None else set(only)
        dependents: dict[str, set[str]] = {urn: set() for urn in keep}
        for urn in keep:
            for target in self.outlives(urn) & keep:
                dependents[target].add(urn)
        wave: dict[str, int] = {}

        def wave_of(urn: str) -> int:
            if urn not in wave:
                wave[urn] = 1 + max((wave_of(d) for d in dependents[urn]), default=-1)
            return wave[urn]

        for urn in keep:
            wave_of(urn)
        waves: list[list[RecordedResource]] = [
            [] for _ in range(max(wave.values(), default=-1) + 1)
        ]
        for r in self.plan.resources:
            if r.urn in wave:
                waves[wave[r.urn]].append(r)
        return waves

    def wave_of(self, ref: str | RecordedResource) -> int:
        urn = self.resource(ref).urn
        return next(i for i, wave in enumerate(self.waves()) if any(r.urn == urn for r in wave))


def removal(before: Plan, after: Plan) -> list[list[RecordedResource]]:
    """The resources of `before` that `after` no longer has, in the waves the engine deletes
    them (after the update's creates and updates), first wave first."""
    kept = {r.urn for r in after.resources}
    # An alias given as a URN moves that resource to its new URN: not a removal.
    kept |= {a["urn"] for r in after.resources for a in r.aliases if a.get("urn")}
    return Order(before).waves(only=[r.urn for r in before.resources if r.urn not in kept])


def skipped_deletes(plan: Plan, deleted: Iterable[str]) -> set[str]:
    """The URNs among `deleted` whose delete calls no provider: `retain_on_delete`, or
    `deleted_with` a resource that is deleted too."""
    gone = set(deleted)
    by_urn = {r.urn: r for r in plan.resources}
    return {
        urn
        for urn in gone
        if urn in by_urn
        and (by_urn[urn].retain_on_delete or (by_urn[urn].deleted_with or None) in gone)
    }


def replacement_order(resource: RecordedResource) -> ReplaceOrder:
    """Whether the engine deletes a replaced resource before or after creating its successor."""
    return "delete-then-create" if resource.delete_before_replace else "create-then-delete"


@dataclass(frozen=True)
class Replacement:
    before: RecordedResource
    after: RecordedResource
    inputs: tuple[str, ...]  # the changed inputs that force it

    @property
    def order(self) -> ReplaceOrder:
        return replacement_order(self.after)

    @property
    def side_effect(self) -> str | None:
        """What deleting the old resource does, where that is more than removing it."""
        return SIDE_EFFECT_DELETES.get(self.before.type)


def forcing_inputs(resource: RecordedResource) -> tuple[str, ...]:
    """The input paths whose change replaces this resource (provider table and options)."""
    paths = (*REPLACEMENT_INPUTS.get(resource.type, ()), *resource.replace_on_changes)
    ignored = set(resource.ignore_changes)
    return tuple(p for p in dict.fromkeys(paths) if p not in ignored and p != "*")


def replacements(before: Plan, after: Plan) -> list[Replacement]:
    """Resources both plans hold (same URN) whose replace-forcing inputs differ."""
    old = {r.urn: r for r in before.resources}
    found: list[Replacement] = []
    for new in after.resources:
        previous = old.get(new.urn)
        if previous is None:
            continue
        paths = forcing_inputs(new)
        if "*" in new.replace_on_changes and previous.inputs != new.inputs:
            paths = ("*",)
        changed = tuple(
            p for p in paths if p == "*" or _get(previous.inputs, p) != _get(new.inputs, p)
        )
        if changed:
            found.append(Replacement(previous, new, changed))
    return found
