"""What `pulumi preview` can still see of a stack file the CLI parsed is refused by name: a null
or empty value never becomes a default, a number where text goes names the quoting fix, and
a date the CLI rewrote is recognised (components/config/reader.py)."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config, read_raw_config
from components.offline.mocks import evaluate
from tests.harness import dev_config, run_program, sentinel

TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}
GO_DATE = "2024-05-01 00:00:00 +0000 UTC"  # what the CLI passes for an unquoted 2024-05-01
TASK = {"name": "debian", "image": "debian:12"}


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**TOKENS, **raw})
    return caught.value.problems


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"runners": None}, "runners: no value (null); set a value, or delete the key"),
        ({"runners": ""}, 'runners: expected a non-empty list of runners, got "" (empty)'),
        ({"runners": "null"}, "runners: expected a non-empty list of runners, got 'null'"),
        ({"mode": ""}, 'mode: "" (empty) is not a topology'),
        ({"mode": None}, "mode: null is not a topology"),
        ({"ecs": ""}, 'ecs: expected an object, got "" (empty)'),
        ({"ecs": {"runnerVersion": None}}, "ecs.runnerVersion: no value (null)"),
        ({"network": {"vpcCidr": None}}, "network.vpcCidr: no value (null)"),
        (
            {"runners": [{"name": "fargate", "concurrency": None}]},
            "runners[0] (fargate).concurrency: no value (null)",
        ),
        ({"logRetentionDays": ""}, 'logRetentionDays: expected a whole number, got "" (empty)'),
        ({"ecs": {"taskDefinitions": []}}, "ecs.taskDefinitions: expected a non-empty list"),
    ],
)
def test_null_and_empty_values_are_refused_by_name(raw: dict[str, Any], expected: str) -> None:
    assert any(expected in p for p in problems_of(raw)), problems_of(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"ecs": {"runnerVersion": 18.1}},
            "ecs.runnerVersion: expected a non-empty string, got the number 18.1; quote it",
        ),
        (
            {"network": {"vpcEndpoints": "yes"}},
            "network.vpcEndpoints: expected true or false, got 'yes' (text in YAML 1.2, as the "
            "Pulumi CLI reads it); write true or false",
        ),
        (
            {"runners": [{"name": "fargate", "lane": True}]},
            "runners[0] (fargate).lane: true is not one of fargate | spot | privileged",
        ),
        (
            {"runners": [{"name": "fargate", "tags": [1, "x"]}]},
            'runners[0] (fargate).tags: expected a list of non-empty strings, got [1, "x"]',
        ),
        (
            {"runners": [{"name": "fargate", "tags": [GO_DATE]}]},
            f"tags: '{GO_DATE}' is how the Pulumi CLI rewrites an unquoted YAML date; quote it "
            "in the stack file ('2024-05-01')",
        ),
        (
            {"gitlabUrl": GO_DATE},
            "gitlabUrl: '2024-05-01 00:00:00 +0000 UTC' is how the Pulumi CLI rewrites",
        ),
        (
            {"ecs": {"taskDefinitions": [{**TASK, "environment": {"RELEASED": GO_DATE}}]}},
            "ecs.taskDefinitions[0] (debian).environment.RELEASED: '2024-05-01 00:00:00 +0000 "
            "UTC' is how the Pulumi CLI rewrites an unquoted YAML date",
        ),
        (
            {"ecs": {"taskDefinitions": [{**TASK, "environment": {"PORT": 8080}}]}},
            "environment.PORT: 8080 is not text; values here are strings, so quote it in the "
            "stack file (PORT: '8080')",
        ),
        (
            {"ecs": {"taskDefinitions": [{**TASK, "environment": {"DEBUG": True}}]}},
            "environment.DEBUG: true is not text",
        ),
        (
            {"ecs": {"taskDefinitions": [{**TASK, "environment": {"TZ": None}}]}},
            'environment.TZ: no value (null); set it to text ("" for empty)',
        ),
    ],
)
def test_wrong_types_name_the_key_the_value_and_the_fix(raw: dict[str, Any], expected: str) -> None:
    assert any(expected in p for p in problems_of(raw)), problems_of(raw)


@pytest.mark.parametrize("text", ["null", "", "7", '"text"'])
def test_runtime_config_json_is_used_only_for_objects_and_lists(text: str) -> None:
    """The Python SDK hands every value over as text; "null" must not read as "not set"."""
    raw = read_raw_config(lambda key: text if key == "runners" else None)
    assert raw == {"runners": text}


def test_a_null_nested_value_stops_the_program_before_any_resource() -> None:
    with pytest.raises(ConfigError, match=r"network\.natGateways: no value \(null\)"):
        run_program(dev_config(network={"vpcCidr": "10.42.0.0/16", "natGateways": None}))


def test_a_misspelt_namespace_the_cli_passed_on_is_refused_by_the_program() -> None:
    """`pulumi preview` hands the program every namespace's keys: one a typo away from the
    project's would be ignored without a word."""
    with pytest.raises(ConfigError) as caught:
        evaluate(dev_config(), extra_config={"gitlab-fargate-runner:mode": "eks"})
    assert caught.value.problems == [
        "'gitlab-fargate-runner:mode': the namespace 'gitlab-fargate-runner' is not this "
        "project's ('gitlab-fargate-runners', from Pulumi.yaml), so the program would never "
        "read it; did you mean 'gitlab-fargate-runners:mode' (or just 'mode')?"
    ]
