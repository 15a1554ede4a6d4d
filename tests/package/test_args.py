"""The package's args: defaults that agree with the stack config's, and one set of value rules
behind both doors (the stack file and a program of your own)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from components.config import ConfigError, parse_config, schema
from components.domain import specs
from components.domain.fleet_rules import (
    ecs_fleet_problems,
    eks_fleet_problems,
    existing_cluster_problems,
)
from components.domain.specs import (
    EcsFleetSpec,
    EcsSpec,
    EksFleetSpec,
    EksSpec,
    ExistingCluster,
    RunnerSpec,
    TaskDefinitionSpec,
)
from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs
from components.offline import mocks
from components.shared.args import InvalidArgsError
from components.shared.network import VpcRefs
from components.topology import StackResult
from tests.harness import dev_config, sentinel

TOKENS = {"fargate": sentinel("fargate")}


def _section(path: str) -> schema.Section:
    return next(s for s in schema.SECTIONS if s.path == path)


# The settings each spec class holds, by the stack config section that sets them.
SECTIONS = {
    specs.GitLabSpec: _section("gitlab"),
    specs.CacheSpec: _section("cache"),
    specs.RunnerSpec: schema.RUNNER,
    specs.TaskDefinitionSpec: schema.TASK_DEFINITION,
    specs.NetworkSpec: _section("network"),
    specs.EcsSpec: _section("ecs"),
    specs.EksSpec: _section("eks"),
    specs.ImagesSpec: _section("images"),
    specs.PreflightSpec: _section("preflight"),
    specs.ObservabilitySpec: _section("observability"),
    specs.AlertsSpec: _section("alerts"),
}
# Defaults the parser derives from other keys (the field default is the plain fallback).
DERIVED = {
    ("RunnerSpec", "request_concurrency"),  # eks: 1 per 25 of concurrency
    ("EcsSpec", "task_definitions"),  # the parser's default catalogue, checked below
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("gi_b", "gib")


@pytest.mark.parametrize("spec", list(SECTIONS), ids=lambda c: c.__name__)
def test_spec_defaults_are_the_stack_config_defaults(spec: type) -> None:
    """A program of your own gets what a stack file without the key gets."""
    keys = {_snake(k.name): k.default for k in SECTIONS[spec].keys}
    for field in dataclasses.fields(spec):
        if field.name not in keys or (spec.__name__, field.name) in DERIVED:
            continue
        if field.default is dataclasses.MISSING:
            assert keys[field.name] is None, f"{spec.__name__}.{field.name} has no default"
            continue
        expected = keys[field.name]
        expected = tuple(expected) if isinstance(expected, list | tuple) else expected
        shown = (spec.__name__, field.name, field.default)
        assert field.default == (
            () if expected is None and field.type.startswith("tuple") else expected
        ), shown


def test_the_default_catalogue_is_the_parsers() -> None:
    config, _ = parse_config({"runners": [{"name": "fargate"}], "runnerTokens": TOKENS})
    assert EcsSpec().task_definitions == config.ecs.task_definitions


def _stack_problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse_config(config)
    return error.value.problems


BAD_RUNNERS: list[tuple[str, dict[str, Any], RunnerSpec]] = [
    ("name", {"name": "Fargate_1"}, RunnerSpec(name="Fargate_1")),
    ("lane", {"name": "dind", "lane": "privileged"}, RunnerSpec(name="dind", lane="privileged")),
    (
        "taskDefinition",
        {"name": "fargate", "taskDefinition": "nope"},
        RunnerSpec(name="fargate", task_definition="nope"),
    ),
]


@pytest.mark.parametrize(("field", "raw", "runner"), BAD_RUNNERS, ids=[b[0] for b in BAD_RUNNERS])
def test_a_bad_ecs_runner_gets_the_same_message_through_both_doors(
    field: str, raw: dict[str, Any], runner: RunnerSpec
) -> None:
    catalogue = {"taskDefinitions": [{"name": "debian", "image": "debian"}]}
    stack = _stack_problems(dev_config(runners=[raw], ecs=catalogue))
    fleet = ecs_fleet_problems(
        EcsFleetSpec(
            gitlab_url="https://gitlab.com",
            runners=(runner,),
            ecs=EcsSpec(task_definitions=(TaskDefinitionSpec(name="debian", image="debian"),)),
        )
    )
    (message,) = [p for p in fleet if f".{field}" in p or field == "name"]
    assert message in stack


def test_a_bad_catalogue_entry_gets_the_same_message_through_both_doors() -> None:
    raw = {"taskDefinitions": [{"name": "debian", "image": "debian", "cpu": 1024, "memory": 1000}]}
    stack = _stack_problems(dev_config(ecs=raw))
    entry = TaskDefinitionSpec(name="debian", image="debian", cpu=1024, memory=1000)
    fleet = ecs_fleet_problems(
        EcsFleetSpec(
            "https://gitlab.com", (RunnerSpec("fargate"),), EcsSpec(task_definitions=(entry,))
        )
    )
    assert fleet and set(fleet) <= set(stack)


@pytest.mark.parametrize("cap", [0, 251, 500])
def test_a_manager_cap_out_of_range_gets_the_stack_files_message(cap: int) -> None:
    """Above 250 no sized manager type carries a shard: the Python door raised ValueError
    from ecs/sizing.py's manager_instance_type halfway through registering the fleet."""
    stack = _stack_problems(dev_config(ecs={"maxJobsPerManager": cap}))
    fleet = EcsFleetSpec(
        "https://gitlab.com",
        (RunnerSpec("fargate", concurrency=500),),
        EcsSpec(max_jobs_per_manager=cap),
    )
    (problem,) = ecs_fleet_problems(fleet)
    assert problem in stack


