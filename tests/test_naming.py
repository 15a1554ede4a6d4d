"""Names derived from the stack, and the component type tokens that fix every URN."""

from __future__ import annotations

import hashlib
import re

import pytest

from components.ecs.runner import TYPE_TOKEN as ECS_RUNNER
from components.eks.cluster import TYPE_TOKEN as EKS_CLUSTER
from components.eks.karpenter import TYPE_TOKEN as KARPENTER
from components.eks.runner import TYPE_TOKEN as EKS_RUNNER
from components.eks.runner_chart import TYPE_TOKEN as RUNNER_CHART
from components.naming import (
    EKS_CLUSTER_NAME_LIMIT,
    LAMBDA_FUNCTION_NAME_LIMIT,
    cluster_name_for,
    function_name_for,
    resource_prefix,
)
from components.shared.network import TYPE_TOKEN as NETWORK

VALID_NAME = re.compile(r"[A-Za-z0-9_-]+")


def test_type_tokens_never_change() -> None:
    # Deliberately spelled out: changing one of these moves every URN below it (a replacement).
    assert [NETWORK, ECS_RUNNER, EKS_RUNNER, EKS_CLUSTER, KARPENTER, RUNNER_CHART] == [
        "gitlab-fargate-runners:network:Network",
        "gitlab-fargate-runners:ecs:EcsFargateRunner",
        "gitlab-fargate-runners:eks:EksFargateRunner",
        "gitlab-fargate-runners:eks:EksCluster",
        "gitlab-fargate-runners:eks:Karpenter",
        "gitlab-fargate-runners:eks:GitLabRunnerChart",
    ]


@pytest.mark.parametrize(
    ("stack", "prefix"),
    [
        ("dev", "gitlab-runners-dev"),
        ("team.prod", "gitlab-runners-team-prod"),
        ("acme/infra/prod", "gitlab-runners-acme-infra-prod"),
        ("a b:c", "gitlab-runners-a-b-c"),
        ("Blue_Green", "gitlab-runners-Blue_Green"),
    ],
)
def test_resource_prefix_replaces_characters_aws_names_refuse(stack: str, prefix: str) -> None:
    assert resource_prefix(stack) == prefix
    assert VALID_NAME.fullmatch(cluster_name_for(stack))


def test_long_stack_names_are_cut_to_the_eks_cluster_name_limit() -> None:
    stack = "x" * 300
    assert len(resource_prefix(stack)) == 200
    name = cluster_name_for(stack)
    assert len(name) == EKS_CLUSTER_NAME_LIMIT == 100
    digest = hashlib.sha256(resource_prefix(stack).encode()).hexdigest()[:8]
    assert name == f"{resource_prefix(stack)[:91]}-{digest}"  # a hash keeps cut names apart
    assert cluster_name_for("dev") == "gitlab-runners-dev"


def test_fixed_function_names_fit_lambdas_limit_and_stay_apart() -> None:
    """The reaper's fixed name (issue 14): at most 64 characters, and two long stack names
    that share their first 43 characters still get different functions."""
    assert (
        function_name_for("gitlab-runners-dev", "task-reaper") == "gitlab-runners-dev-task-reaper"
    )
    one = function_name_for(resource_prefix("a" * 80 + "-one"), "task-reaper")
    two = function_name_for(resource_prefix("a" * 80 + "-two"), "task-reaper")
    assert len(one) == len(two) == LAMBDA_FUNCTION_NAME_LIMIT == 64
    assert one != two and one.endswith("-task-reaper")
    assert VALID_NAME.fullmatch(one)
