"""Lookups into ECS plans; the plans are session fixtures in tests/conftest.py and here."""

from __future__ import annotations

import json
from typing import Any

from components.ecs.runner import TYPE_TOKEN
from components.ecs.user_data import decode_user_data
from components.offline.mocks import Plan, RecordedResource

COMPONENT = TYPE_TOKEN
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
CLUSTER = "aws:ecs/cluster:Cluster"
CAPACITY = "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LIFECYCLE_HOOK = "aws:autoscaling/lifecycleHook:LifecycleHook"
INVOCATION = "aws:lambda/invocation:Invocation"
SCHEDULE = "aws:scheduler/schedule:Schedule"
REAPER = "gitlab-fargate-runners:ecs:TaskReaper"

EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "privateSubnetIds": ["subnet-0aaa0000000000001", "subnet-0bbb0000000000002"],
}
TASK_ROLE_POLICY = "arn:aws:iam::123456789012:policy/ci-deploy"


def big_catalogue(entries: int, arm64_every_other: bool = False) -> list[dict[str, Any]]:
    """`entries` catalogue entries, each with a task role: the IAM size tests' catalogue."""
    return [
        {
            "name": f"image-{i:02d}",
            "image": f"registry.example.com/ci/image-{i:02d}:1",
            "taskRolePolicyArns": [TASK_ROLE_POLICY],
            **({"architecture": "arm64"} if arm64_every_other and i % 2 else {}),
        }
        for i in range(entries)
    ]


def component(plan: Plan) -> RecordedResource:
    return plan.one(COMPONENT)


def named(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    return plan.one(type_, name).inputs


def policy_document(plan: Plan, name: str) -> dict[str, Any]:
    return json.loads(named(plan, ROLE_POLICY, name)["policy"])


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["Statement"]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else list(value)


def statement_for(document: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for s in statements(document) if action in actions(s)]
    assert len(found) == 1, f"{action}: {len(found)} statements"
    return found[0]


def user_data(plan: Plan) -> str:
    return decode_user_data(named(plan, LAUNCH_TEMPLATE, "ecs-manager-lt")["userData"])


def container(plan: Plan, entry: str) -> dict[str, Any]:
    (only,) = json.loads(named(plan, TASK_DEFINITION, f"ecs-task-{entry}")["containerDefinitions"])
    return only
