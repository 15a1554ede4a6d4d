"""The manager's files: config.toml, fargate.toml, user data, and the boot-time token unit."""

from __future__ import annotations

import configparser
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import StackConfig, parse_config
from components.ecs.catalogue import render_gitlab_ci_example
from components.ecs.manager_files import (
    CONFIG_PATH,
    CONFIG_TEMPLATE_PATH,
    DRIVER_PATH,
    TOKEN_PLACEHOLDER_PREFIX,
    FargateDriverSettings,
    driver_download_url,
    render_config_toml,
    render_fargate_toml,
    runner_download_url,
    token_placeholder,
)
from components.ecs.sizing import Shard, plan_shards
from components.ecs.user_data import (
    TOKEN_SCRIPT,
    ManagerBootSettings,
    decode_user_data,
    encode_user_data,
    render_user_data,
)
from components.offline.mocks import Plan
from components.topology import ecs_fleet_spec
from tests.ecs.support import user_data
from tests.harness import SENTINEL_PREFIX, dev_config, sentinel

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokens-AbCdEf"


def typed(raw: dict[str, Any]) -> StackConfig:
    config, _ = parse_config(raw)
    return config


def only_shard(config: StackConfig) -> Shard:
    (shard,) = plan_shards(config.runners, config.ecs.max_jobs_per_manager)
    return shard


def boot_settings(config: StackConfig, **overrides: Any) -> ManagerBootSettings:
    values: dict[str, Any] = {
        "runner_version": config.ecs.runner_version,
        "runner_sha256": config.ecs.runner_sha256,
        "driver_version": config.ecs.driver_version,
        "driver_sha256": config.ecs.driver_sha256,
        "region": "eu-west-1",
        "secret_arn": SECRET_ARN,
        "log_group_name": "/gitlab-runners-dev/manager",
        "config_toml": render_config_toml(ecs_fleet_spec(config), only_shard(config)),
        "fargate_tomls": {r.name: f'Cluster = "{r.name}"\n' for r in config.runners},
        "stop_timeout_seconds": 3630,
        "lifecycle_hook_name": "drain-running-jobs",
        "heartbeat_seconds": 1965,
    }
    values.update(overrides)
    return ManagerBootSettings(**values)


def test_config_toml_has_every_runner_with_exactly_the_known_keys() -> None:
    config = typed(
        dev_config(
            gitlabUrl="https://gitlab.example.com/",
            runners=[
                {"name": "fargate", "concurrency": 7, "requestConcurrency": 3},
                {"name": "fargate-spot", "lane": "spot", "concurrency": 2},
            ],
            ecs={"checkInterval": 5},
        )
    )
    document = tomllib.loads(render_config_toml(ecs_fleet_spec(config), only_shard(config)))
    assert document.keys() == {
        "concurrent",
        "check_interval",
        "log_level",
        "log_format",
        "shutdown_timeout",
        "listen_address",
        "runners",
    }
    # Metrics for the CloudWatch agent on the same host, never the VPC (observability).
    assert document["listen_address"] == "127.0.0.1:9252"
    assert document["concurrent"] == 9  # the sum of the runners' concurrency
    assert document["check_interval"] == 5
    assert document["log_level"] == "info" and document["log_format"] == "text"
    assert document["shutdown_timeout"] == 30
    first, second = document["runners"]
    assert first == {
        "name": "fargate",
        "url": "https://gitlab.example.com",
        "token": token_placeholder("fargate"),
        "executor": "custom",
        "limit": 7,
        "request_concurrency": 3,
        "builds_dir": "/opt/gitlab-runner/builds",
        "cache_dir": "/opt/gitlab-runner/cache",
        "custom": {
            **{f"{stage}_exec": DRIVER_PATH for stage in ("config", "prepare", "run", "cleanup")},
            **{
                f"{stage}_args": [
                    "--config",
                    "/etc/gitlab-runner/fargate-fargate.toml",
                    "custom",
                    stage,
                ]
                for stage in ("config", "prepare", "run", "cleanup")
            },
            # no run_exec_timeout: gitlab-runner has no such key and would ignore it
            "prepare_exec_timeout": 1200,
            "cleanup_exec_timeout": 300,
        },
    }
    assert second["name"] == "fargate-spot" and second["limit"] == 2
    assert second["request_concurrency"] == 1
    assert second["custom"]["run_args"][1] == "/etc/gitlab-runner/fargate-fargate-spot.toml"
    assert second["token"] == token_placeholder("fargate-spot")


def test_config_toml_never_holds_a_token() -> None:
    config = typed(dev_config())
    text = render_config_toml(ecs_fleet_spec(config), only_shard(config))
    assert SENTINEL_PREFIX not in text and "glrt-" not in text
    assert text.count(TOKEN_PLACEHOLDER_PREFIX) == len(config.runners)


