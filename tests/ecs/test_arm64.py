"""ECS mode with arm64 (Graviton) catalogue entries beside x86_64 ones (issue 18).

What the task runs on is decided by the task definition alone: the Fargate driver's RunTask
call names only the task definition (tests/upstream/architectures.json), so an ARM64
runtimePlatform is all a job needs, and the managers stay x86_64.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.config import ConfigError, parse_config
from components.config.schema_ecs import DEFAULT_JOB_IMAGE, DEFAULT_MANAGER_AMI_PARAMETER
from components.ecs.catalogue import render_gitlab_ci_example, task_family
from components.offline.mocks import Plan
from components.topology import ecs_fleet_spec
from tests.ecs.support import (
    LAUNCH_TEMPLATE,
    TASK_DEFINITION,
    named,
    policy_document,
    statements,
    user_data,
)
from tests.harness import dev_config, run_program

FACTS = json.loads(
    (Path(__file__).resolve().parent.parent / "upstream" / "architectures.json").read_text()
)
ARM_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci/coordinator-debian:bookworm"
CATALOGUE = [
    {"name": "debian", "image": DEFAULT_JOB_IMAGE},
    {"name": "graviton", "image": ARM_IMAGE, "architecture": "arm64"},
    {"name": "big-arm", "image": ARM_IMAGE, "architecture": "arm64", "cpu": 2048, "memory": 4096},
]
RUNNERS = [
    {"name": "fargate", "tags": ["fargate"], "concurrency": 20},
    # A spot runner whose default entry is arm64: FARGATE_SPOT runs ARM64 on platform 1.4.0.
    {
        "name": "arm-spot",
        "lane": "spot",
        "tags": ["arm-spot"],
        "concurrency": 20,
        "taskDefinition": "graviton",
    },
]


def mixed(**overrides: Any) -> dict[str, Any]:
    ecs = {"taskDefinitions": CATALOGUE, **overrides.pop("ecs", {})}
    return dev_config(runners=RUNNERS, ecs=ecs, **overrides)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program(mixed())


def test_arm64_entries_render_arm64_task_definitions_beside_the_x86_one(plan: Plan) -> None:
    platforms = {
        entry["name"]: named(plan, TASK_DEFINITION, f"ecs-task-{entry['name']}")["runtimePlatform"]
        for entry in CATALOGUE
    }
    assert platforms == {
        "debian": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        "graviton": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
        "big-arm": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
    }
    graviton = named(plan, TASK_DEFINITION, "ecs-task-graviton")
    assert graviton["family"] == "gitlab-runners-dev-graviton"
    assert graviton["requiresCompatibilities"] == ["FARGATE"]
    assert json.loads(graviton["containerDefinitions"])[0]["image"] == ARM_IMAGE
    # One execution role for every architecture: pulling an image is not per architecture.
    roles = {
        named(plan, TASK_DEFINITION, f"ecs-task-{e['name']}")["executionRoleArn"] for e in CATALOGUE
    }
    assert len(roles) == 1


def test_aws_accepts_the_arm64_task_definition(plan: Plan) -> None:
    """botocore validates the request shape, moto registers it with its runtime platform."""
    with mock_aws():
        ecs = boto3.client("ecs", region_name="eu-west-1")
        inputs = named(plan, TASK_DEFINITION, "ecs-task-graviton")
        registered = ecs.register_task_definition(
            family=inputs["family"],
            containerDefinitions=json.loads(inputs["containerDefinitions"]),
            requiresCompatibilities=inputs["requiresCompatibilities"],
            networkMode=inputs["networkMode"],
            cpu=inputs["cpu"],
            memory=inputs["memory"],
            runtimePlatform=inputs["runtimePlatform"],
            executionRoleArn=inputs["executionRoleArn"],
        )["taskDefinition"]
        assert registered["runtimePlatform"]["cpuArchitecture"] == "ARM64"


def test_jobs_pick_arm64_with_fargate_task_definition_and_the_driver_adds_nothing(
    plan: Plan,
) -> None:
    # The driver's RunTask input: no runtime platform, launch type or capacity provider, so
    # the family a job names (or the runner's default) decides the architecture.
    fields = FACTS["driver"]["run_task_input_fields"]["fields"]
    assert "TaskDefinition" in fields
    assert not {"RuntimePlatform", "LaunchType", "CapacityProviderStrategy"} & set(fields)
    spot = tomllib.loads(plan.rendered_files["/etc/gitlab-runner/fargate-arm-spot.toml"])
    assert spot["Fargate"]["TaskDefinition"] == "gitlab-runners-dev-graviton"
    # ARM64 needs platform 1.4.0, which is what the runners ask for.
    assert spot["Fargate"]["PlatformVersion"] == "1.4.0"
    on_demand = tomllib.loads(plan.rendered_files["/etc/gitlab-runner/fargate-fargate.toml"])
    assert on_demand["Fargate"]["TaskDefinition"] == "gitlab-runners-dev-debian"


def test_managers_may_start_the_arm64_families_and_only_the_catalogue(plan: Plan) -> None:
    """RunTask is scoped by the stack's family prefix (IAM's size limit, tests/ecs/
    test_iam_size.py): the arm64 families fall under it, another stack's do not."""
    (run,) = [
        s
        for s in statements(policy_document(plan, "ecs-manager-policy"))
        if s["Action"] == "ecs:RunTask"
    ]
    arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition"
    assert run["Resource"] == f"{arn}/gitlab-runners-dev-*:*"
    families = {r.inputs["family"] for r in plan.all("aws:ecs/taskDefinition:TaskDefinition")}
    assert families == {
        "gitlab-runners-dev-big-arm",
        "gitlab-runners-dev-debian",
        "gitlab-runners-dev-graviton",
    }
    assert all(fnmatch.fnmatchcase(f"{arn}/{family}:3", run["Resource"]) for family in families)
    assert not fnmatch.fnmatchcase(f"{arn}/gitlab-runners-prod-graviton:3", run["Resource"])


