"""Runners created in GitLab (gitlab.createRunners), both modes, under the recording mocks."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from components.ecs.manager import TOKENS_VERSION_TAG
from components.offline.mocks import REDACTED, Plan, RecordedResource, created_token
from components.offline.order import Order, removal
from tests.harness import GITLAB_TOKEN_SENTINEL, dev_config, run_program, text_of

USER_RUNNER = "gitlab:index/userRunner:UserRunner"
PROVIDER = "pulumi:providers:gitlab"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
K8S_SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
ASG = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GITLAB_TOKEN = GITLAB_TOKEN_SENTINEL
EKS_RUNNERS = [
    {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
    {"name": "spot", "lane": "spot", "tags": ["eks-spot", "cheap"], "concurrency": 10},
]


def created_config(gitlab: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    config = dev_config(**overrides)
    del config["runnerTokens"]
    return {**config, "gitlab": {"createRunners": True, **gitlab}, "gitlabToken": GITLAB_TOKEN}


@cache
def ecs_plan() -> Plan:
    """The example ECS stack (fargate + fargate-spot) with group runners created in GitLab."""
    return run_program(created_config({"runnerType": "group", "groupId": 42}))


@cache
def eks_plan() -> Plan:
    """EKS with project runners, untagged jobs allowed, second token generation."""
    return run_program(
        created_config(
            {"runnerType": "project", "projectId": 7, "runUntagged": True, "tokenRotation": 2},
            mode="eks",
            ecs=None,
            runners=EKS_RUNNERS,
        )
    )


PLANS = {"ecs": ecs_plan, "eks": eks_plan}
# Where each mode stores a created token: the only resources it may appear in.
STORES = {"ecs": (SECRET_VERSION,), "eks": (K8S_SECRET,)}


def user_runners(plan: Plan, generation: int = 0) -> dict[str, RecordedResource]:
    """{runner: its GitLab runner of one token generation} (tests/gitlab/test_rotation.py)."""
    suffix = f"-g{generation}"
    return {
        r.name.removeprefix("gitlab-runner-").removesuffix(suffix): r
        for r in plan.all(USER_RUNNER)
        if r.name.endswith(suffix)
    }


def test_one_gitlab_runner_per_ecs_runner_with_its_tags_type_and_timeout() -> None:
    runners = user_runners(ecs_plan())
    assert set(runners) == {"fargate", "fargate-spot"}
    for name, tags in (("fargate", ["fargate"]), ("fargate-spot", ["fargate-spot"])):
        inputs = runners[name].inputs
        assert inputs["runnerType"] == "group_type" and inputs["groupId"] == 42
        assert "projectId" not in inputs
        assert inputs["tagLists"] == tags
        assert inputs["untagged"] is False
        assert inputs["maximumTimeout"] == 3600  # ecs.jobTimeoutSeconds
        assert inputs["accessLevel"] == "not_protected"
        assert inputs["description"] == f"gitlab-fargate-runners/dev: {name}"
        assert "token generation 0" in inputs["maintenanceNote"]


def test_one_gitlab_runner_per_eks_runner_with_its_tags_type_and_timeout() -> None:
    runners = user_runners(eks_plan(), 2)
    assert set(runners) == {"fargate", "spot"}
    assert runners["spot"].inputs["tagLists"] == ["eks-spot", "cheap"]
    for runner in runners.values():
        assert runner.inputs["runnerType"] == "project_type"
        assert runner.inputs["projectId"] == 7 and "groupId" not in runner.inputs
        assert runner.inputs["untagged"] is True
        # The manager pod's termination grace period: a rolled pod lets its jobs finish.
        assert runner.inputs["maximumTimeout"] == 3600
        assert "token generation 2" in runner.inputs["maintenanceNote"]


@pytest.mark.parametrize("mode", PLANS)
def test_a_token_rotation_adds_a_runner_and_replaces_none(mode: str) -> None:
    """The generation is in the runner's name, not an input to replace on: a rotation creates
    the new generation's runner beside the previous one (tests/gitlab/test_rotation.py)."""
    for runner in PLANS[mode]().all(USER_RUNNER):
        assert runner.replace_on_changes == []
    assert set(user_runners(eks_plan(), 1)) == set(user_runners(eks_plan(), 2))
    assert "token generation 1" in user_runners(eks_plan(), 1)["spot"].inputs["maintenanceNote"]


@pytest.mark.parametrize("mode", PLANS)
def test_provider_is_explicit_and_holds_the_gitlab_token_as_a_secret(mode: str) -> None:
    plan = PLANS[mode]()
    provider = plan.one(PROVIDER)
    assert provider.inputs["baseUrl"] == "https://gitlab.com/api/v4/"
    assert provider.inputs["token"] == GITLAB_TOKEN
    assert provider.redacted_inputs["token"] == REDACTED
    for runner in plan.all(USER_RUNNER):
        assert runner.parent == plan.one("gitlab-fargate-runners:gitlab:GitLabRunners").urn
    others = [r.inputs for r in plan.resources if r is not provider]
    assert GITLAB_TOKEN not in json.dumps([others, plan.outputs], default=str)


