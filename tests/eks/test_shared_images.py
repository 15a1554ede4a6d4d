"""EKS mode: images in another account's ECR and on private registries.

The identity side of a cross-account pull is already there: Karpenter node roles carry
AmazonEC2ContainerRegistryPullOnly and the Fargate pod execution role
AmazonEKSFargatePodExecutionRolePolicy, both allowing the pull actions on "*" (AWS managed
policy reference), so the plan warns only about the repository's own policy (ECR user guide,
"Private repository policies"). Job images on a private registry: gitlab-runner turns the
DOCKER_AUTH_CONFIG variable into the job pod's image pull secret (gitlab-runner v18.9.0
executors/kubernetes/kubernetes.go:1980-2000, helpers/docker/auth/auth.go:123).
"""

from __future__ import annotations

from components.config import parse_config
from components.eks.policies import FARGATE_POD_EXECUTION_POLICY, NODE_MANAGED_POLICIES
from tests.harness import dev_config

SHARED = "111122223333.dkr.ecr.us-east-1.amazonaws.com/ci/build:1"


def test_a_shared_ecr_default_image_warns_about_the_repository_policy() -> None:
    _, warnings = parse_config(dev_config(mode="eks", eks={"defaultJobImage": SHARED}))
    (warning,) = [w for w in warnings if SHARED in w]
    assert warning.startswith("eks.defaultJobImage:")
    assert "account 111122223333" in warning
    assert "repository's policy must allow this account" in warning
    assert "AmazonEC2ContainerRegistryPullOnly" in NODE_MANAGED_POLICIES
    assert FARGATE_POD_EXECUTION_POLICY == "AmazonEKSFargatePodExecutionRolePolicy"


def test_a_private_registry_points_to_docker_auth_config() -> None:
    image = "registry.corp.example/ci/node:20"
    _, warnings = parse_config(dev_config(mode="eks", eks={"defaultJobImage": image}))
    (warning,) = [w for w in warnings if image in w]
    assert "DOCKER_AUTH_CONFIG" in warning


def test_the_example_images_draw_no_registry_warning() -> None:
    _, warnings = parse_config(dev_config(mode="eks"))
    assert not [w for w in warnings if "repository's policy" in w or "DOCKER_AUTH" in w]
