"""The order invariants (tests/offline/invariants.py) on the example stack, in both modes, and
on small plans that break them: checks that cannot fail prove nothing."""

from __future__ import annotations

import copy

import pytest

from components.offline.mocks import Plan
from components.offline.order import Order
from tests.harness import dev_config, run_program
from tests.offline.invariants import (
    ALARM,
    GROUP,
    HOOK,
    INVOCATION,
    alarms_go_first,
    api_access,
    api_outlives_objects,
    drains_first,
    egress,
    egress_outlives,
    needs_network_at_delete,
    vpc_functions_first,
)


def _plan(mode: str, ecs_dev_plan: Plan, eks_dev_plan: Plan) -> Plan:
    return ecs_dev_plan if mode == "ecs" else eks_dev_plan


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_nothing_that_needs_the_network_outlives_it(
    mode: str, ecs_dev_plan: Plan, eks_dev_plan: Plan
) -> None:
    assert egress_outlives(_plan(mode, ecs_dev_plan, eks_dev_plan)) == []


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_every_drain_runs_before_what_it_drains_is_deleted(
    mode: str, ecs_dev_plan: Plan, eks_dev_plan: Plan
) -> None:
    assert drains_first(_plan(mode, ecs_dev_plan, eks_dev_plan)) == []


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_every_kubernetes_object_goes_while_the_api_is_reachable(
    mode: str, ecs_dev_plan: Plan, eks_dev_plan: Plan
) -> None:
    assert api_outlives_objects(_plan(mode, ecs_dev_plan, eks_dev_plan)) == []


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_the_checks_see_real_resources(mode: str, ecs_dev_plan: Plan, eks_dev_plan: Plan) -> None:
    plan = _plan(mode, ecs_dev_plan, eks_dev_plan)
    exits = {r.type for r in egress(plan)}
    assert {
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
    } <= exits
    # The public route table (internet gateway) is not the private subnets' egress.
    assert not any("public" in r.name for r in egress(plan))
    needing = {r.type for r in needs_network_at_delete(plan)}
    assert needing >= ({GROUP} if mode == "ecs" else {"eks:index:Cluster"})


def test_the_checks_catch_the_orders_issue_14_found(ecs_dev_plan: Plan) -> None:
    """The ECS example with main's old wiring put back: groups depending on the drain,
    force-deleted, with a hook of their own resource only. Each defect is reported."""
    plan = copy.deepcopy(ecs_dev_plan)
    drain = plan.one(INVOCATION)
    group = plan.one(GROUP)
    for reaper_part in (r for r in plan.resources if r.type != HOOK):
        # Nothing of the reaper (drain input, role policy) knew the groups then.
        reaper_part.dependencies = [u for u in reaper_part.dependencies if u != group.urn]
        reaper_part.property_dependencies = {
            k: [u for u in us if u != group.urn]
            for k, us in reaper_part.property_dependencies.items()
        }
    group.dependencies = [drain.urn]  # nor does it wait for the network any more
    group.inputs["forceDelete"] = True
    group.inputs.pop("initialLifecycleHooks")
    plan.one(HOOK).deleted_with = ""
    problems = drains_first(plan)
    assert any("force_delete" in p for p in problems)
    assert any("no initial termination hook" in p for p in problems)
    assert any(p.startswith("ecs-manager-drain-hook is deleted before") for p in problems)
    assert any(
        p.startswith("ecs-manager-asg may be deleted before ecs-reaper-drain") for p in problems
    )
    group.dependencies = []
    assert any(p.startswith("ecs-manager-asg (") for p in egress_outlives(plan))


PROFILE = "aws:eks/fargateProfile:FargateProfile"
SHARED_PROFILE = "eks-cluster-fargate-gitlab-runners"


