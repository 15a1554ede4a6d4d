"""The gitlab, gitlabToken and cache keys: runners created in GitLab, the S3 cache switch."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from components.config import CacheSpec, ConfigError, GitLabSpec, parse_config, schema
from components.config.reader import did_you_mean
from tests.harness import GITLAB_TOKEN_SENTINEL, sentinel

GITLAB_TOKEN = GITLAB_TOKEN_SENTINEL
CREATE = {"createRunners": True, "runnerType": "group", "groupId": 42}


def created(gitlab: dict[str, Any] | None = None, **raw: Any) -> dict[str, Any]:
    """One runner created in GitLab: no runnerTokens, a gitlabToken."""
    return {
        "runners": [{"name": "fargate"}],
        "gitlab": {**CREATE, **(gitlab or {})},
        "gitlabToken": GITLAB_TOKEN,
        **raw,
    }


def problems_of(raw: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, **kwargs)
    return caught.value.problems


BAD: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    (
        "missing gitlab token",
        {k: v for k, v in created().items() if k != "gitlabToken"},
        ("gitlabToken: missing", "create_runner", "pulumi config set --secret gitlabToken"),
    ),
    (
        "non-numeric group id",
        created({"groupId": "my-group"}),
        ("gitlab.groupId", "'my-group'", "whole number"),
    ),
    (
        "group without group id",
        created({"groupId": None}),
        ("gitlab.groupId: required with gitlab.runnerType group", "--path gitlab.groupId"),
    ),
    (
        "project without project id",
        created({"runnerType": "project", "groupId": None}),
        ("gitlab.projectId: required with gitlab.runnerType project",),
    ),
    (
        "unknown runner type",
        created({"runnerType": "shared"}),
        ("gitlab.runnerType", "'shared'", "instance | group | project"),
    ),
    (
        "no runner type",
        created({"runnerType": None}),
        ("gitlab.runnerType: required", "instance, group", "project"),
    ),
    (
        "both token sources",
        created(runnerTokens={"fargate": sentinel("fargate")}),
        ("runnerTokens and gitlab.createRunners", "pulumi config rm runnerTokens"),
    ),
    (
        "runner token as gitlab token",
        created(gitlabToken=sentinel("fargate")),
        ("gitlabToken", "runner authentication token", "create_runner"),
    ),
    (
        "truncated gitlab token",
        created(gitlabToken="glpat-abc"),
        ("gitlabToken", "placeholder or a truncated token"),
    ),
    (
        "timeout below gitlab's minimum",
        created(ecs={"jobTimeoutSeconds": 300}),
        ("ecs.jobTimeoutSeconds", "300", "at least 600"),
    ),
    (
        "cache expiry out of range",
        {**created(), "cache": {"expirationDays": 0}},
        ("cache.expirationDays", "out of range"),
    ),
]


@pytest.mark.parametrize(
    ("raw", "fragments"), [(c, f) for _, c, f in BAD], ids=[i for i, *_ in BAD]
)
def test_bad_gitlab_input_names_key_value_and_fix(
    raw: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    problems = problems_of(raw)
    assert any(all(f in p for f in fragments) for p in problems), problems


def test_unknown_runner_type_is_one_problem_not_two() -> None:
    problems = problems_of(created({"runnerType": "shared"}))
    assert [p for p in problems if "runnerType" in p] == [
        "gitlab.runnerType: 'shared' is not one of instance | group | project; pick one of them"
    ]


def test_plain_text_gitlab_token_is_refused_and_never_echoed() -> None:
    problems = problems_of(created(), gitlab_token_is_secret=False)
    assert any("gitlabToken: stored in plain text" in p and "--secret" in p for p in problems)
    for raw in (created(), created(gitlabToken=sentinel("fargate"))):
        for secret in (False, True):
            try:
                parse_config(raw, gitlab_token_is_secret=secret)
                messages = ""
            except ConfigError as error:
                messages = str(error)
            assert GITLAB_TOKEN not in messages and sentinel("fargate") not in messages


def test_created_runners_need_no_runner_tokens() -> None:
    config, warnings = parse_config(created())
    assert config.gitlab.create_runners and config.gitlab.group_id == 42
    assert config.runner_tokens == ()
    assert config.gitlab_token is not None and config.gitlab_token.value == GITLAB_TOKEN
    assert GITLAB_TOKEN not in repr(config) and str(config.gitlab_token) == "[secret]"
    assert [w for w in warnings if not w.startswith("ecs.driverSha256 is not set")] == []


def test_gitlab_keys_without_create_runners_are_ignored_with_a_warning() -> None:
    raw = {
        "runnerTokens": {"fargate": sentinel("fargate")},
        "gitlab": {"runnerType": "group"},
        "gitlabToken": GITLAB_TOKEN,
    }
    config, warnings = parse_config(raw)
    assert config.gitlab_token is None
    assert any("gitlab.runnerType" in w and "createRunners is off" in w for w in warnings)
    assert any(w.startswith("gitlabToken is set but not used") for w in warnings)


def test_cache_is_on_by_default_with_two_weeks_expiry() -> None:
    config, _ = parse_config({"runnerTokens": {"fargate": sentinel("fargate")}})
    assert config.cache == CacheSpec(enabled=True, expiration_days=14)
    assert config.gitlab.create_runners is False


@pytest.mark.parametrize(
    ("section", "model"), [(schema.GITLAB_SECTION, GitLabSpec), (schema.CACHE_SECTION, CacheSpec)]
)
def test_schema_and_model_name_the_same_fields(section: schema.Section, model: type) -> None:
    assert {k.attr for k in section.keys} == {f.name for f in fields(model)}


def test_a_case_typo_suggests_the_key_that_differs_only_in_case() -> None:
    assert did_you_mean("gitlabURL", schema.TOP.names, "") == "did you mean 'gitlabUrl'?"