@pytest.mark.parametrize("mode", PLANS)
def test_created_tokens_live_only_in_the_modes_secret_store(mode: str) -> None:
    plan = PLANS[mode]()
    names = [r.name for r in plan.all(USER_RUNNER)]
    holders = {
        r.type
        for r in plan.resources
        if any(created_token(n) in json.dumps(r.inputs, default=str) for n in names)
    }
    assert holders == set(STORES[mode])
    for store in plan.all(STORES[mode][0]):
        assert REDACTED in json.dumps(store.redacted_inputs)
    assert not any(created_token(n) in json.dumps(plan.outputs, default=str) for n in names)
    assert "glrt-" not in json.dumps(plan.rendered_files)


def test_ecs_secret_holds_every_created_token() -> None:
    plan = ecs_plan()
    stored = json.loads(plan.one(SECRET_VERSION).inputs["secretString"])
    assert stored == {
        "fargate": created_token("gitlab-runner-fargate-g0"),
        "fargate-spot": created_token("gitlab-runner-fargate-spot-g0"),
    }
    assert plan.one(SECRET_VERSION).redacted_inputs["secretString"] == REDACTED


def test_eks_secret_holds_its_runners_created_token() -> None:
    plan = eks_plan()
    for name in ("fargate", "spot"):
        secret = plan.one(K8S_SECRET, f"eks-runner-{name}-token")
        token = created_token(f"gitlab-runner-{name}-g2")
        assert secret.inputs["stringData"]["runner-token"] == token
        assert token not in json.dumps(secret.redacted_inputs)


def test_ecs_manager_depends_on_the_runners_so_destroy_removes_it_first() -> None:
    plan = ecs_plan()
    version = plan.one(SECRET_VERSION)
    runner_urns = {r.urn for r in plan.all(USER_RUNNER)}
    assert runner_urns <= set(version.dependencies)
    assert version.urn in plan.one(ASG).dependencies


def test_eks_manager_depends_on_its_runner_so_destroy_removes_it_first() -> None:
    plan = eks_plan()
    for name in ("fargate", "spot"):
        runner = plan.one(USER_RUNNER, f"gitlab-runner-{name}-g2")
        secret = plan.one(K8S_SECRET, f"eks-runner-{name}-token")
        assert runner.urn in secret.dependencies
        assert secret.urn in plan.one(RELEASE, f"eks-runner-{name}-release").dependencies


def test_eks_runner_namespace_goes_before_its_gitlab_runner() -> None:
    """A stopping manager finishes and reports its jobs while its namespace is deleted (the
    namespace delete waits for its pods, docs/eks-operations.md): the GitLab runner whose
    token it uses must outlive the namespace, on destroy and when the runner is removed."""
    plan = eks_plan()
    order = Order(plan)
    for name in ("fargate", "spot"):
        runner = plan.one(USER_RUNNER, f"gitlab-runner-{name}-g2")
        namespace = plan.one(NAMESPACE, f"eks-runner-{name}-namespace")
        assert order.deleted_before(namespace, runner)
    fewer = created_config(
        {"runnerType": "project", "projectId": 7, "runUntagged": True, "tokenRotation": 2},
        mode="eks",
        ecs=None,
        runners=EKS_RUNNERS[:1],
    )
    waves = {r.name: i for i, wave in enumerate(removal(plan, run_program(fewer))) for r in wave}
    assert waves["eks-runner-spot-namespace"] < waves["gitlab-runner-spot-g2"]


def test_ecs_manager_rolls_when_the_token_secret_changes() -> None:
    """The launch template carries the secret version: new tokens, new manager."""
    template = plan_template(ecs_plan())
    for spec in template["tagSpecifications"]:
        assert spec["tags"][TOKENS_VERSION_TAG] == "ecs-runner-tokens-version-mock-version"


def plan_template(plan: Plan) -> dict[str, Any]:
    return plan.one(LAUNCH_TEMPLATE).inputs


@pytest.mark.parametrize("mode", PLANS)
def test_runner_ids_are_exported_and_nothing_secret_is(mode: str) -> None:
    plan = PLANS[mode]()
    assert set(plan.outputs["gitlabRunnerIds"]) == {r["name"] for r in plan.outputs["runners"]}
    text = text_of(plan)
    exported = json.dumps(plan.outputs, default=str)
    assert GITLAB_TOKEN in text  # the provider input, where it belongs
    assert GITLAB_TOKEN not in exported and "glrt-" not in exported
