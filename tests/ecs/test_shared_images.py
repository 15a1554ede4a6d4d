"""Catalogue images in another account's (or region's) ECR and on private registries.

The job task execution role's `repository/*` covers only the deploying account and region;
an image in a shared ECR account gets a pull grant on exactly its repository ARN
(arn:<partition>:ecr:<region>:<account>:repository/<name>, Service Authorization Reference
for Amazon ECR), and the plan warns that the repository's own policy must allow this account
(ECR user guide, "Private repository policies": cross-account pulls need both sides).
A private registry other than ECR is logged in to with the container's repositoryCredentials,
a Secrets Manager secret the execution role reads (ECS developer guide, "Private registry
authentication for tasks": secretsmanager:GetSecretValue on that secret).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.domain.ecr import ecr_repository
from components.offline.mocks import Plan
from tests.ecs.support import policy_document, resources, statements
from tests.harness import dev_config, run_program

SHARED = "111122223333.dkr.ecr.us-east-1.amazonaws.com/ci/build:1"
SHARED_ARN = "arn:aws:ecr:us-east-1:111122223333:repository/ci/build"
# The mocks' own account and the example's region: covered by repository/* already.
LOCAL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci/local:1"
CORP = "registry.corp.example/ci/node:20"
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:corp-registry-AbCdEf"
EXECUTION_POLICY = "ecs-execution-policy"


def catalogue_config(*entries: dict[str, Any]) -> dict[str, Any]:
    config = dev_config()
    config["ecs"] = {**config["ecs"], "taskDefinitions": list(entries)}
    return config


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program(
        catalogue_config(
            {"name": "shared", "image": SHARED},
            {"name": "local", "image": LOCAL},
            {"name": "corp", "image": CORP, "repositoryCredentialsArn": SECRET},
        )
    )


def by_sid(plan: Plan) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(policy_document(plan, EXECUTION_POLICY))}


def test_a_shared_ecr_image_gets_a_pull_grant_on_exactly_its_repository(plan: Plan) -> None:
    shared = by_sid(plan)["EcrPullShared"]
    assert resources(shared) == [SHARED_ARN]  # not the same-account, same-region image
    assert sorted(shared["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert by_sid(plan)["EcrLogin"]["Resource"] == "*"


def test_the_plan_warns_that_the_repository_policy_must_allow_this_account(plan: Plan) -> None:
    (warning,) = [w for w in plan.warnings if "111122223333" in w]
    assert warning.startswith("ecs.taskDefinitions[0] (shared).image:")
    assert SHARED_ARN in warning and "repository's policy must allow this account" in warning


def test_registry_credentials_reach_the_container_and_only_that_secret_is_readable(
    plan: Plan,
) -> None:
    definition = plan.one("aws:ecs/taskDefinition:TaskDefinition", "ecs-task-corp")
    (container,) = json.loads(definition.inputs["containerDefinitions"])
    assert container["repositoryCredentials"] == {"credentialsParameter": SECRET}
    login = by_sid(plan)["RegistryCredentials"]
    assert login["Action"] == "secretsmanager:GetSecretValue" and resources(login) == [SECRET]
    assert not [w for w in plan.warnings if CORP in w]  # credentials given: nothing to say


def test_the_example_catalogue_grants_nothing_more(ecs_dev_plan: Plan) -> None:
    assert {"EcrPullShared", "RegistryCredentials"}.isdisjoint(by_sid(ecs_dev_plan))


def test_a_private_registry_without_credentials_is_named_with_the_fix() -> None:
    _, warnings = parse_config(catalogue_config({"name": "corp", "image": CORP}))
    (warning,) = [w for w in warnings if CORP in w]
    assert "pulumi config set --path 'ecs.taskDefinitions[0].repositoryCredentialsArn'" in warning


def test_a_bad_credentials_arn_is_refused_by_key() -> None:
    raw = catalogue_config({"name": "corp", "image": CORP, "repositoryCredentialsArn": "corp"})
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    (problem,) = caught.value.problems
    assert problem.startswith("ecs.taskDefinitions[0] (corp).repositoryCredentialsArn: 'corp'")
    assert "Secrets Manager secret" in problem


@pytest.mark.parametrize(
    ("image", "arn"),
    [
        (SHARED, SHARED_ARN),
        (
            "111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com/a/b@sha256:" + "a" * 64,
            "arn:aws-us-gov:ecr:us-gov-west-1:111122223333:repository/a/b",
        ),
        (
            "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/a:1",
            "arn:aws-cn:ecr:cn-north-1:111122223333:repository/a",
        ),
    ],
)
def test_repository_arns_follow_the_registry_host(image: str, arn: str) -> None:
    repository = ecr_repository(image)
    assert repository is not None and repository.arn == arn


@pytest.mark.parametrize("image", ["public.ecr.aws/docker/library/debian:12", "debian", CORP])
def test_other_registries_are_not_ecr(image: str) -> None:
    assert ecr_repository(image) is None


def test_an_entry_with_its_own_login_is_not_sent_through_the_image_cache() -> None:
    """A pull-through cache rule pulls with the rule's own credential (ECR user guide, "Sync an
    upstream registry with an Amazon ECR private registry": the upstream credential is a
    Secrets Manager secret named on the rule), not with the entry's repositoryCredentials
    (ECS developer guide, "Private registry authentication for tasks": a login for a
    registry other than ECR). Rewritten to the cache path, a private image was pulled with the
    team's Docker Hub token and the task carried a Docker Hub login for an ECR image."""
    hub_cache = (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf"
    )
    private, public = "docker.io/myorg/private-builder:1", "docker.io/library/debian:bookworm"
    config = catalogue_config(
        {"name": "private", "image": private, "repositoryCredentialsArn": SECRET},
        {"name": "public", "image": public},
    )
    config["images"] = {"dockerHubCredentialArn": hub_cache}
    plan = run_program(config)
    containers = {
        t.name: json.loads(t.inputs["containerDefinitions"])[0]
        for t in plan.all("aws:ecs/taskDefinition:TaskDefinition")
    }
    assert containers["ecs-task-private"]["image"] == private
    assert containers["ecs-task-private"]["repositoryCredentials"] == {
        "credentialsParameter": SECRET
    }
    cached = containers["ecs-task-public"]["image"]
    assert cached.endswith("/docker-hub/library/debian:bookworm"), cached