def test_fargate_toml_has_exactly_the_driver_keys() -> None:
    text = render_fargate_toml(
        FargateDriverSettings(
            runner_name="fargate-spot",
            cluster="gitlab-runners-dev-spot",
            region="eu-west-1",
            subnet="subnet-0123",
            security_group="sg-0456",
            task_definition="gitlab-runners-dev-node",
            platform_version="1.4.0",
            ssh_username="root",
        )
    )
    assert tomllib.loads(text) == {
        "LogLevel": "info",
        "LogFormat": "text",
        "Fargate": {
            "Cluster": "gitlab-runners-dev-spot",
            "Region": "eu-west-1",
            "Subnet": "subnet-0123",
            "SecurityGroup": "sg-0456",
            "TaskDefinition": "gitlab-runners-dev-node",
            "EnablePublicIP": False,
            "PlatformVersion": "1.4.0",
        },
        "TaskMetadata": {"Directory": "/opt/gitlab-runner/metadata/fargate-spot"},
        "SSH": {"Username": "root", "Port": 22},
    }


def fetch_args(script: str, dest: str) -> list[str]:
    """The arguments of the user data's verified download of `dest`."""
    line = next(
        line
        for line in script.splitlines()
        if line.startswith("/usr/bin/python3 /usr/local/sbin/fetch-verified")
        and f"--dest {dest} " in line + " "
    )
    return line.split()[2:]


def test_user_data_pins_the_configured_versions_and_never_traces() -> None:
    # The example stack's script is a golden file (tests/golden); this checks the properties.
    config = typed(dev_config(ecs={"runnerVersion": "18.8.1", "driverVersion": "v0.5.2"}))
    script = render_user_data(boot_settings(config))
    assert "set -euo pipefail" in script
    assert not re.search(r"set\s+-[a-z]*x", script) and "xtrace" not in script
    runner_url = runner_download_url("18.8.1")
    driver_url = driver_download_url("v0.5.2")
    assert runner_url == (
        "https://gitlab-runner-downloads.s3.amazonaws.com/v18.8.1/binaries/gitlab-runner-linux-amd64"
    )
    assert driver_url == (
        "https://gitlab-runner-custom-fargate-downloads.s3.amazonaws.com/v0.5.2/fargate-linux-amd64"
    )
    assert fetch_args(script, "/usr/local/bin/gitlab-runner")[:2] == ["--url", runner_url]
    assert fetch_args(script, DRIVER_PATH)[:2] == ["--url", driver_url]
    downloads = [line for line in script.splitlines() if "amazonaws.com" in line]
    assert len(downloads) == 2 and not any("latest" in line for line in downloads)


def test_user_data_is_valid_bash(tmp_path: Path, ecs_dev_plan: Plan) -> None:
    script = tmp_path / "user-data.sh"
    script.write_text(user_data(ecs_dev_plan))
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def heredoc_files(script: str) -> dict[str, str]:
    """The files the user data writes, as bash would write them."""
    pattern = re.compile(r"^cat > (\S+) <<'(\w+)'\n(.*?)^\2$", re.M | re.S)
    return {m.group(1): m.group(3) for m in pattern.finditer(script)}


