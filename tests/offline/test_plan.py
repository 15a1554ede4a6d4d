"""The offline plan command: stack files, --set, region, tokens checked as preview checks them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError
from components.eks.runner import TYPE_TOKEN as EKS_COMPONENT
from components.offline import plan as plan_command
from components.offline.mocks import REDACTED
from components.offline.stack_input import ENCRYPTED, MISSING, REGION_FIX, STAND_IN_PREFIX
from tests.harness import DEV_STACK, ROOT, SECURE_TOKENS

ENCRYPTED_GITLAB_TOKEN = "  gitlab-fargate-runners:gitlabToken:\n    secure: v1:AAAA\n"
REAL_LOOKING = "glrt-t1_SENTINELAbCdEfGhIjKlMnOp"


def write_stack(
    folder: Path, tokens: str = SECURE_TOKENS, region: str | None = "eu-west-1"
) -> Path:
    """The example stack with another region (or none) and the given runnerTokens block."""
    lines = DEV_STACK.read_text().splitlines(keepends=True)
    text = "".join(
        line if "aws:region" not in line else (f"  aws:region: {region}\n" if region else "")
        for line in lines
    )
    (folder / "Pulumi.test.yaml").write_text(text + tokens)
    return folder


def run_plan(
    folder: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any] | None, str]:
    """Run the command; returns exit status, the document (on success) and standard error."""
    out = folder / "plan.json"
    status = plan_command.main(
        ["--stack", "test", "--project-dir", str(folder), "--out", str(out), *args]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, json.loads(out.read_text()) if status == 0 else None, err


def by_type(document: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["type"] == type_]


def test_example_stack_without_tokens_is_refused_like_preview(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert plan_command.main(["--stack", "dev", "--project-dir", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert "runnerTokens.fargate: missing" in err and "runnerTokens.fargate-spot: missing" in err
    assert "Traceback" not in err


def test_stand_in_tokens_plan_the_example_stack_and_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    argv = ["--stack", "dev", "--project-dir", str(ROOT), "--out", str(out), "--stand-in-tokens"]
    assert plan_command.main(argv) == 0
    err = capsys.readouterr().err
    assert "warning: runnerTokens.fargate: not set; this plan uses a stand-in" in err
    text = out.read_text()
    document = json.loads(text)
    assert document["standInTokens"] is True
    assert document["standInSecrets"] == {
        "runnerTokens.fargate": MISSING,
        "runnerTokens.fargate-spot": MISSING,
    }
    assert STAND_IN_PREFIX not in text
    (version,) = by_type(document, "aws:secretsmanager/secretVersion:SecretVersion")
    assert version["inputs"]["secretString"] == REDACTED
    assert document["region"] == "eu-west-1"
    assert {"config.toml", "fargate-fargate.toml"} <= {
        Path(p).name for p in document["renderedFiles"]
    }
    assert {r["name"]: r["parent"] for r in document["resources"]}["network-vpc"] == "network"


def test_set_mode_eks_plans_eks_in_the_stack_region_with_encrypted_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_stack(tmp_path, region="us-east-2")
    status, document, _ = run_plan(folder, capsys, "--set", "mode=eks")
    assert status == 0 and document is not None
    assert document["settings"] == ["mode=eks"]
    assert len(by_type(document, EKS_COMPONENT)) == 1
    assert document["standInTokens"] is False
    assert set(document["standInSecrets"].values()) == {ENCRYPTED}
    text = json.dumps(document)
    assert "eu-west-1" not in text and STAND_IN_PREFIX not in text
    zones = {r["inputs"]["availabilityZone"] for r in by_type(document, "aws:ec2/subnet:Subnet")}
    assert zones == {"us-east-2a", "us-east-2b"}
    assert "arn:aws:sqs:us-east-2:123456789012:gitlab-runners-test-karpenter" in text


def test_whole_token_object_encrypted_stands_in_for_every_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = "  gitlab-fargate-runners:runnerTokens:\n    secure: v1:b2JqZWN0\n"
    status, document, _ = run_plan(write_stack(tmp_path, tokens), capsys)
    assert status == 0 and document is not None
    assert document["standInSecrets"] == {
        "runnerTokens.fargate": ENCRYPTED,
        "runnerTokens.fargate-spot": ENCRYPTED,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("glrt-...", "placeholder or a truncated token"),
        ("glrt-short", "placeholder or a truncated token"),
        ("GR1348941abcdefghijklmnopqrst", "a registration token (deprecated)"),
        (REAL_LOOKING, "stored in plain text"),
    ],
)
def test_plain_text_and_placeholder_tokens_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, expected: str
) -> None:
    tokens = f"  gitlab-fargate-runners:runnerTokens:\n    fargate: {value}\n"
    folder = write_stack(tmp_path, tokens)
    status, _, err = run_plan(folder, capsys)
    assert status == 2
    assert "runnerTokens: stored in plain text" in err and expected in err
    assert REAL_LOOKING not in err  # the message never echoes a token


def test_a_plain_token_next_to_encrypted_ones_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_stack(tmp_path)
    status, _, err = run_plan(folder, capsys, "--set", f"runnerTokens.fargate={REAL_LOOKING}")
    assert status == 2 and "runnerTokens: stored in plain text" in err


def test_missing_region_is_reported_with_the_other_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_plan(write_stack(tmp_path, tokens="", region=None), capsys)
    assert status == 2
    assert "aws:region: not set in plain text in Pulumi.test.yaml" in err and REGION_FIX in err
    assert "runnerTokens.fargate: missing" in err


def test_malformed_region_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_plan(write_stack(tmp_path, region="Ireland"), capsys)
    assert status == 2
    assert "aws:region: 'Ireland' is not an AWS region name" in err and REGION_FIX in err


def test_encrypted_value_without_a_stand_in_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_stack(
        tmp_path, SECURE_TOKENS + "  gitlab-fargate-runners:gitlabUrl:\n    secure: v1:eA==\n"
    )
    stack = folder / "Pulumi.test.yaml"
    plain_url = "  gitlab-fargate-runners:gitlabUrl: https://gitlab.com\n"
    stack.write_text(stack.read_text().replace(plain_url, "", 1))  # one gitlabUrl, encrypted
    status, _, err = run_plan(folder, capsys)
    assert status == 2 and "gitlabUrl: encrypted (secure:)" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            None,
            "Pulumi.test.yaml: no such stack file; create the stack with `pulumi stack init test`",
        ),
        (
            "config:\n  aws:region: eu-west-1\n  mode: [ecs\n",
            "Pulumi.test.yaml line 4: not valid YAML",
        ),
        ("- config\n", "Pulumi.test.yaml line 1: a stack file is a mapping"),
        (
            "encryptionsalt: x\nconfig: ecs\n",
            "Pulumi.test.yaml line 2: `config:` must be a mapping",
        ),
    ],
)
def test_broken_stack_files_exit_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, expected: str
) -> None:
    if text is not None:
        (tmp_path / "Pulumi.test.yaml").write_text(text)
    status, _, err = run_plan(tmp_path, capsys)
    assert status == 2 and expected in err


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("mode", "expected KEY=VALUE"),
        ("runners[5].concurrency=3", "index 5 is past the end of the list (2 items)"),
        ("runners[0]..lane=spot", "cannot read the path at '..lane'"),
        ("runnerTokens.fargate.x=1", "the value there is encrypted"),
    ],
)
def test_bad_settings_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, expected: str
) -> None:
    status, _, err = run_plan(write_stack(tmp_path), capsys, "--set", setting)
    assert status == 2 and err.startswith("--set ") and expected in err


@pytest.mark.parametrize(
    ("token_line", "flags", "reason"),
    [
        (
            "  gitlab-fargate-runners:gitlabToken:\n    secure: v1:AAAA\n",
            {},
            ENCRYPTED,
        ),
        ("", {"stand_in_tokens": True}, MISSING),
    ],
    ids=["encrypted", "missing with --stand-in-tokens"],
)
def test_plan_command_stands_in_the_gitlab_token_for_created_runners(
    tmp_path: Path, token_line: str, flags: dict[str, bool], reason: str
) -> None:
    (tmp_path / "Pulumi.created.yaml").write_text(
        "config:\n"
        "  aws:region: eu-west-1\n"
        # instance runners need an administrator: a self-managed GitLab, not gitlab.com
        "  gitlab-fargate-runners:gitlabUrl: https://gitlab.example.com\n"
        "  gitlab-fargate-runners:gitlab:\n"
        "    createRunners: true\n"
        "    runnerType: instance\n" + token_line
    )
    document = plan_command.run("created", tmp_path, **flags)
    assert document["standInSecrets"] == {"gitlabToken": reason}
    text = json.dumps(document)
    assert plan_command.STAND_IN_GITLAB_TOKEN not in text and "glrt-" not in text
    runners = [r for r in document["resources"] if r["type"].startswith("gitlab:")]
    assert [r["inputs"]["runnerType"] for r in runners] == ["instance_type"]


def test_plan_command_refuses_created_runners_without_a_gitlab_token(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.created.yaml").write_text(
        "config:\n"
        "  aws:region: eu-west-1\n"
        "  gitlab-fargate-runners:gitlab:\n"
        "    createRunners: true\n"
        "    runnerType: instance\n"
    )
    with pytest.raises(ConfigError, match="gitlabToken"):
        plan_command.run("created", tmp_path)
