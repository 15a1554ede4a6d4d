"""Bad settings of the plugin's inputs: each refused with one per-property error and the
stack file's text before anything registers, a secret in a task environment refused unshown,
and the stack file's warnings for what a fleet ignores or writes in plain text and across
keys (provider/fleet_checks.py)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.runtime import rpc

from components.config import parse_config
from tests.harness import sentinel
from tests.package.doors import SUBNETS, VPC
from tests.package.provider_support import (
    ECS,
    EKS,
    ENTRY,
    WARM,
    construct_plan,
    fleet_provider,
    one_refusal,
    refused,
    wire_inputs,
)

WARM_STACK = [{k: int(v) if isinstance(v, float) else v for k, v in WARM.items()}]
# (component, inputs, the property refused, the stack config with that value or None).
BAD: list[tuple[str, dict[str, Any], str, dict[str, Any] | None]] = [
    (
        EKS,
        {"runners": [{**WARM, "lane": "fargate"}]},
        "runners[0].warmJobs",
        {"mode": "eks", "runners": [{**WARM_STACK[0], "lane": "fargate"}]},
    ),
    (
        EKS,
        {"runners": [WARM], "runnerChartVersion": "0.87.0"},
        "runners[0].warmJobs",
        {"mode": "eks", "runners": WARM_STACK, "eks": {"runnerChartVersion": "0.87.0"}},
    ),
    (
        EKS,
        {"runners": [{**WARM, "warmJobs": 30.0}]},
        "runners[0].warmJobs",
        {"mode": "eks", "runners": [{**WARM_STACK[0], "warmJobs": 30}]},
    ),
    (
        EKS,
        {"runners": [{**WARM, "warmPeriods": ["8-17 mon-fri"]}]},
        "runners[0].warmPeriods",
        {"mode": "eks", "runners": [{**WARM_STACK[0], "warmPeriods": ["8-17 mon-fri"]}]},
    ),
    (
        EKS,
        {"runners": [{**WARM, "warmTimezone": "Berlin"}]},
        "runners[0].warmTimezone",
        {"mode": "eks", "runners": [{**WARM_STACK[0], "warmTimezone": "Berlin"}]},
    ),
    (
        ECS,
        {"runners": [{"name": "build", "concurrency": 2.0, "requestConcurrency": 4.0}]},
        "runners[0].requestConcurrency",
        {"runners": [{"name": "build", "concurrency": 2, "requestConcurrency": 4}]},
    ),
    *(
        (
            ECS,
            {"taskDefinitions": [{**ENTRY, key: value}]},
            path,
            {"ecs": {"taskDefinitions": [{**ENTRY, key: value}]}},
        )
        for key, value, path in (
            ("environment", {"SSH_PUBLIC_KEY": "x"}, "environment.SSH_PUBLIC_KEY"),
            ("environment", {"1X": "x"}, "environment.1X"),
            ("taskRolePolicyArns", ["arn:aws:iam::aws:role/Admin"], "taskRolePolicyArns"),
            (
                "taskRolePolicyArns",
                [f"arn:aws:iam::123456789012:policy/p{i}" for i in range(11)],
                "taskRolePolicyArns",
            ),
            ("repositoryCredentialsArn", "arn:aws:s3:::bucket", "repositoryCredentialsArn"),
        )
        for path in [f"taskDefinitions[0].{path}"]
    ),
    (ECS, {"driverVersion": "v0.5.0"}, "driverVersion", {"ecs": {"driverVersion": "v0.5.0"}}),
    (
        ECS,
        {"managerInstanceType": "m7g.large"},
        "managerInstanceType",
        {"ecs": {"managerInstanceType": "m7g.large"}},
    ),
    (ECS, {"checkInterval": 0.0}, "checkInterval", {"ecs": {"checkInterval": 0}}),
    (
        EKS,
        {"endpointAccess": "private", "publicAccessCidrs": ["10.0.0.0/8"]},
        "publicAccessCidrs",
        {
            "mode": "eks",
            "eks": {"endpointAccess": "private", "publicAccessCidrs": ["10.0.0.0/8"]},
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            },
        },
    ),
    (
        EKS,
        {"managerPlacement": "ec2", "systemCpuLimit": 1.0},
        "systemCpuLimit",
        {
            "mode": "eks",
            "runners": [{"name": "build", "concurrency": 20}, {"name": "spot", "concurrency": 20}],
            "runnerTokens": {"build": "glrt-x", "spot": "glrt-y"},
            "eks": {"managerPlacement": "ec2", "systemCpuLimit": 1},
        },
    ),
    (EKS, {"runnerChartVersion": "1.0.0"}, "runnerChartVersion", None),
    (EKS, {"kubeconfigRoleArn": "arn:aws:iam::123456789012:user/ci"}, "kubeconfigRoleArn", None),
    (
        EKS,
        {"helperImage": "Helper:"},
        "helperImage",
        {"mode": "eks", "images": {"helperImage": "Helper:"}},
    ),
    (
        ECS,
        {"buildCacheExpirationDays": 0.0},
        "buildCacheExpirationDays",
        {"cache": {"expirationDays": 0}},
    ),
    (
        ECS,
        {
            "buildCacheExpirationDays": 30.0,
            "buildCacheBucket": {"name": "b", "arn": "arn:aws:s3:::b", "region": "eu-west-1"},
        },
        "buildCacheExpirationDays",
        None,
    ),
]


@pytest.mark.parametrize(
    ("token", "inputs", "path", "stack"), BAD, ids=[f"{t[-14:-11]}-{p}" for t, _, p, _ in BAD]
)
def test_a_bad_setting_is_one_property_error_with_the_stack_files_text(
    token: str, inputs: dict[str, Any], path: str, stack: dict[str, Any] | None
) -> None:
    runners = inputs.get("runners")
    if runners is not None:  # a token for each runner, secret as a consumer passes it
        tokens = {r["name"]: sentinel(r["name"]) for r in runners}
        inputs = {**inputs, "runnerTokens": pulumi.Output.secret(tokens)}
    one_refusal(token, inputs, path, stack)


@pytest.mark.parametrize(
    "secret",
    [pulumi.Output.secret("hunter2"), rpc.wrap_rpc_secret("hunter2")],
    ids=["output-value", "wrapped"],
)
def test_a_secret_in_a_task_environment_is_refused_unshown(secret: Any) -> None:
    """The engine sends a secret as an output value to a provider that accepts them, else as
    the secret signature inside the plain list (rpc.py `wrap_rpc_secret`); both are refused,
    since the container definition would hold it in plain text."""
    entry = {**ENTRY, "environment": {"TZ": "UTC", "DB_PASSWORD": secret}}
    errors, plan = refused(ECS, wire_inputs(taskDefinitions=[entry]))
    assert [e["property_path"] for e in errors] == ["taskDefinitions[0].environment.DB_PASSWORD"]
    assert "Secrets Manager" in errors[0]["reason"] and "hunter2" not in errors[0]["reason"]
    assert plan.resources == []


def test_runner_settings_of_the_other_mode_and_plain_credentials_get_the_stack_files_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_a, **_k: warned.append(message))
    key = "AKIA" + "ABCDEFGHIJKLMNOP"
    runners = [{"name": "build", "warmJobs": 2.0}, {"name": "build-spot", "lane": "spot"}]
    entry = {**ENTRY, "environment": {"AWS_ACCESS_KEY_ID": key}}
    construct_plan(ECS, wire_inputs(runners=runners, taskDefinitions=[entry]))
    ours = [w.removeprefix("EcsRunnerFleet 'ci': ") for w in warned]
    stack = parse_config(
        {"runners": [{"name": "build", "warmJobs": 2}], "runnerTokens": {"build": sentinel("b")}}
    )[1]
    ignored = "runners[0] (build).warmJobs is ignored in ecs mode (it is used by eks)"
    assert ignored in ours and ignored in stack
    (credential,) = [w for w in ours if "AWS_ACCESS_KEY_ID" in w]
    assert "an AWS access key id" in credential and key not in credential


# Values every rule passes that the stack file's checks across keys warn about
# (provider/fleet_checks.py): (mode, runners, the section, the starts of the warnings).
ACROSS_WARNINGS = [
    (
        "ecs",
        [{"name": "build", "concurrency": 5}],
        {"runnerVersion": "19.2.0", "managerInstanceType": "t3.micro"},
        ["ecs.runnerVersion: '19.2.0' is not the tested", "ecs.managerInstanceType: 't3.micro'"],
    ),
    (
        "eks",
        [{"name": "build", "concurrency": 2000, "cpu": 16384, "memory": 32768}],
        {"instanceCategories": ["c", "g"], "endpointAccess": "private", "pollTimeoutSeconds": 180},
        [
            "eks.instanceCategories: 'g' is the GPU category",
            "runners[0] (build): jobs with more than 0 `services:`",
            "eks.pollTimeoutSeconds: 180 s may be too short",
            "eks.endpointAccess: private with neither",
        ],
    ),
    (
        "eks",
        [{"name": "build"}],
        {"runnerChartVersion": "0.91.0", "karpenterVersion": "1.9.0"},
        [
            "eks.runnerChartVersion: '0.91.0' is not the tested",
            "eks.publicAccessCidrs: the Kubernetes API endpoint is open to the whole internet",
        ],
    ),
]


@pytest.mark.parametrize(("mode", "runners", "section", "starts"), ACROSS_WARNINGS)
def test_valid_values_get_the_stack_files_warnings_across_keys(
    mode: str,
    runners: list[dict[str, Any]],
    section: dict[str, Any],
    starts: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plugin runs the stack file's checks across keys once its rules passed, and logs
    their warnings in the stack file's words."""
    tokens = {r["name"]: sentinel(r["name"]) for r in runners}
    network = {"vpcId": VPC, "privateSubnetIds": SUBNETS}
    raw = {"mode": mode, "runners": runners, "runnerTokens": tokens, mode: section}
    stack = parse_config({**raw, "network": network})[1]
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_a, **_k: warned.append(message))
    monkeypatch.setattr(ComponentProvider, "construct", lambda *_a, **_k: "constructed")
    inputs = {"namePrefix": "ci", **network, **section, "runners": runners, "runnerTokens": tokens}
    inputs.update({"clusterName": "ci-runners"} if mode == "eks" else {})
    token = ECS if mode == "ecs" else EKS
    fleet_provider().construct("ci", token, inputs, pulumi.ResourceOptions())
    component = "EcsRunnerFleet" if mode == "ecs" else "EksRunnerFleet"
    ours = [w.removeprefix(f"{component} 'ci': ") for w in warned]
    for start in starts:
        (found,) = [w for w in ours if w.startswith(start)]
        assert found in stack
