"""Keys in the wrong place or form (issue 23, item 7) and one message per problem, values as
typed, no EKS in ECS-mode messages (item 10).

Pulumi config keys are `<namespace>:<name>` and nested values need `--path`
(pulumi/pulumi sdk/go/common/resource/config/key.go `ParseKey`: one colon, or the legacy
`<ns>:config:<name>`; `pulumi config set --help`: "--path  The key contains a path to a
property in a map or list to set"). The AWS provider reads its settings only under `aws:`
(pulumi-aws provider/resources.go, the provider's `Config` map).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.offline.mocks import evaluate
from components.offline.stack_file import StackFileError, read_stack_file
from tests.harness import dev_config, sentinel

TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"ecs:maxJobsPerManager": "50"},
            "ecs:maxJobsPerManager: a colon is not a path separator, so this is a top-level "
            "key the program does not know; the nested key is ecs.maxJobsPerManager: pulumi "
            "config rm ecs:maxJobsPerManager && pulumi config set --path "
            "ecs.maxJobsPerManager 50",
        ),
        (
            {"ecs.maxJobsPerManager": "50"},
            "ecs.maxJobsPerManager: without --path the CLI writes a key named with the dot, so "
            "this is a top-level key the program does not know; the nested key is "
            "ecs.maxJobsPerManager: pulumi config rm ecs.maxJobsPerManager && pulumi config "
            "set --path ecs.maxJobsPerManager 50",
        ),
        (
            {"region": "eu-west-1"},
            "region: a setting of the AWS provider, which reads it only as aws:region (in this "
            "project's namespace nothing reads it): pulumi config rm region && pulumi config "
            "set aws:region eu-west-1",
        ),
        (
            {"secretKey": "not-echoed"},
            "secretKey: a setting of the AWS provider, which reads it only as aws:secretKey "
            "(in this project's namespace nothing reads it): pulumi config rm secretKey && "
            "pulumi config set --secret aws:secretKey <value>",
        ),
        (
            {"gitlabURL": "https://gitlab.example.com"},
            "gitlabURL: unknown configuration key; did you mean 'gitlabUrl'? pulumi config rm "
            "gitlabURL && pulumi config set gitlabUrl https://gitlab.example.com",
        ),
        (
            {"ecs": {"maxJobPerManager": 50}},
            "ecs.maxJobPerManager: unknown key; did you mean 'maxJobsPerManager'? pulumi config "
            "rm --path ecs.maxJobPerManager && pulumi config set --path "
            "ecs.maxJobsPerManager 50",
        ),
        (
            {"gitlabTokn": "glpat-SENTINEL-not-echoed"},
            "gitlabTokn: unknown configuration key; did you mean 'gitlabToken'? pulumi config "
            "rm gitlabTokn && pulumi config set --secret gitlabToken <value>",
        ),
    ],
)
def test_a_misplaced_key_names_the_key_meant_and_the_command(
    raw: dict[str, Any], expected: str
) -> None:
    """Old code: `ecs:maxJobsPerManager` and `region` were a bare "unknown configuration key",
    typos had no command."""
    assert problems_of({**raw, **TOKENS}) == [expected]


@pytest.mark.parametrize(
    "raw",
    [
        {"ecs": {"maxJobsPerManager": 50}},
        {"gitlabUrl": "https://gitlab.example.com"},
        {"cache": {"expirationDays": 7}},
    ],
)
def test_keys_in_their_place_still_plan(raw: dict[str, Any]) -> None:
    parse_config({**raw, **TOKENS})


def test_a_nested_key_in_a_namespace_of_its_own_is_refused_by_the_program() -> None:
    """`ecs:maxJobsPerManager` in the stack file is the key of a namespace `ecs`: the CLI
    passes it on and, before this check, the program dropped it without a word."""
    with pytest.raises(ConfigError) as caught:
        evaluate(dev_config(), extra_config={"ecs:maxJobsPerManager": "50"})
    assert caught.value.problems == [
        "'ecs:maxJobsPerManager': a colon makes 'ecs' a namespace of its own, which nothing "
        "reads, so the value is dropped; the nested key is ecs.maxJobsPerManager, written with "
        "--path: pulumi config rm ecs:maxJobsPerManager && pulumi config set --path "
        "ecs.maxJobsPerManager 50"
    ]


def test_provider_namespaces_keep_their_own_keys() -> None:
    """`aws:region` and the pulumi-eks / pulumi-gitlab providers' own keys are not ours."""
    plan = evaluate(
        dev_config(), extra_config={"gitlab:token": "x", "eks:region": "y", "aws:profile": "z"}
    )
    assert plan.resources