def test_drains_first_sees_the_shared_profile_behind_its_namespace_wildcard(
    eks_dev_plan: Plan,
) -> None:
    """The one runner profile selects `gitlab-runner-*`, not a runner's namespace by name:
    the check must match it the way EKS does, or it checks no release at all. With the
    release's and namespace's wait for the profile taken out, it reports each runner."""
    plan = copy.deepcopy(eks_dev_plan)
    shared = plan.one(PROFILE, SHARED_PROFILE)
    assert shared.inputs["selectors"][0]["namespace"] == "gitlab-runner-*"
    for resource in plan.resources:
        resource.dependencies = [u for u in resource.dependencies if u != shared.urn]
        resource.property_dependencies = {
            k: [u for u in us if u != shared.urn]
            for k, us in resource.property_dependencies.items()
        }
    problems = drains_first(plan)
    for runner in ("fargate", "fargate-spot"):
        for drained in ("release", "namespace"):
            assert f"{SHARED_PROFILE} may be deleted before eks-runner-{runner}-{drained}" in (
                problems
            )


def test_the_api_access_check_catches_a_provider_that_skips_the_443_rules() -> None:
    """A private endpoint: every object on the cluster goes while its 443 rules exist; with
    the provider no longer waiting for the rules, each object is reported."""
    plan = run_program(
        dev_config(
            mode="eks", eks={"endpointAccess": "private", "privateAccessCidrs": ["10.8.0.0/16"]}
        )
    )
    (rule,) = [r for r in api_access(plan) if r.type != "eks:index:Cluster"]
    assert api_outlives_objects(plan) == []
    provider = plan.one("pulumi:providers:kubernetes")
    provider.dependencies = [u for u in provider.dependencies if u != rule.urn]
    problems = api_outlives_objects(plan)
    release = "eks-runner-fargate-release (kubernetes:helm.sh/v3:Release)"
    assert f"{release} may be deleted after {rule.name} ({rule.type})" in problems
    assert len(problems) == len(
        [r for r in plan.resources if r.type.startswith("kubernetes:") and r.custom]
    )


def test_a_destroy_deletes_every_alarm_before_the_drain_retires_the_managers(
    ecs_dev_plan: Plan,
) -> None:
    """The drain scales every manager group to zero and may run for 14 minutes: an alarm
    still there reads "no instance in service" and "not polling" for 5 and pages the
    on-call in the middle of a planned teardown. (With alerts, spot and 12 shards:
    tests/ecs/test_merged_scopes.py.)"""
    assert len(ecs_dev_plan.all(ALARM)) >= 3  # observability is on in the example
    assert alarms_go_first(ecs_dev_plan) == []
    order = Order(ecs_dev_plan)
    drain = ecs_dev_plan.one(INVOCATION)
    # Not by accident of waves: each of them waits for the drain.
    for alarm in ecs_dev_plan.all(ALARM):
        assert drain.urn in alarm.dependencies and order.deleted_before(alarm, drain)


def test_alarms_go_first_catches_an_alarm_beside_the_drain(ecs_dev_plan: Plan) -> None:
    """Main's merged wiring: nothing orders the alarms and the drain."""
    plan = copy.deepcopy(ecs_dev_plan)
    drain = plan.one(INVOCATION)
    for resource in plan.resources:
        resource.dependencies = [u for u in resource.dependencies if u != drain.urn]
    assert any("manager-0-down may still alarm" in p for p in alarms_go_first(plan))


def test_the_in_vpc_function_goes_first_and_frees_its_security_group(eks_dev_plan: Plan) -> None:
    """The EKS start-wait sampler runs in the VPC (ECS has no such function). With its wait
    for its rules taken out and its group swap off, each defect is reported."""
    assert vpc_functions_first(eks_dev_plan) == []
    plan = copy.deepcopy(eks_dev_plan)
    function = plan.named("eks-start-wait-fn")
    rule = plan.named("eks-start-wait-api-from-sampler")
    assert rule.urn in function.dependencies
    function.dependencies = [u for u in function.dependencies if u != rule.urn]
    function.inputs["replaceSecurityGroupsOnDestroy"] = False
    problems = vpc_functions_first(plan)
    assert "eks-start-wait-fn: its ENIs keep its security groups after it is gone" in problems
    assert "eks-start-wait-api-from-sampler may be deleted before eks-start-wait-fn" in problems