def test_user_data_writes_the_rendered_files_verbatim(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    written = heredoc_files(user_data(plan))
    assert written[CONFIG_TEMPLATE_PATH] == plan.rendered_files[CONFIG_PATH]
    for runner in ("fargate", "fargate-spot"):
        path = f"/etc/gitlab-runner/fargate-{runner}.toml"
        assert written[path] == plan.rendered_files[path]
    assert written["/usr/local/sbin/gitlab-runner-tokens"] == TOKEN_SCRIPT


def unit_file(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_units_run_the_token_script_before_gitlab_runner_on_every_boot(
    ecs_dev_plan: Plan,
) -> None:
    written = heredoc_files(user_data(ecs_dev_plan))
    tokens_unit = unit_file(written["/etc/systemd/system/gitlab-runner-tokens.service"])
    runner_unit = unit_file(written["/etc/systemd/system/gitlab-runner.service"])
    assert tokens_unit["Service"]["Type"] == "oneshot"
    assert "gitlab-runner.service" in tokens_unit["Unit"]["Before"].split()
    # A failed token read is retried; a token rewrite never restarts (drains) the runner.
    assert tokens_unit["Service"]["Restart"] == "on-failure"
    assert "Requires" not in runner_unit["Unit"] and "BindsTo" not in runner_unit["Unit"]
    assert "gitlab-runner-tokens.service" in runner_unit["Unit"]["After"].split()
    assert runner_unit["Service"]["KillSignal"] == "SIGQUIT"  # drain running jobs on stop
    for unit in (tokens_unit, runner_unit):
        assert unit["Install"]["WantedBy"] == "multi-user.target"  # every boot
    assert tokens_unit["Service"]["ExecStart"].split()[1:] == [
        "/usr/local/sbin/gitlab-runner-tokens",
        "eu-west-1",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecs-runner-tokens-AbCdEf",
        CONFIG_TEMPLATE_PATH,
        CONFIG_PATH,
        TOKEN_PLACEHOLDER_PREFIX,
    ]
    agent = json.loads(written["/opt/aws/amazon-cloudwatch-agent/etc/gitlab-runner-manager.json"])
    collected = agent["logs"]["logs_collected"]["files"]["collect_list"]
    assert {c["log_group_name"] for c in collected} == {"/gitlab-runners-dev/manager"}
    assert "/var/log/gitlab-runner/gitlab-runner.log" in {c["file_path"] for c in collected}


def fake_aws(tmp_path: Path, secret: dict[str, str]) -> Path:
    """An `aws` executable that answers get-secret-value like the CLI v2 and logs its argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(json.dumps(secret)))
    script = bin_dir / "aws"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/argv\ncat {answer}\n')
    script.chmod(0o755)
    return bin_dir


def run_token_script(tmp_path: Path, secret: dict[str, str]) -> subprocess.CompletedProcess[str]:
    config = typed(dev_config())
    (tmp_path / "config.toml.template").write_text(
        render_config_toml(ecs_fleet_spec(config), only_shard(config))
    )
    script = tmp_path / "gitlab-runner-tokens"
    script.write_text(TOKEN_SCRIPT)
    env = {**os.environ, "PATH": f"{fake_aws(tmp_path, secret)}:{os.environ['PATH']}"}
    args = [
        "eu-west-1",
        SECRET_ARN,
        str(tmp_path / "config.toml.template"),
        str(tmp_path / "config.toml"),
        TOKEN_PLACEHOLDER_PREFIX,
    ]
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, env=env
    )


def test_token_script_writes_real_tokens_with_mode_0600_and_prints_none(tmp_path: Path) -> None:
    # A token with TOML-significant characters must still come back out byte for byte.
    odd = sentinel("fargate-spot") + '"\\x'
    result = run_token_script(tmp_path, {"fargate": sentinel("fargate"), "fargate-spot": odd})
    assert result.returncode == 0, result.stderr
    written = tmp_path / "config.toml"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    tokens = {r["name"]: r["token"] for r in tomllib.loads(written.read_text())["runners"]}
    assert tokens == {"fargate": sentinel("fargate"), "fargate-spot": odd}
    assert SENTINEL_PREFIX not in result.stdout + result.stderr
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:3] == ["secretsmanager", "get-secret-value", "--region"]
    assert argv[argv.index("--secret-id") + 1] == SECRET_ARN
    assert list(tmp_path.glob(".config.toml.*")) == []  # no temporary file left behind


def test_token_script_refuses_a_secret_missing_a_runner(tmp_path: Path) -> None:
    result = run_token_script(tmp_path, {"fargate": sentinel("fargate")})
    assert result.returncode != 0
    assert "fargate-spot" in result.stderr
    assert SENTINEL_PREFIX not in result.stdout + result.stderr
    assert not (tmp_path / "config.toml").exists()


def test_user_data_is_compressed_and_bounded() -> None:
    config = typed(dev_config())
    script = render_user_data(boot_settings(config))
    assert decode_user_data(encode_user_data(script)) == script
    noise = os.urandom(20000).hex()
    with pytest.raises(ValueError, match="16384"):
        encode_user_data(script + noise)


def test_user_data_refuses_content_that_would_end_a_heredoc() -> None:
    config = typed(dev_config())
    evil = {"fargate": "x\n__GITLAB_RUNNER_MANAGER_EOF__\nrm -rf /\n"}
    with pytest.raises(ValueError, match="heredoc"):
        render_user_data(boot_settings(config, fargate_tomls=evil))


def test_gitlab_ci_example_uses_tags_catalogue_and_spot(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    example = yaml.safe_load(plan.outputs["gitlabCiExample"])
    assert example["fargate-default"]["tags"] == ["fargate"]
    assert example["fargate-node"]["variables"] == {
        "FARGATE_TASK_DEFINITION": "gitlab-runners-dev-node"
    }
    assert example["fargate-spot"]["tags"] == ["fargate-spot"]
    assert all(job["script"] for job in example.values())
    assert all("image" not in job for job in example.values())  # ignored by the driver


def test_gitlab_ci_example_picks_an_entry_other_than_the_runner_default(
    ecs_existing_vpc_plan: Plan,
) -> None:
    example = yaml.safe_load(ecs_existing_vpc_plan.outputs["gitlabCiExample"])
    # The only runner defaults to the first entry (debian), so the example shows node.
    assert set(example) == {"fargate-default", "fargate-node"}
    assert example["fargate-default"]["tags"] == ["build"]
    config = typed(dev_config(runners=[{"name": "fargate", "taskDefinition": "node"}]))
    other = yaml.safe_load(
        render_gitlab_ci_example(ecs_fleet_spec(config), {"debian": "f-debian", "node": "n"})
    )
    assert other["fargate-debian"]["variables"]["FARGATE_TASK_DEFINITION"] == "f-debian"
