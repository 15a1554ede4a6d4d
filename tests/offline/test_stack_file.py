"""The stack file is read as the Pulumi CLI reads it (gopkg.in/yaml.v3 v3.0.1, then Pulumi's
config values), checked against the upstream test vectors in tests/upstream/yaml-v3-decode.json,
and every value YAML probably read differently from what was meant gets a warning with its line.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.offline import plan as plan_command
from components.offline.stack_file import StackFileError, read_stack_file
from components.offline.yaml_v3 import YamlError, go_float_text, load
from tests.harness import DEV_STACK, SECURE_TOKENS

UPSTREAM = Path(__file__).resolve().parent.parent / "upstream" / "yaml-v3-decode.json"


@cache
def vectors() -> dict[str, Any]:
    return json.loads(UPSTREAM.read_text(encoding="utf-8"))


def stack(folder: Path, replace: dict[str, str] | None = None, extra: str = "") -> Path:
    """The example stack with encrypted tokens, lines replaced and `extra` appended."""
    text = DEV_STACK.read_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / "Pulumi.test.yaml"
    path.write_text(text + SECURE_TOKENS + extra)
    return path


def plan(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and standard error of the offline plan for Pulumi.test.yaml."""
    status = plan_command.main(
        ["--stack", "test", "--project-dir", str(folder), "--out", str(folder / "plan.json")]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


@pytest.mark.parametrize("case", vectors()["scalars_into_interface"], ids=lambda c: c["yaml"])
def test_scalars_decode_as_yaml_v3_decodes_them_into_interface(case: dict[str, Any]) -> None:
    """go-yaml/yaml v3.0.1 decode_test.go unmarshalTests; numbers as Pulumi's JSON passes
    them on (an integral float arrives as a whole number)."""
    (value,) = load(case["yaml"])[0].values()
    expected = case["value"]
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        assert value == expected and type(value) is type(expected)
    else:
        assert not isinstance(value, bool) and math.isclose(value, expected)


@pytest.mark.parametrize("case", vectors()["errors"], ids=lambda c: c["error"][:30])
def test_documents_yaml_v3_refuses_are_refused(case: dict[str, str]) -> None:
    """decode_test.go unmarshalErrorTests and unmarshalStrictTests (duplicate keys)."""
    with pytest.raises(YamlError) as caught:
        load(case["yaml"])
    assert case["error"] in f"line {caught.value.line}: {caught.value}"


@pytest.mark.parametrize("case", vectors()["timestamps_into_interface"], ids=lambda c: c["yaml"])
def test_dates_become_the_text_pulumi_makes_of_a_go_time(case: dict[str, str]) -> None:
    """yaml.v3 v3.0.1 decodes an unquoted date into a time.Time (decode_test.go "implicit
    timestamp tag into interface"), and Pulumi's config/object.go unmarshalObject passes it on
    as t.String(): not the text written, so the reader warns."""
    value, notes = load(case["yaml"])
    assert value == {"a": case["go_time"]}
    assert [n.kind for n in notes] == ["timestamp"]


def test_yaml_1_1_booleans_stay_text_and_are_noted() -> None:
    value, notes = load("a: [yes, No, on, OFF, true, 'yes']\n")
    assert value == {"a": ["yes", "No", "on", "OFF", True, "yes"]}
    assert [(n.kind, n.text) for n in notes] == [
        ("bool11", "yes"),
        ("bool11", "No"),
        ("bool11", "on"),
        ("bool11", "OFF"),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.3, "1.3"), (1000.0, "1000"), (1e21, "1e+21"), (1e-7, "1e-7"), (1e-6, "0.000001")],
)
def test_floats_are_written_as_go_encoding_json_writes_them(value: float, text: str) -> None:
    """encoding/json floatEncoder: fixed notation for 1e-6 <= |f| < 1e21."""
    assert go_float_text(value) == text


def test_top_level_blanks_become_empty_strings_as_the_cli_passes_them(tmp_path: Path) -> None:
    """pulumi sdk/go/common/workspace/loaders_test.go TestEmptyValueWarning: a, b and c are
    "" with a warning, d is "" without one."""
    case = vectors()["pulumi_top_level_null"]
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(case["yaml"])
    stack_file = read_stack_file(path)
    assert stack_file.other_config == dict.fromkeys(
        ["project:a", "project:b", "project:c", "project:d"], case["value"]
    )
    assert [w.split(":")[0] for w in stack_file.warnings] == [
        "Pulumi.test.yaml line 2",
        "Pulumi.test.yaml line 3",
        "Pulumi.test.yaml line 4",
    ]


def test_top_level_scalars_are_the_text_the_cli_passes(tmp_path: Path) -> None:
    path = stack(tmp_path, {"logRetentionDays: 30": "logRetentionDays: 030"})
    stack_file = read_stack_file(path)
    assert stack_file.project_config["logRetentionDays"] == "24"
    assert stack_file.project_config["mode"] == "ecs"
    (warning,) = stack_file.warnings
    assert warning.startswith("Pulumi.test.yaml line 9: logRetentionDays: 030 has a leading zero")
    assert "octal number 24; write 30" in warning


