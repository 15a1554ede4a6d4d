"""The whole program: mode switch, the example stack in both modes, the offline plan."""

from __future__ import annotations

import json
import tomllib

import pytest
import yaml

from components.config import ConfigError
from components.ecs.runner import TYPE_TOKEN as ECS_COMPONENT
from components.eks.runner import TYPE_TOKEN as EKS_COMPONENT
from components.offline.mocks import Plan
from components.shared.network import TYPE_TOKEN as NETWORK_COMPONENT
from tests.harness import (
    GITLAB_TOKEN_SENTINEL,
    ROOT,
    SENTINEL_PREFIX,
    dev_config,
    run_program,
    text_of,
)

COMPONENT_TYPES = {"ecs": ECS_COMPONENT, "eks": EKS_COMPONENT}


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_example_stack_evaluates_in_each_mode(mode: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(f"{mode}_dev_plan")
    plan.one(COMPONENT_TYPES[mode])
    other = next(m for m in COMPONENT_TYPES if m != mode)
    assert plan.all(COMPONENT_TYPES[other]) == []
    assert plan.outputs["mode"] == mode
    network = plan.one(NETWORK_COMPONENT)
    vpc = plan.one("aws:ec2/vpc:Vpc")
    assert vpc.parent == network.urn and vpc.inputs["cidrBlock"] == "10.42.0.0/16"
    # Every resource below the stack has a component parent: nothing is left dangling.
    components = {r.urn for r in plan.resources if not r.custom}
    assert all(r.parent in components for r in plan.resources if r.custom)


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_no_output_reveals_a_token(mode: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(f"{mode}_dev_plan")
    assert SENTINEL_PREFIX not in json.dumps(plan.redacted_outputs, default=str)
    assert SENTINEL_PREFIX not in json.dumps(
        [r.redacted_inputs for r in plan.resources], default=str
    )
    # ...while the recorded plain inputs do hold it (so the check above could fail).
    assert SENTINEL_PREFIX in text_of(plan)


def test_mode_fargate_fails_before_any_resource_is_created() -> None:
    with pytest.raises(ConfigError) as caught:
        run_program(dev_config(mode="fargate"))
    message = str(caught.value)
    assert "mode: 'fargate'" in message and "ecs" in message and "eks" in message


def test_eks_mode_renders_each_release_values_for_the_plan(eks_dev_plan: Plan) -> None:
    plan = eks_dev_plan
    for runner in ("fargate", "fargate-spot"):
        values = yaml.safe_load(plan.rendered_files[f"helm/gitlab-runner-{runner}/values.yaml"])
        release = next(
            r
            for r in plan.all("kubernetes:helm.sh/v3:Release")
            if r.inputs["name"] == f"gitlab-runner-{runner}"
        )
        # The plan shows every value but the token's fingerprint (a secret in the release).
        # A copy: the plan is the session's, other tests read the same values.
        released = dict(release.inputs["values"])
        annotations = released.pop("podAnnotations")
        assert set(annotations) == {"gitlab-fargate-runners/token-hmac"}
        assert release.redacted_inputs["values"]["podAnnotations"] == {
            "gitlab-fargate-runners/token-hmac": "[secret]"
        }
        assert values == released
        toml_text = plan.rendered_files[f"helm/gitlab-runner-{runner}/runners.config.toml"]
        assert toml_text == values["runners"]["config"]
        assert tomllib.loads(toml_text)["runners"][0]["kubernetes"]["namespace"] == (
            f"gitlab-runner-{runner}"
        )


def test_destroy_leaves_no_token_secret_scheduled_for_deletion(ecs_dev_plan: Plan) -> None:
    secret = ecs_dev_plan.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["recoveryWindowInDays"] == 0


def test_ci_runs_the_readme_test_command() -> None:
    (command,) = [
        line.removeprefix("exec ")
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.startswith("exec ")
    ]
    assert command == "bash scripts/test"
    assert f"```sh\n{command}\n```" in (ROOT / "README.md").read_text()


def test_unknown_top_level_key_is_caught_through_the_runtime() -> None:
    with pytest.raises(ConfigError) as caught:
        run_program({**dev_config(), "gitlabUrll": "https://gitlab.example.com"})
    assert "gitlabUrll: unknown configuration key; did you mean 'gitlabUrl'?" in str(caught.value)


def test_tokens_not_stored_as_secret_are_refused_through_the_runtime() -> None:
    from components.offline.mocks import evaluate

    with pytest.raises(ConfigError) as caught:
        evaluate(dev_config(), secret_keys=())
    assert "runnerTokens: stored in plain text" in str(caught.value)


def test_gitlab_token_not_stored_as_secret_is_refused_through_the_runtime() -> None:
    from components.offline.mocks import evaluate

    config = {k: v for k, v in dev_config().items() if k != "runnerTokens"}
    config["gitlab"] = {"createRunners": True, "runnerType": "instance"}
    config["gitlabToken"] = GITLAB_TOKEN_SENTINEL
    with pytest.raises(ConfigError) as caught:
        evaluate(config, secret_keys=("runnerTokens",))
    assert "gitlabToken: stored in plain text" in str(caught.value)
    assert config["gitlabToken"] not in str(caught.value)


def test_stack_names_with_dots_give_valid_cluster_names() -> None:
    plan = run_program(dev_config(mode="eks"), stack="team.prod")
    assert plan.one("eks:index:Cluster").inputs["name"] == "gitlab-runners-team-prod"
    ecs = run_program(dev_config(), stack="team.prod")
    names = {r.inputs["name"] for r in ecs.all("aws:ecs/cluster:Cluster")}
    assert names == {"gitlab-runners-team-prod", "gitlab-runners-team-prod-spot"}
