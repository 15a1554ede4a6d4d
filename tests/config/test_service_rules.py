"""Rules other services enforce on values the program passes on (components/config/
service_rules.py), the not-polling alarm window, and keys a mode leaves unused: each with a
refused (or warned) case and a neighbour that still plans."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.config.service_rules import GITLAB_MAX_TAGS, gitlab_tags
from tests.harness import GITLAB_TOKEN_SENTINEL, sentinel

CREATE = {"createRunners": True, "runnerType": "group", "groupId": 42}
TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}


def created(tags: list[str], **gitlab: Any) -> dict[str, Any]:
    return {
        "runners": [{"name": "fargate", "tags": tags}],
        "gitlab": {**CREATE, **gitlab},
        "gitlabToken": GITLAB_TOKEN_SENTINEL,
    }


def outcome(raw: dict[str, Any], **kwargs: Any) -> tuple[list[str], list[str]]:
    try:
        return [], parse_config(raw, **kwargs)[1]
    except ConfigError as error:
        return error.problems, []


def test_gitlab_stores_tags_split_at_commas_stripped_and_unique() -> None:
    """gitlabhq lib/gitlab/ci/tags/parser.rb (join with ', ', split on ',') and tag_list.rb
    clean! (reject blank, strip, uniq)."""
    assert gitlab_tags(("a, b", " c ", "a", " ")) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("tags", "gitlab", "fragments"),
    [
        (["ok", "  "], {}, ("runners[0] (fargate).tags", "'  ' is blank", "remove it")),
        (["docker,linux"], {}, ("'docker,linux' holds a comma", "'docker', 'linux'", "own item")),
        (
            [f"t{i}" for i in range(GITLAB_MAX_TAGS + 1)],
            {},
            ("51 tags", "at most 50", "TAG_LIST_MAX_LENGTH"),
        ),
        ([" ", ","], {"runUntagged": False}, ("no tag is left", "gitlab.runUntagged true")),
    ],
)
def test_tags_gitlab_refuses_or_rewrites_are_refused(
    tags: list[str], gitlab: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    """gitlabhq app/models/ci/runner.rb `tag_constraints`: at most TAG_LIST_MAX_LENGTH (50)
    tags, and no empty list unless run_untagged."""
    problems, _ = outcome(created(tags, **gitlab))
    assert any(all(f in p for f in fragments) for p in problems), problems


@pytest.mark.parametrize(
    ("tags", "gitlab"),
    [
        ([f"t{i}" for i in range(GITLAB_MAX_TAGS)], {}),  # exactly the limit
        (["docker", "linux"], {}),
        (["docker"], {"runUntagged": False}),
    ],
)
def test_tags_gitlab_keeps_plan(tags: list[str], gitlab: dict[str, Any]) -> None:
    assert outcome(created(tags, **gitlab))[0] == []


def test_tags_of_runners_the_program_does_not_create_are_left_to_their_owner() -> None:
    raw = {**TOKENS, "runners": [{"name": "fargate", "tags": ["docker,linux"]}]}
    assert outcome(raw)[0] == []


def test_an_alert_topic_in_another_region_is_refused_at_config_time() -> None:
    arn = "arn:aws:sns:us-east-1:123456789012:platform-alerts"
    raw = {**TOKENS, "alerts": {"snsTopicArn": arn}}
    problems, _ = outcome(raw, region="eu-west-1")
    assert any(
        p.startswith(f"alerts.snsTopicArn: '{arn}' is a topic in us-east-1") for p in problems
    )
    assert outcome(raw, region="us-east-1")[0] == []
    off = {**raw, "observability": {"enabled": False}}
    assert outcome(off, region="eu-west-1")[0] == []  # no alarms, nothing refused


def test_public_subnets_warn_in_ecs_mode_and_serve_eks() -> None:
    network = {
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0aaaaaaa", "subnet-0bbbbbbb"],
        "publicSubnetIds": ["subnet-0ccccccc"],
    }
    problems, warnings = outcome({**TOKENS, "network": network})
    assert problems == []
    assert any(
        w.startswith("network.publicSubnetIds is set but ignored in ecs mode")
        and "pulumi config rm --path network.publicSubnetIds" in w
        for w in warnings
    )
    _, eks = outcome({**TOKENS, "mode": "eks", "network": network})
    assert not any("publicSubnetIds" in w for w in eks)


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_the_not_polling_window_follows_the_check_interval(mode: str) -> None:
    """gitlab-runner feeds each runner once per check_interval (commands/multi.go
    feedRunners): a 600 s interval leaves 9 whole minutes without a feed, so a 5-minute
    window would keep the alarm in ALARM. The window becomes ceil(600 / 60) + 1 = 11."""
    base = {**TOKENS, "mode": mode, mode: {"checkInterval": 600}}
    config, warnings = parse_config(base)
    assert config.alerts.not_polling_minutes == 11
    assert not any("notPollingMinutes" in w for w in warnings)  # derived from the default
    config, warnings = parse_config({**base, "alerts": {"notPollingMinutes": 5}})
    assert config.alerts.not_polling_minutes == 11
    (warning,) = [w for w in warnings if w.startswith("alerts.notPollingMinutes")]
    assert f"{mode}.checkInterval 600 s" in warning and "waits 11 minutes" in warning
    config, _ = parse_config({**base, mode: {"checkInterval": 3}})
    assert config.alerts.not_polling_minutes == 5  # the default window holds a 3 s interval