def write_stack(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(f"config:\n  aws:region: eu-west-1\n  {line}\n")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "gitlab-fargate-runners:ecs:maxJobsPerManager: 50",
            "a colon is not a path separator: delete the line and pulumi config set --path "
            "ecs.maxJobsPerManager 50",
        ),
        ("ecs:maxJobsPerManager: 50", "the nested key is ecs.maxJobsPerManager"),
        ("a:b:c: 1", "nest the value instead"),
    ],
)
def test_the_offline_plan_names_the_nested_key_too(
    tmp_path: Path, line: str, expected: str
) -> None:
    with pytest.raises(StackFileError, match="line 3: .*" + expected.replace(".", r"\.")):
        read_stack_file(write_stack(tmp_path, line))


def test_an_invalid_runner_name_is_one_problem_as_typed() -> None:
    """Old code: the name came back as "K\\u00f6rper" and a second problem, "runnerTokens.
    runner-0: missing", named a runner the user never wrote."""
    problems = problems_of({"runners": [{"name": "Körper"}], "runnerTokens": {}})
    assert problems == [
        "runners[0].name: 'Körper' is not a valid name; use 1-32 lowercase letters, digits or "
        "'-', e.g. \"fargate\" (it names namespaces and resources)"
    ]


def test_a_token_under_a_refused_runner_name_is_not_a_second_problem() -> None:
    raw = {"runners": [{"name": "Körper"}], "runnerTokens": {"Körper": sentinel("x")}}
    assert len(problems_of(raw)) == 1


def test_a_valid_runner_without_token_is_still_reported() -> None:
    problems = problems_of({"runners": [{"name": "ok"}], "runnerTokens": {}})
    assert problems[0].startswith("runnerTokens.ok: missing")


def test_numbers_are_echoed_as_typed() -> None:
    problems = problems_of({"runners": [{"name": "fargate", "concurrency": "zwölf"}], **TOKENS})
    assert problems == ["runners[0] (fargate).concurrency: expected a whole number, got 'zwölf'"]


def test_ecs_mode_messages_do_not_speak_of_eks() -> None:
    raw = {"network": {"vpcId": "vpc-0123456789abcdef0", "privateSubnetIds": []}, **TOKENS}
    problems = problems_of(raw)
    assert problems and not any("EKS" in p for p in problems)
    raw["mode"] = "eks"
    assert any("EKS needs two AZs" in p for p in problems_of(raw))


def test_a_malformed_group_id_is_not_also_missing() -> None:
    """Old code: "expected a whole number, got 'my-group'" and then "gitlab.groupId: required"
    for the same key."""
    raw = {
        "gitlab": {"createRunners": True, "runnerType": "group", "groupId": "my-group"},
        "gitlabToken": "glpat-SENTINEL-not-a-real-token",
    }
    problems = problems_of(raw)
    assert [p for p in problems if p.startswith("gitlab.groupId")] == [
        "gitlab.groupId: expected a whole number, got 'my-group'"
    ]
    del raw["gitlab"]["groupId"]
    assert any(p.startswith("gitlab.groupId: required") for p in problems_of(raw))
