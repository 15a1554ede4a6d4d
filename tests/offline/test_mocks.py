"""The recording mocks invent ids in the stack's own region and answer its real zones."""

from __future__ import annotations

import traceback
from typing import Any

import pytest
from pulumi.runtime import resource as pulumi_resource

from components.config import ConfigError
from components.domain.aws_regions import zone_id_prefix
from components.offline.mocks import evaluate
from tests.harness import dev_config


@pytest.mark.parametrize(
    ("region", "prefix"),
    [
        ("eu-west-1", "euw1"),
        ("us-east-1", "use1"),
        ("ap-southeast-2", "apse2"),
        ("us-gov-west-1", "usgw1"),
    ],
)
def test_zone_ids_use_the_regions_short_code(region: str, prefix: str) -> None:
    assert zone_id_prefix(region) == prefix


@pytest.mark.parametrize(
    ("region", "zones"),
    [("ap-northeast-1", ["ap-northeast-1a", "ap-northeast-1c"]), ("us-west-1", None)],
)
def test_new_vpc_subnets_sit_in_the_regions_real_zones(region: str, zones: list[str]) -> None:
    """The program places subnets in the zones the mocks answer: a region's real ones."""
    plan = evaluate(dev_config(), extra_config={"aws:region": region})
    placed = sorted({r.inputs["availabilityZone"] for r in plan.all("aws:ec2/subnet:Subnet")})
    assert placed == (zones or [f"{region}a", f"{region}b"])


def test_a_region_with_too_few_zones_is_refused_before_any_resource() -> None:
    network = {**dev_config()["network"], "availabilityZones": 3}
    with pytest.raises(ConfigError, match="us-west-1 has 2"):
        evaluate(dev_config(network=network), extra_config={"aws:region": "us-west-1"})


def test_two_resources_with_one_urn_fail_the_evaluation_as_preview_does() -> None:
    """The engine refuses a second registration of one URN ("Duplicate resource URN"); the
    mocks must too, or a program bug of that kind passes every offline test."""
    import pulumi

    from components.offline.mocks import DuplicateUrnError, record
    from components.topology import StackResult

    def build(warn: object) -> StackResult:
        for _ in range(2):
            pulumi.CustomResource("test:index:Thing", "same-name", {})
        return StackResult(outputs={}, rendered_files={})

    with pytest.raises(DuplicateUrnError, match=r"same-name.*Duplicate resource URN"):
        record(build, {})


def test_aliases_are_recorded_as_the_engine_receives_them() -> None:
    """Aliases decide whether the engine adopts an old resource or creates a new one (see
    tests/eks/test_admin_access.py): the recorder keeps both forms."""
    import pulumi

    from components.offline.mocks import record
    from components.topology import StackResult

    old = "urn:pulumi:dev::gitlab-fargate-runners::test:index:Thing::before"

    def build(warn: object) -> StackResult:
        parent = pulumi.CustomResource("test:index:Parent", "parent", {})
        pulumi.CustomResource(
            "test:index:Thing",
            "after",
            {},
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="earlier", parent=parent), old]),
        )
        return StackResult(outputs={}, rendered_files={})

    plan = record(build, {})
    parent = plan.named("parent")
    assert plan.named("after").aliases == [
        {"name": "earlier", "parentUrn": parent.urn},
        {"urn": old},
    ]
    assert parent.aliases == []


def test_an_evaluation_walks_no_stack_and_puts_the_sdks_walk_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each registration's stack walk (pulumi/runtime/resource.py `_get_stack_trace`, which
    calls traceback.extract_stack) is skipped while the mocks record, and only then: an SDK
    that renamed it would make every evaluation slow again without failing anything else."""
    walks: list[int] = []
    extract_stack = traceback.extract_stack

    def counted(*args: Any, **kwargs: Any) -> traceback.StackSummary:
        walks.append(1)
        return extract_stack(*args, **kwargs)

    monkeypatch.setattr(traceback, "extract_stack", counted)
    original = pulumi_resource._get_stack_trace
    plan = evaluate(dev_config())
    assert plan.resources and walks == []
    assert pulumi_resource._get_stack_trace is original
    original()
    assert walks == [1]
