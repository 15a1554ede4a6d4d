"""The fuzzer's plan invariants catch what they claim to: each check, on a plan broken on
purpose, and none on the example stack's plans."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from components.offline.mocks import Plan, RecordedResource
from tests.fuzz.invariants import (
    iam_violations,
    leak_violations,
    name_violations,
    rendered_file_violations,
    subnet_violations,
    violations,
)
from tests.harness import SENTINEL_PREFIX, sentinel


def resource(type_: str, logical: str, **inputs: Any) -> RecordedResource:
    urn = f"urn:{logical}"
    return RecordedResource(type_, logical, urn, None, inputs, copy.deepcopy(inputs), True)


def plan_of(*resources: RecordedResource, files: dict[str, str] | None = None) -> Plan:
    return Plan(list(resources), {}, {}, files or {})


@pytest.mark.parametrize("plan_name", ["ecs_dev_plan", "eks_dev_plan"])
def test_the_example_stack_holds_every_invariant(
    plan_name: str, request: pytest.FixtureRequest
) -> None:
    assert violations(request.getfixturevalue(plan_name), SENTINEL_PREFIX) == []


def test_names_too_long_or_invalid_for_aws_and_kubernetes_are_caught() -> None:
    plan = plan_of(
        resource("aws:iam/role:Role", "r" * 57),  # auto-named: 57 + 8 > 64
        resource("aws:sqs/queue:Queue", "q", name="bad name"),
        resource("kubernetes:core/v1:Namespace", "ns", metadata={"name": "Runner_1"}),
        resource("kubernetes:helm.sh/v3:Release", "rel", name="x" * 54, namespace="ok"),
    )
    found = name_violations(plan)
    assert len(found) == 4, found


def test_iam_documents_over_their_limits_are_caught() -> None:
    big = json.dumps({"Statement": [{"Resource": "x" * 5200}]})
    plan = plan_of(
        resource("aws:iam/rolePolicy:RolePolicy", "a", role="r", policy=big),
        resource("aws:iam/rolePolicy:RolePolicy", "b", role="r", policy=big),
        resource("aws:iam/policy:Policy", "m", policy=json.dumps({"x": "y" * 6200})),
    )
    assert len(iam_violations(plan)) == 2


def test_overlapping_and_repeated_subnets_are_caught() -> None:
    plan = plan_of(
        resource("aws:ec2/subnet:Subnet", "a", cidrBlock="10.0.0.0/24"),
        resource("aws:ec2/subnet:Subnet", "b", cidrBlock="10.0.0.128/25"),
        resource("aws:eks/fargateProfile:FargateProfile", "p", subnetIds=["s-1", "s-1"]),
    )
    assert len(subnet_violations(plan)) == 2


def test_rendered_files_that_do_not_parse_are_caught() -> None:
    files = {"a.toml": "x = ", "b.yaml": "a: [", "c.json": "{", "d.sh": "#!/bin/bash\nif\n"}
    assert len(rendered_file_violations(plan_of(files=files))) == 4


def test_tokens_outside_secrets_are_caught_even_in_base64() -> None:
    token = sentinel("fargate")
    hidden = base64.b64encode(f"#!/bin/bash\necho {token} {'x' * 60}".encode()).decode()
    plan = plan_of(
        resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", userData=hidden),
        resource("aws:ssm/parameter:Parameter", "p", value=token),
    )
    assert len(leak_violations(plan, SENTINEL_PREFIX)) == 2
