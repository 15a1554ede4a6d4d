"""The ECR pull-through image cache: rules, rewritten default images and the pullers' IAM."""

from __future__ import annotations

import hashlib
import json
import tomllib
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.offline.mocks import Plan
from components.shared.images import ImageCacheInfo, default_repository_prefix, split_reference
from tests.harness import dev_config, sentinel, shared_plan

RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
RELEASE = "kubernetes:helm.sh/v3:Release"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
PATTERN = "arn:aws:ecr:eu-west-1:123456789012:repository/glr-dev/*"
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/{}-AbCdEf"
CREDENTIALS = {
    "dockerHubCredentialArn": SECRET.format("docker-hub"),
    "gitlabCredentialArn": SECRET.format("gitlab"),
}
INFO = ImageCacheInfo(REGISTRY, "glr-dev", PATTERN, ("ecr-public", "docker-hub", "gitlab"))


def plan_for(mode: str, images: str = "{}") -> Plan:
    """No `images` is the example stack itself (Pulumi.dev.yaml sets none): the session's plan."""
    if images == "{}":
        return shared_plan(dev_config(mode=mode))
    return shared_plan(dev_config(mode=mode, images=json.loads(images)))


def with_credentials(mode: str) -> Plan:
    return plan_for(mode, json.dumps(CREDENTIALS))


def cache_statements(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """Per role policy, its statements that let ECR fill the cache."""
    found = {}
    for policy in plan.all(ROLE_POLICY):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        hits = [s for s in statements if "ecr:BatchImportUpstreamImage" in s["Action"]]
        if hits:
            found[policy.name] = hits
    return found


def runners_config(plan: Plan, runner: str) -> dict[str, Any]:
    release = plan.one(RELEASE, f"eks-runner-{runner}-release")
    (entry,) = tomllib.loads(release.inputs["values"]["runners"]["config"])["runners"]
    return entry["kubernetes"]


@pytest.mark.parametrize(
    ("image", "cached"),
    [
        ("public.ecr.aws/docker/library/debian:12", "ecr-public/docker/library/debian:12"),
        ("debian:12", "docker-hub/library/debian:12"),
        ("docker.io/bitnami/git@sha256:ab", "docker-hub/bitnami/git@sha256:ab"),
        ("registry.gitlab.com/g/p/img:1", "gitlab/g/p/img:1"),
    ],
)
def test_images_of_cached_registries_move_under_the_prefix(image: str, cached: str) -> None:
    assert INFO.cached(image) == f"{REGISTRY}/glr-dev/{cached}"


def test_other_registries_and_inactive_upstreams_are_left_alone() -> None:
    assert INFO.cached("quay.io/org/img:1") == "quay.io/org/img:1"
    assert split_reference("localhost:5000/img") == ("localhost:5000", "img")
    public_only = ImageCacheInfo(REGISTRY, "glr-dev", PATTERN, ("ecr-public",))
    assert public_only.cached("debian:12") == "debian:12"
    assert public_only.helper_image() is None


def test_repository_prefix_is_per_stack_and_within_ecr_limits() -> None:
    assert default_repository_prefix("dev") == "glr-dev"
    stack = "Production.EU-West_1-blue-green"
    long = default_repository_prefix(stack)
    digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
    assert long == f"glr-produc-{digest}" and len(long) <= 19  # cut: a hash keeps siblings apart


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_ecr_public_is_cached_by_default_and_others_only_with_credentials(mode: str) -> None:
    (rule,) = plan_for(mode).all(RULE)
    assert rule.inputs == {
        "ecrRepositoryPrefix": "glr-dev/ecr-public",
        "upstreamRegistryUrl": "public.ecr.aws",
    }
    rules = {r.inputs["ecrRepositoryPrefix"]: r.inputs for r in with_credentials(mode).all(RULE)}
    assert rules["glr-dev/docker-hub"]["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rules["glr-dev/docker-hub"]["credentialArn"] == CREDENTIALS["dockerHubCredentialArn"]
    assert rules["glr-dev/gitlab"]["upstreamRegistryUrl"] == "registry.gitlab.com"
    assert plan_for(mode).outputs["imageCache"]["paths"] == {
        "public.ecr.aws": f"{REGISTRY}/glr-dev/ecr-public"
    }


def test_ecs_execution_role_may_fill_the_cache_under_its_prefix_only() -> None:
    assert cache_statements(plan_for("ecs")) == {
        "ecs-execution-policy": [
            {
                "Sid": "PullThroughCache",
                "Effect": "Allow",
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": PATTERN,
            }
        ]
    }


def test_ecs_catalogue_images_come_through_the_cache_when_their_registry_is_cached() -> None:
    def images(plan: Plan) -> set[str]:
        return {
            json.loads(t.inputs["containerDefinitions"])[0]["image"]
            for t in plan.all(TASK_DEFINITION)
        }

    assert all(i.startswith("registry.gitlab.com/") for i in images(plan_for("ecs")))
    assert all(i.startswith(f"{REGISTRY}/glr-dev/gitlab/") for i in images(with_credentials("ecs")))


def test_eks_nodes_and_fargate_pods_may_fill_the_cache() -> None:
    statements = cache_statements(plan_for("eks"))
    assert set(statements) == {"eks-karpenter-node-image-cache", "eks-pod-execution-image-cache"}
    assert all(s["Resource"] == PATTERN for hits in statements.values() for s in hits)


def test_eks_helper_image_comes_through_the_gitlab_cache_with_credentials() -> None:
    assert "helper_image" not in runners_config(plan_for("eks"), "fargate")
    assert runners_config(with_credentials("eks"), "fargate")["helper_image"] == (
        f"{REGISTRY}/glr-dev/gitlab/gitlab-org/gitlab-runner/gitlab-runner-helper:"
        "x86_64-v${CI_RUNNER_VERSION}"
    )


def test_turning_the_cache_off_keeps_upstream_images_and_grants_nothing() -> None:
    plan = plan_for("eks", json.dumps({"pullThroughCache": False}))
    assert plan.all(RULE) == [] and cache_statements(plan) == {}
    assert runners_config(plan, "fargate")["image"].startswith("public.ecr.aws/")
    assert "imageCache" not in plan.outputs


def test_credential_secret_must_carry_the_prefix_ecr_requires() -> None:
    bad = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-AbCdEf"
    with pytest.raises(ConfigError) as raised:
        parse_config(
            {
                "images": {"dockerHubCredentialArn": bad},
                "runnerTokens": {"fargate": sentinel("fargate")},
            }
        )
    message = str(raised.value)
    assert "images.dockerHubCredentialArn" in message and bad in message
    assert "ecr-pullthroughcache/" in message and "create-secret" in message