def test_a_second_mode_key_is_refused_with_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Duplicate keys used to keep the last one: a second `mode:` switched the topology."""
    stack(tmp_path, extra="  gitlab-fargate-runners:mode: eks\n")
    status, err = plan(tmp_path, capsys)
    assert status == 2
    assert 'line 45: mapping key "gitlab-fargate-runners:mode" already defined at line 7' in err


def test_a_key_written_with_and_without_the_namespace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match="'mode' is the key 'gitlab-fargate-runners:mode'"):
        read_stack_file(stack(tmp_path, extra="  mode: eks\n"))


def test_a_misspelt_project_namespace_is_refused_with_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack(tmp_path, {"gitlab-fargate-runners:mode: ecs": "gitlab-fargate-runner:mode: eks"})
    status, err = plan(tmp_path, capsys)
    assert status == 2
    assert "line 7: 'gitlab-fargate-runner:mode': the namespace 'gitlab-fargate-runner'" in err
    assert "did you mean 'gitlab-fargate-runners:mode'" in err


def test_other_namespaces_and_the_config_compat_form_are_kept(tmp_path: Path) -> None:
    extra = "  pulumi:tags: x\n  gitlab:baseUrl: https://g.example.com\n  aws:config:profile: p\n"
    stack_file = read_stack_file(stack(tmp_path, extra=extra))
    assert stack_file.other_config["pulumi:tags"] == "x"
    assert stack_file.other_config["gitlab:baseUrl"] == "https://g.example.com"
    assert stack_file.other_config["aws:profile"] == "p"


def test_a_key_with_two_namespaces_is_refused_as_the_cli_refuses_it(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match="'a:b:c' is not a configuration key"):
        read_stack_file(stack(tmp_path, extra="  a:b:c: 1\n"))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("---\nconfig: {}\n", "line 46: a second YAML document"),
        ("  gitlab-fargate-runners:x: .inf\n", "line 45: .inf is not a number"),
        ("  gitlab-fargate-runners:x: !!bool yes\n", "cannot decode !!str `yes` as a !!bool"),
        ('  gitlab-fargate-runners:x: "\\ud83d"\n', "invalid Unicode character escape code"),
        ("  gitlab-fargate-runners:x: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
)
def test_documents_the_cli_would_not_read_are_refused(
    tmp_path: Path, extra: str, expected: str
) -> None:
    with pytest.raises(StackFileError, match=expected):
        read_stack_file(stack(tmp_path, extra=extra))


def test_a_byte_order_mark_is_ignored_as_the_cli_strips_it(tmp_path: Path) -> None:
    path = stack(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read_stack_file(path).project_config["mode"] == "ecs"


def test_an_unquoted_version_is_refused_with_the_warning_that_explains_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack(tmp_path, {"runnerVersion: 19.3.0": "runnerVersion: 18.10"})
    status, err = plan(tmp_path, capsys)
    assert status == 2
    assert "ecs.runnerVersion: expected a non-empty string, got the number 18.1; quote it" in err
    assert "line 24: ecs.runnerVersion: 18.10 is read as the number 18.1; quote it" in err


def test_yes_for_a_boolean_is_refused_naming_yaml_1_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack(tmp_path, {"vpcEndpoints: true": "vpcEndpoints: yes"})
    status, err = plan(tmp_path, capsys)
    assert status == 2
    assert "network.vpcEndpoints: expected true or false, got 'yes' (text in YAML 1.2" in err
    assert "line 22: network.vpcEndpoints: yes stays the text" in err


def test_runners_left_blank_is_refused_not_one_default_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = "  gitlab-fargate-runners:runners:\n"
    listed = DEV_STACK.read_text().split(blank)[1].split("  gitlab-fargate-runners:network")[0]
    stack(tmp_path, {blank + listed: blank})
    status, err = plan(tmp_path, capsys)
    assert status == 2
    assert 'runners: expected a non-empty list of runners, got "" (empty)' in err
    assert "line 10: runners: no value; the Pulumi CLI passes a blank or null as" in err


def test_a_date_in_a_task_environment_is_refused_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack(
        tmp_path,
        {
            "ephemeralStorageGiB: 40": "ephemeralStorageGiB: 40\n        environment:"
            "\n          RELEASED: 2024-05-01\n          PORT: 8080"
        },
    )
    status, err = plan(tmp_path, capsys)
    assert status == 2
    assert (
        "ecs.taskDefinitions[1] (node).environment.RELEASED: '2024-05-01 00:00:00 +0000 UTC' "
        "is how the Pulumi CLI rewrites an unquoted YAML date; quote it in the stack file "
        "('2024-05-01')"
    ) in err
    assert "environment.PORT: 8080 is not text; values here are strings, so quote it" in err


def test_warnings_reach_a_plan_that_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack(tmp_path, {"tags: [fargate]": "tags: [fargate, on]"})
    status, err = plan(tmp_path, capsys)
    assert status == 0
    assert "warning: Pulumi.test.yaml line 12: runners[0].tags[1]: on stays the text" in err
