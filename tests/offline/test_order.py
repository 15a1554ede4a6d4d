"""The engine-order model on small hand-made plans whose order the engine's rules fix, then on
the example stack: a model that cannot tell a wrong order from a right one fails here."""

from __future__ import annotations

from typing import Any

import pytest

from components.offline.mocks import Plan, RecordedResource
from components.offline.order import (
    Order,
    removal,
    replacement_order,
    replacements,
    skipped_deletes,
)


def _resource(
    name: str,
    type_: str = "aws:s3/bucket:Bucket",
    deps: tuple[str, ...] = (),
    parent: str | None = None,
    custom: bool = True,
    inputs: dict[str, Any] | None = None,
    **options: Any,
) -> RecordedResource:
    return RecordedResource(
        type=type_,
        name=name,
        urn=f"urn:{name}",
        parent=f"urn:{parent}" if parent else None,
        inputs=inputs or {},
        redacted_inputs=inputs or {},
        custom=custom,
        dependencies=[f"urn:{d}" for d in deps],
        **options,
    )


def _plan(*resources: RecordedResource) -> Plan:
    return Plan(resources=list(resources), outputs={}, redacted_outputs={}, rendered_files={})


def _names(waves: list[list[RecordedResource]]) -> list[set[str]]:
    return [{r.name for r in wave} for wave in waves]


def test_dependents_go_first_and_unrelated_resources_in_the_first_wave() -> None:
    order = Order(
        _plan(
            _resource("vpc"),
            _resource("nat", deps=("vpc",)),
            _resource("cluster", deps=("vpc",)),
            _resource("bucket"),
        )
    )
    assert _names(order.waves()) == [{"nat", "cluster", "bucket"}, {"vpc"}]
    assert order.deleted_before("cluster", "vpc")
    assert not order.deleted_before("cluster", "nat")  # unrelated: same wave, in parallel


def test_children_go_before_their_parent_and_a_component_dependency_covers_its_children() -> None:
    order = Order(
        _plan(
            _resource("network", type_="project:shared:Network", custom=False),
            _resource("nat", parent="network"),
            _resource("drain", deps=("network",)),
        )
    )
    assert order.deleted_before("nat", "network")
    # depends_on the component: the drain goes before every resource under it.
    assert order.deleted_before("drain", "nat")
    assert _names(order.waves()) == [{"drain"}, {"nat"}, {"network"}]


def test_a_component_parent_passes_its_dependencies_on_to_its_children() -> None:
    order = Order(
        _plan(
            _resource("egress"),
            _resource("runner", type_="project:eks:Runner", custom=False, deps=("egress",)),
            _resource("release", parent="runner"),
        )
    )
    assert order.deleted_before("release", "egress")


def test_removal_deletes_only_what_left_and_in_dependency_order() -> None:
    group = _resource("group")
    hook = _resource("hook", deps=("group",))
    kept = _resource("cluster")
    before = _plan(kept, group, hook)
    after = _plan(kept)
    assert _names(removal(before, after)) == [{"hook"}, {"group"}]


def test_deleted_with_and_retain_on_delete_skip_the_provider_delete() -> None:
    """pulumi/pulumi pkg/resource/deploy/step.go DeleteStep.Apply: no Delete call for a
    retained resource, nor for one deleted_with a resource deleted in the same operation."""
    group = _resource("group")
    hook = _resource("hook", deps=("group",), deleted_with="urn:group")
    kept = _resource("kept", retain_on_delete=True)
    plan = _plan(group, hook, kept)
    everything = [r.urn for r in plan.resources]
    assert skipped_deletes(plan, everything) == {"urn:hook", "urn:kept"}
    # The hook alone (its group stays): its delete does run.
    assert skipped_deletes(plan, ["urn:hook"]) == set()
    # The engine still orders it before its group (deleted_with is a dependency edge).
    assert _names(Order(plan).waves()) == [{"hook", "kept"}, {"group"}]


def test_replacement_order_follows_delete_before_replace() -> None:
    assert replacement_order(_resource("a")) == "create-then-delete"
    assert replacement_order(_resource("b", delete_before_replace=True)) == "delete-then-create"


def test_replacements_see_forcing_inputs_and_respect_ignore_changes() -> None:
    invocation = "aws:lambda/invocation:Invocation"
    before = _plan(
        _resource("drain", type_=invocation, inputs={"functionName": "reaper-1", "input": "{}"}),
        _resource("kept", type_=invocation, inputs={"functionName": "reaper-1"}),
    )
    after = _plan(
        _resource("drain", type_=invocation, inputs={"functionName": "reaper-2", "input": "{}"}),
        _resource(
            "kept",
            type_=invocation,
            inputs={"functionName": "reaper-2"},
            ignore_changes=["functionName"],
        ),
    )
    found = replacements(before, after)
    assert [(r.after.name, r.inputs) for r in found] == [("drain", ("functionName",))]
    assert found[0].side_effect == "a CRUD invocation runs its function on delete"


def test_replace_on_changes_is_honoured() -> None:
    before = _plan(_resource("r", inputs={"spec": {"a": 1}}, replace_on_changes=["spec.a"]))
    after = _plan(_resource("r", inputs={"spec": {"a": 2}}, replace_on_changes=["spec.a"]))
    assert [r.inputs for r in replacements(before, after)] == [("spec.a",)]


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_the_example_stack_has_an_order(mode: str, ecs_dev_plan: Plan, eks_dev_plan: Plan) -> None:
    """Every recorded resource lands in a wave, the stack's VPC in a late one: the model reads
    the real registrations, not an empty graph."""
    plan = ecs_dev_plan if mode == "ecs" else eks_dev_plan
    order = Order(plan)
    waves = order.waves()
    assert sum(len(w) for w in waves) == len(plan.resources)
    vpc = plan.one("aws:ec2/vpc:Vpc")
    assert order.wave_of(vpc) >= 2
    subnets = plan.all("aws:ec2/subnet:Subnet")
    assert subnets and all(order.deleted_before(s, vpc) for s in subnets)


def test_a_provider_outlives_the_resources_it_manages() -> None:
    order = Order(
        _plan(
            _resource("cluster"),
            _resource("k8s", "pulumi:providers:kubernetes", deps=("cluster",)),
            _resource("namespace", "kubernetes:core/v1:Namespace", provider="urn:k8s"),
        )
    )
    assert _names(order.waves()) == [{"namespace"}, {"k8s"}, {"cluster"}]
    assert order.deleted_before("namespace", "cluster")
