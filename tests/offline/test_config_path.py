"""`--set KEY=VALUE`: the key syntax and value typing of `pulumi config set --path`."""

from __future__ import annotations

from typing import Any

import pytest

from components.naming import PROJECT
from components.offline.config_path import SettingError, apply_setting, parse_key
from components.offline.stack_file import path_text

MODE = f"{PROJECT}:mode"
RUNNERS = f"{PROJECT}:runners"


def test_keys_get_the_project_namespace_unless_they_name_one() -> None:
    assert parse_key("mode") == (MODE, [])
    assert parse_key("aws:region") == ("aws:region", [])
    assert parse_key("runners[0].tags[1]") == (RUNNERS, [0, "tags", 1])
    assert parse_key('eks["a.b"].c') == (f"{PROJECT}:eks", ["a.b", "c"])


def test_values_are_typed_as_pulumi_types_them() -> None:
    config: dict[str, Any] = {RUNNERS: [{"name": "fargate", "concurrency": 20}]}
    for setting in (
        "logRetentionDays=30",
        "runners[0].concurrency=50",
        "runners[0].lane=spot",
        "network.vpcEndpoints=false",
        "ecs.runnerVersion=18.9.0",
        "ecs.checkInterval=07",
    ):
        apply_setting(config, setting)
    assert config[f"{PROJECT}:logRetentionDays"] == "30"  # top level: always a string
    assert config[RUNNERS] == [{"name": "fargate", "concurrency": 50, "lane": "spot"}]
    assert config[f"{PROJECT}:network"] == {"vpcEndpoints": False}
    assert config[f"{PROJECT}:ecs"] == {"runnerVersion": "18.9.0", "checkInterval": "07"}


def test_the_next_free_index_appends() -> None:
    config: dict[str, Any] = {}
    apply_setting(config, "runners[0].name=a")
    apply_setting(config, "runners[1].name=b")
    apply_setting(config, "runners[1].tags[0]=x")
    assert config[RUNNERS] == [{"name": "a"}, {"name": "b", "tags": ["x"]}]


@pytest.mark.parametrize(
    ("config", "setting", "expected"),
    [
        ({MODE: "ecs"}, "mode.x=1", ".x reaches into a value that is not an object"),
        ({RUNNERS: {"a": 1}}, "runners[0]=1", "[0] indexes a value that is not a list"),
        ({}, "=x", "expected KEY=VALUE"),
        ({}, "[0]=x", "a key starts with a name"),
    ],
)
def test_settings_that_cannot_apply(config: dict[str, Any], setting: str, expected: str) -> None:
    with pytest.raises(SettingError) as caught:
        apply_setting(config, setting)
    assert expected in str(caught.value)


def test_paths_print_back_in_the_syntax_they_are_read_in() -> None:
    for segments in (["runnerTokens", "fargate-spot"], ["runners", 0, "tags"], ["eks", "a.b"]):
        text = path_text(segments)
        assert parse_key(text) == (f"{PROJECT}:{segments[0]}", segments[1:])


def test_lists_set_item_by_item_or_as_one_json_value() -> None:
    by_item: dict[str, Any] = {}
    apply_setting(by_item, "eks.publicAccessCidrs[0]=1.2.3.4/32")
    apply_setting(by_item, "eks.publicAccessCidrs[1]=5.6.7.8/32")
    as_json: dict[str, Any] = {}
    apply_setting(as_json, 'eks.publicAccessCidrs=["1.2.3.4/32", "5.6.7.8/32"]')
    assert by_item == as_json
    assert as_json[f"{PROJECT}:eks"]["publicAccessCidrs"] == ["1.2.3.4/32", "5.6.7.8/32"]
    top: dict[str, Any] = {}
    apply_setting(top, 'runners=[{"name": "a"}]')
    assert top[RUNNERS] == '[{"name": "a"}]'  # top level: a string, as Pulumi stores it


def test_broken_json_names_both_forms_of_the_fix() -> None:
    with pytest.raises(SettingError) as caught:
        apply_setting({}, "eks.publicAccessCidrs=[1.2.3.4/32]")
    assert "not valid JSON" in str(caught.value)
    assert '["1.2.3.4/32"]' in str(caught.value) and "KEY[0]=VALUE" in str(caught.value)
