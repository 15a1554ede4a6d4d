"""The whole program: mode switch, the example stack in both modes, the offline plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config import ConfigError
from components.offline import plan as plan_command
from components.offline.mocks import REDACTED
from tests.harness import ROOT, SENTINEL_PREFIX, dev_config, run_program, text_of

COMPONENT_TYPES = {
    "ecs": "gitlab-fargate-runners:ecs:EcsFargateRunner",
    "eks": "gitlab-fargate-runners:eks:EksFargateRunner",
}


def test_main_stays_thin() -> None:
    source = (ROOT / "__main__.py").read_text()
    assert len(source.splitlines()) < 60
    assert "load_stack_config()" in source and "build_stack(config)" in source


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_example_stack_evaluates_in_each_mode(mode: str) -> None:
    plan = run_program(dev_config(mode=mode))
    plan.one(COMPONENT_TYPES[mode])
    other = next(m for m in COMPONENT_TYPES if m != mode)
    assert plan.all(COMPONENT_TYPES[other]) == []
    assert plan.outputs["mode"] == mode
    network = plan.one("gitlab-fargate-runners:network:Network")
    vpc = plan.one("aws:ec2/vpc:Vpc")
    assert vpc.parent == network.urn and vpc.inputs["cidrBlock"] == "10.42.0.0/16"
    # Every resource below the stack has a component parent: nothing is left dangling.
    components = {r.urn for r in plan.resources if not r.custom}
    assert all(r.parent in components for r in plan.resources if r.custom)


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_no_output_reveals_a_token(mode: str) -> None:
    plan = run_program(dev_config(mode=mode))
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


def test_plan_command_writes_json_for_the_example_stack(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert plan_command.main(["--stack", "dev", "--out", str(out), "--project-dir", str(ROOT)]) == 0
    document = json.loads(out.read_text())
    text = out.read_text()
    assert plan_command.PLACEHOLDER_TOKEN not in text and "glrt-" not in text
    types = {r["type"] for r in document["resources"]}
    assert "aws:ecs/taskDefinition:TaskDefinition" in types
    secret_version = next(
        r
        for r in document["resources"]
        if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"
    )
    assert secret_version["inputs"]["secretString"] == REDACTED
    assert {"runnerTokens.fargate", "runnerTokens.fargate-spot"} == set(
        document["placeholderSecrets"]
    )
    files = document["renderedFiles"]
    assert any(path.endswith("config.toml") for path in files)
    assert any("fargate" in path and path.endswith(".toml") for path in files)
    by_name = {r["name"]: r for r in document["resources"]}
    assert by_name["network-vpc"]["parent"] == "network"


def test_plan_command_reports_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  gitlab-fargate-runners:mode: fargate\n")
    assert plan_command.main(["--stack", "bad", "--project-dir", str(tmp_path)]) == 2
    assert "mode: 'fargate'" in capsys.readouterr().err


def test_eks_mode_renders_each_release_values_for_the_plan() -> None:
    import tomllib

    import yaml

    plan = run_program(dev_config(mode="eks"))
    for runner in ("fargate", "fargate-spot"):
        values = yaml.safe_load(plan.rendered_files[f"helm/gitlab-runner-{runner}/values.yaml"])
        release = next(
            r
            for r in plan.all("kubernetes:helm.sh/v3:Release")
            if r.inputs["name"] == f"gitlab-runner-{runner}"
        )
        # The plan shows every value but the token's fingerprint (a secret in the release).
        released = release.inputs["values"]
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


def test_destroy_leaves_no_token_secret_scheduled_for_deletion() -> None:
    plan = run_program(dev_config())
    secret = plan.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["recoveryWindowInDays"] == 0


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "```sh\n./scripts/test\n```" in readme
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_unknown_top_level_key_is_caught_through_the_runtime() -> None:
    with pytest.raises(ConfigError) as caught:
        run_program({**dev_config(), "gitlabUrll": "https://gitlab.example.com"})
    assert "gitlabUrll: unknown configuration key; did you mean 'gitlabUrl'?" in str(caught.value)


def test_tokens_not_stored_as_secret_are_refused_through_the_runtime() -> None:
    from components.offline.mocks import evaluate

    with pytest.raises(ConfigError) as caught:
        evaluate(dev_config(), secret_keys=())
    assert "runnerTokens: stored in plain text" in str(caught.value)


def test_stack_names_with_dots_give_valid_cluster_names() -> None:
    plan = run_program(dev_config(mode="eks"), stack="team.prod")
    assert plan.one("eks:index:Cluster").inputs["name"] == "gitlab-runners-team-prod"
    ecs = run_program(dev_config(), stack="team.prod")
    names = {r.inputs["name"] for r in ecs.all("aws:ecs/cluster:Cluster")}
    assert names == {"gitlab-runners-team-prod", "gitlab-runners-team-prod-spot"}
