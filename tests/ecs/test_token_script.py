"""The manager's token writer, run for real with a stand-in `aws` command on PATH."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from components.ecs.manager_files import TOKEN_PLACEHOLDER_PREFIX, token_placeholder
from components.ecs.user_data import TOKEN_SCRIPT
from tests.harness import sentinel

SECRET_ID = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokens"


def run_script(tmp_path: Path, secret: object, exit_code: int = 0) -> subprocess.CompletedProcess:
    """Run the script as the manager does, with `aws` answering `secret` (as JSON)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    answer = json.dumps(json.dumps(secret))
    aws.write_text(f"#!/bin/sh\necho {json.dumps(answer)}\nexit {exit_code}\n")
    aws.chmod(aws.stat().st_mode | stat.S_IEXEC)
    script = tmp_path / "gitlab-runner-tokens"
    script.write_text(TOKEN_SCRIPT.replace("PAUSE_SECONDS = 10", "PAUSE_SECONDS = 0"))
    template = tmp_path / "config.toml.template"
    template.write_text(
        f'[[runners]]\nname = "fargate"\ntoken = "{token_placeholder("fargate")}"\n'
    )
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        [
            sys.executable,
            str(script),
            "eu-west-1",
            SECRET_ID,
            str(template),
            str(tmp_path / "config.toml"),
            TOKEN_PLACEHOLDER_PREFIX,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_writes_each_token_into_a_private_config_and_never_prints_it(tmp_path: Path) -> None:
    token = sentinel("fargate")
    result = run_script(tmp_path, {"fargate": token})
    assert result.returncode == 0, result.stderr
    config = tmp_path / "config.toml"
    assert f'token = "{token}"' in config.read_text()
    assert TOKEN_PLACEHOLDER_PREFIX not in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert token not in result.stdout + result.stderr


def test_refuses_a_secret_without_a_token_for_every_runner(tmp_path: Path) -> None:
    result = run_script(tmp_path, {"other": sentinel("other")})
    assert result.returncode != 0
    assert "no token for runner(s): fargate" in result.stderr
    assert not (tmp_path / "config.toml").exists()


@pytest.mark.parametrize("secret", [["not", "an", "object"], {"fargate": 42}])
def test_refuses_a_secret_of_the_wrong_shape(tmp_path: Path, secret: object) -> None:
    result = run_script(tmp_path, secret)
    assert result.returncode != 0
    assert "not a JSON object of runner name -> token" in result.stderr