BAD_PLATFORMS = [
    ({"architecture": "amd64"}, {"architecture": "amd64"}),
    ({"ephemeralStorageGiB": 500}, {"ephemeral_storage_gib": 500}),
    ({"ephemeralStorageGiB": 10}, {"ephemeral_storage_gib": 10}),
]


@pytest.mark.parametrize(("raw", "field"), BAD_PLATFORMS, ids=["arch", "storage-500", "storage-10"])
def test_a_catalogue_entry_the_stack_file_refuses_is_refused_by_the_fleet(
    raw: dict[str, Any], field: dict[str, Any]
) -> None:
    """An architecture outside x86_64 | arm64 (RunnerSpec's "amd64", say) raised KeyError in
    ecs/catalogue.py runtime_platform halfway through registering the fleet; a storage size
    outside 20-200 GiB failed at RegisterTaskDefinition during `pulumi up`."""
    stack = _stack_problems(
        dev_config(ecs={"taskDefinitions": [{"name": "debian", "image": "debian", **raw}]})
    )
    entry = TaskDefinitionSpec(name="debian", image="debian", **field)
    fleet = ecs_fleet_problems(
        EcsFleetSpec(
            "https://gitlab.com", (RunnerSpec("fargate"),), EcsSpec(task_definitions=(entry,))
        )
    )
    (problem,) = fleet
    assert problem in stack


def test_an_eks_fargate_pod_of_no_fargate_size_is_refused_and_ec2_lanes_are_not_checked() -> None:
    odd = {"cpu": 1024, "memory": 1000}
    fleet = EksFleetSpec(
        "https://gitlab.com",
        (RunnerSpec("small", **odd), RunnerSpec("spot", lane="spot", **odd)),
    )
    (problem,) = eks_fleet_problems(fleet)
    assert problem.startswith("runners[0] (small): cpu 1024 / memory 1000 is not a valid Fargate")


def test_good_fleets_have_no_problems() -> None:
    assert ecs_fleet_problems(EcsFleetSpec("https://gitlab.com", (RunnerSpec("fargate"),))) == []
    runners = (RunnerSpec("fargate"), RunnerSpec("dind", lane="privileged"))
    assert eks_fleet_problems(EksFleetSpec("https://gitlab.com", runners)) == []


def test_duplicates_and_an_empty_fleet_are_refused() -> None:
    twice = EcsFleetSpec("https://gitlab.com", (RunnerSpec("a"), RunnerSpec("a")))
    assert ecs_fleet_problems(twice) == [
        "runners: the name 'a' is used more than once; names must be unique"
    ]
    assert eks_fleet_problems(EksFleetSpec("https://gitlab.com", ())) == [
        "runners: a fleet needs at least one runner"
    ]


# The package door of eks.existingCluster: EksFargateRunnerArgs.existing_cluster.
FLEET = EksFleetSpec("https://gitlab.com", (RunnerSpec("fargate"),))


def test_a_joined_cluster_is_named_once() -> None:
    joined = ExistingCluster("platform")
    assert existing_cluster_problems(joined, "platform", FLEET) == []
    assert existing_cluster_problems(None, "gitlab-runners-dev", FLEET) == []
    (problem,) = existing_cluster_problems(joined, "gitlab-runners-dev", FLEET)
    assert problem.startswith("clusterName: 'gitlab-runners-dev' is not the cluster the fleet ")
    (problem,) = existing_cluster_problems(ExistingCluster("-x"), "-x", FLEET)
    assert problem.startswith('existingCluster.name: "-x" is not an EKS cluster name')
    (problem,) = existing_cluster_problems(ExistingCluster("p", "maybe"), "p", FLEET)
    assert problem == "existingCluster.karpenter: 'maybe' is not one of install, existing"


def test_the_stack_files_key_alone_does_not_join_a_cluster() -> None:
    """EksSpec.existing_cluster mirrors the stack file; the fleet joins through its arg."""
    fleet = dataclasses.replace(FLEET, eks=EksSpec(existing_cluster="platform"))
    (problem,) = existing_cluster_problems(None, "platform", fleet)
    assert problem.startswith("eks.existingCluster: 'platform' is set in the fleet's EksSpec")
    assert "existing_cluster=ExistingCluster(name='platform'" in problem


def test_the_eks_fleet_refuses_bad_cluster_args_before_registering_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[str] = []
    register = mocks.RecordingMonitor.RegisterResource

    def spy(self: mocks.RecordingMonitor, request: Any) -> Any:
        registered.append(request.type)
        return register(self, request)

    monkeypatch.setattr(mocks.RecordingMonitor, "RegisterResource", spy)

    def build(_warn: Any) -> StackResult:
        EksFargateRunner(
            "ci",
            EksFargateRunnerArgs(
                fleet=FLEET,
                network=VpcRefs("vpc-0123456789abcdef0", ["subnet-0123456789abcdef0"]),
                cluster_name="ci-runners",
                existing_cluster=ExistingCluster("platform", "existing"),
                name_prefix="ci-runners",
                metrics_namespace="CI",
                tokens={"fargate": sentinel("fargate")},
                tags={},
            ),
        )
        return StackResult(outputs={}, rendered_files={})

    with pytest.raises(InvalidArgsError) as raised:
        mocks.record(build, {})
    assert set(registered) <= {"pulumi:pulumi:Stack"}  # nothing of the fleet
    (problem,) = raised.value.problems
    assert problem.startswith("clusterName: 'ci-runners' is not the cluster the fleet joins")
