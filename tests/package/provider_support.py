"""What the provider tests share: the plugin folder on the import path, inputs as the engine
hands them to construct, and a construct run under the recording mocks."""

from __future__ import annotations

import sys
from typing import Any

import pulumi
import pytest
from pulumi.errors import InputPropertiesError

from components.config import ConfigError, parse_config
from components.offline.mocks import Plan, record
from components.topology import StackResult
from tests.harness import ROOT, sentinel

sys.path.insert(0, str(ROOT / "provider"))
from fleet_provider import PACKAGE, fleet_provider

ECS = f"{PACKAGE}:index:EcsRunnerFleet"
EKS = f"{PACKAGE}:index:EksRunnerFleet"


def wire_inputs(**extra: Any) -> dict[str, Any]:
    """Inputs as construct gets them: numbers as floats, tokens secret, ids as Outputs."""
    return {
        "namePrefix": "ci-runners",
        "runners": [
            {"name": "build", "concurrency": 20.0},
            {"name": "build-spot", "lane": "spot", "concurrency": 20.0},
        ],
        "runnerTokens": pulumi.Output.secret(
            {"build": sentinel("build"), "build-spot": sentinel("build-spot")}
        ),
        "vpcId": pulumi.Output.from_input("vpc-0123456789abcdef0"),
        "privateSubnetIds": pulumi.Output.from_input(
            ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
        ),
        **extra,
    }


def construct_plan(token: str, inputs: dict[str, Any]) -> Plan:
    """The plan of one fleet built through the provider's construct path."""

    def build(_warn: Any) -> StackResult:
        result = fleet_provider().construct("ci", token, inputs, pulumi.ResourceOptions())
        return StackResult(outputs=dict(result.state), rendered_files={})

    return record(build, {})


def refused(token: str, inputs: dict[str, Any]) -> tuple[list[dict[str, str]], Plan]:
    """The per-property errors construct raises for these inputs, and what it registered."""
    errors: list[dict[str, str]] = []

    def build(_warn: Any) -> StackResult:
        with pytest.raises(InputPropertiesError) as error:
            fleet_provider().construct("ci", token, inputs, pulumi.ResourceOptions())
        errors.extend(dict(e) for e in error.value.errors or [])
        return StackResult(outputs={}, rendered_files={})

    return errors, record(build, {})


def one_refusal(token: str, inputs: dict[str, Any], path: str, stack: dict[str, Any] | None) -> str:
    """Construct with `inputs` (and a clusterName for an EKS fleet) refuses with one error at
    `path` before anything registers; its reason, which the stack file gives for the same
    value too when `stack` is that stack file. The tests of refusals share this."""
    extra: dict[str, Any] = {"clusterName": "ci-k8s"} if token == EKS else {}
    errors, plan = refused(token, wire_inputs(**inputs, **extra))
    assert [e["property_path"] for e in errors] == [path], errors
    assert plan.resources == []
    (reason,) = [e["reason"] for e in errors]
    if stack is not None:
        assert reason in stack_problems(stack)
    return reason


RUNNERS_ONE = [{"name": "build"}]


def stack_problems(config: dict[str, Any]) -> list[str]:
    """What the stack file gets for this config (one runner `build` unless it names others)."""
    tokens = {"runners": RUNNERS_ONE, "runnerTokens": {"build": sentinel("build")}}
    with pytest.raises(ConfigError) as error:
        parse_config({**tokens, **config})
    return error.value.problems


# A catalogue entry and an EC2-lane runner with every setting the plugin added for them.
REGISTRY_LOGIN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf"
POLICIES = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnly"]
ENTRY = {
    "name": "debian",
    "image": "registry.example.com/ci/coordinator:1",
    "environment": {"TZ": "UTC", "LANG": "C.UTF-8"},
    "taskRolePolicyArns": POLICIES,
    "repositoryCredentialsArn": REGISTRY_LOGIN,
}

WARM = {
    "name": "build-spot",
    "lane": "spot",
    "concurrency": 20.0,
    "warmJobs": 2.0,
    "warmPeriods": ["* 8-17 * * mon-fri"],
    "warmTimezone": "Europe/Berlin",
}
