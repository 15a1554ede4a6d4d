"""The fixed set of stacks whose plans the parity baseline records: the example stack in both
modes and variants that reach the other branches of the program (manager shards and the spot
lane, arm64, an existing VPC, runners created in GitLab, observability off, both kinds of
alerts, managers on EC2 with every lane). Fixed here, not shared with other tests, so an edit to
another test's config never moves the baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.harness import GITLAB_TOKEN_SENTINEL, dev_config

EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "privateSubnetIds": ["subnet-0aaa0000000000001", "subnet-0bbb0000000000002"],
}
ARM_IMAGE = "public.ecr.aws/docker/library/alpine:3.22"
CREATED = {"createRunners": True, "runnerType": "group", "groupId": 42}


def _ecs_shards() -> dict[str, Any]:
    """1000 jobs over three runners (one spot): five manager shards in three zones."""
    config = dev_config(
        runners=[
            {"name": "build", "concurrency": 500},
            {"name": "test", "concurrency": 301},
            {"name": "spot", "lane": "spot", "concurrency": 199},
        ]
    )
    config["network"] = {**config["network"], "availabilityZones": 3, "vpcCidr": "10.42.0.0/16"}
    return config


def _ecs_arm64_existing_vpc() -> dict[str, Any]:
    """An arm64 spot runner beside an x86 one, in an existing VPC, Container Insights on."""
    config = dev_config(
        network=EXISTING_VPC,
        runners=[
            {"name": "fargate", "tags": ["fargate"], "concurrency": 20},
            {
                "name": "arm-spot",
                "lane": "spot",
                "tags": ["arm-spot"],
                "concurrency": 20,
                "taskDefinition": "graviton",
            },
        ],
    )
    config["ecs"] = {
        **config["ecs"],
        "containerInsights": True,
        "taskDefinitions": [
            *config["ecs"]["taskDefinitions"],
            {"name": "graviton", "image": ARM_IMAGE, "architecture": "arm64"},
        ],
    }
    return config


def _created_runners(mode: str) -> dict[str, Any]:
    """Runners created in GitLab with the access token, alerts by email."""
    config = dev_config(mode=mode, alerts={"email": "platform-team@example.com"})
    del config["runnerTokens"]
    return {**config, "gitlab": CREATED, "gitlabToken": GITLAB_TOKEN_SENTINEL}


def _eks_full() -> dict[str, Any]:
    """Managers on EC2, every lane (arm64 spot, privileged), an admin role, alerts to an
    existing topic."""
    return dev_config(
        mode="eks",
        ecs=None,
        alerts={"snsTopicArn": "arn:aws:sns:eu-west-1:123456789012:platform-alerts"},
        runners=[
            {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
            {"name": "spot", "lane": "spot", "architecture": "arm64", "concurrency": 10},
            {"name": "docker", "lane": "privileged", "concurrency": 5},
        ],
        eks={
            "managerPlacement": "ec2",
            "adminRoleArns": ["arn:aws:iam::123456789012:role/platform-admins"],
        },
    )


STACKS: dict[str, Callable[[], dict[str, Any]]] = {
    "ecs-dev": dev_config,
    "eks-dev": lambda: dev_config(mode="eks"),
    "ecs-shards": _ecs_shards,
    "ecs-arm64-existing-vpc": _ecs_arm64_existing_vpc,
    "ecs-created-runners": lambda: _created_runners("ecs"),
    "eks-created-runners": lambda: _created_runners("eks"),
    "ecs-observability-off": lambda: dev_config(observability={"enabled": False}),
    "eks-observability-off": lambda: dev_config(mode="eks", observability={"enabled": False}),
    "eks-existing-vpc": lambda: dev_config(mode="eks", network=EXISTING_VPC),
    "eks-full": _eks_full,
}