def test_managers_stay_x86_64(plan: Plan) -> None:
    templates = [r for r in plan.all(LAUNCH_TEMPLATE) if r.name.startswith("ecs-")]
    assert templates
    for template in templates:
        assert template.inputs["imageId"] == f"resolve:ssm:{DEFAULT_MANAGER_AMI_PARAMETER}"
        assert DEFAULT_MANAGER_AMI_PARAMETER.endswith("-x86_64")
        assert not template.inputs["instanceType"].split(".")[0].endswith("g")
    script = user_data(plan)
    assert "fargate-linux-amd64" in script and "gitlab-runner-linux-amd64" in script


def test_example_pipeline_names_the_arm64_family() -> None:
    config, _ = parse_config(mixed())
    families = {
        t.name: task_family("gitlab-runners-dev", t.name) for t in config.ecs.task_definitions
    }
    example = render_gitlab_ci_example(ecs_fleet_spec(config), families)
    assert "FARGATE_TASK_DEFINITION: gitlab-runners-dev-graviton" in example


def test_arm64_with_the_amd64_only_default_image_is_refused() -> None:
    catalogue = [{"name": "debian", "image": DEFAULT_JOB_IMAGE, "architecture": "arm64"}]
    with pytest.raises(ConfigError) as raised:
        parse_config(dev_config(ecs={"taskDefinitions": catalogue}))
    (problem,) = raised.value.problems
    assert problem.startswith(f"ecs.taskDefinitions[0] (debian).image: '{DEFAULT_JOB_IMAGE}'")
    assert "built for linux/amd64 only" in problem and "use architecture x86_64" in problem


def test_architecture_is_checked_and_defaults_to_x86_64() -> None:
    config, _ = parse_config(dev_config())
    assert {t.architecture for t in config.ecs.task_definitions} == {"x86_64"}
    bad = [{"name": "debian", "image": ARM_IMAGE, "architecture": "aarch64"}]
    with pytest.raises(ConfigError) as raised:
        parse_config(dev_config(ecs={"taskDefinitions": bad}))
    assert any(
        "ecs.taskDefinitions[0] (debian).architecture" in p and "aarch64" in p
        for p in raised.value.problems
    )


def test_runner_architecture_is_an_eks_key_and_ecs_says_so() -> None:
    runners = [{"name": "fargate", "architecture": "arm64"}]
    _, warnings = parse_config(dev_config(runners=runners))
    assert any(
        w.startswith("runners[0] (fargate).architecture is ignored in ecs mode") for w in warnings
    )


def test_no_platform_below_the_1_4_0_arm64_needs_is_accepted() -> None:
    """ARM64 (and FARGATE_SPOT with ARM64) needs Fargate platform 1.4.0: ecs.platformVersion
    admits only 1.4.0 and LATEST (which is 1.4.0), so no arm64 entry can meet an older one."""
    for old in ("1.3.0", "1.2.0"):
        with pytest.raises(ConfigError) as raised:
            parse_config(mixed(ecs={"platformVersion": old}))
        assert any(p.startswith("ecs.platformVersion") for p in raised.value.problems)
    for accepted in ("1.4.0", "LATEST"):
        parse_config(mixed(ecs={"platformVersion": accepted}))
