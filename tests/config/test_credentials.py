"""Credentials in plain config warn, never echoed (issue 23, item 8). The shapes are cited in
components/config/credentials.py (IAM User Guide unique-id prefixes and access key example,
GitLab's token prefixes, RFC 3986 3.2.1 userinfo)."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.config.credentials import credential_kind
from components.offline.mocks import evaluate
from tests.harness import dev_config, sentinel

TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example


def with_environment(environment: dict[str, str]) -> dict[str, Any]:
    image = "registry.gitlab.com/tmaczukin-test-projects/fargate-driver-debian:latest"
    entry = {"name": "debian", "image": image, "environment": environment}
    return {"ecs": {"taskDefinitions": [entry]}, **TOKENS}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (SECRET_KEY, "an AWS secret access key"),
        ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("ASIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("glpat-SENTINEL-not-a-real-token", "a GitLab token"),
        ("glrt-t1_SENTINEL-not-a-real-token", "a GitLab token"),
        ("https://deploy:hunter2@git.example.com/repo.git", "a URL with a password"),
    ],
)
def test_a_credential_in_a_task_environment_warns_without_echoing_it(value: str, kind: str) -> None:
    _, warnings = parse_config(with_environment({"TOKEN": value}))
    found = [w for w in warnings if "environment.TOKEN" in w]
    assert found == [
        f"ecs.taskDefinitions[0].environment.TOKEN: the value looks like {kind} and is stored "
        "in plain text in the stack file; ECS shows task environment values to anyone who may "
        "describe the task definition, even when the stack file keeps them secret, and this "
        "program has no task `secrets` key: keep the credential in Secrets Manager and let jobs "
        "read it with the entry's task role (grant secretsmanager:GetSecretValue on it through "
        "its taskRolePolicyArns), or in a masked GitLab CI/CD variable; for AWS access the task "
        "role already gives jobs credentials. Then remove it: pulumi config rm --path "
        "'ecs.taskDefinitions[0].environment.TOKEN'"
    ]
    assert value not in found[0]


@pytest.mark.parametrize(
    "value",
    [
        "UTC",
        "0123456789abcdef0123456789abcdef01234567",  # a git commit id: hex, no upper case
        "https://git.example.com/repo.git",
        "https://user@git.example.com/repo.git",  # a user but no password
        "glpat-short",
        "AKIAIOSFODNN7EXAMPL",  # one short
        "ThisIsJustAVeryLongCamelCaseWordWithNoDigits",
    ],
)
def test_ordinary_values_do_not_warn(value: str) -> None:
    assert credential_kind(value) is None
    _, warnings = parse_config(with_environment({"VALUE": value}))
    assert not any("looks like" in w for w in warnings)


def test_a_token_in_another_plain_key_warns_with_the_secret_command() -> None:
    runner = {"name": "fargate", "tags": ["glpat-SENTINEL-not-a-real-token"]}
    _, warnings = parse_config({"runners": [runner], **TOKENS})
    found = [w for w in warnings if "looks like" in w]
    assert found == [
        "runners[0].tags[0]: the value looks like a GitLab token and is stored in plain text "
        "in the stack file; take the credential out of the value, or at least store it "
        "encrypted: pulumi config set --secret --path 'runners[0].tags[0]' <value> (the "
        "offline plan cannot decrypt it; pulumi preview can)"
    ]


def test_a_key_stored_with_secret_that_would_be_written_in_plain_text_is_refused() -> None:
    """`pulumi.Config.get` hands the program a secret's plain text (the secret mark is lost),
    and `ecs` values go into task definitions and user data: storing `ecs` with --secret
    would put the value the user hid into plain resource inputs and the state."""
    raw = with_environment({"TOKEN": SECRET_KEY})
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, secret_keys=frozenset({"ecs"}))
    (problem,) = [p for p in refused.value.problems if p.startswith("ecs:")]
    assert "stored with --secret" in problem and "pulumi config rm ecs" in problem
    assert SECRET_KEY not in str(refused.value)
    # The tokens are the keys meant to be secret: nothing to refuse there.
    parse_config(dev_config(), secret_keys=frozenset({"runnerTokens"}))


def test_the_program_hands_the_warning_to_preview() -> None:
    """Through the runtime: the plan's warnings list carries it."""
    config = dev_config(ecs=with_environment({"AWS_SECRET_ACCESS_KEY": SECRET_KEY})["ecs"])
    plan = evaluate(config)
    expected = "environment.AWS_SECRET_ACCESS_KEY: the value looks like"
    assert any(expected in w for w in plan.warnings)
