"""The runner manager's files: config.toml, one fargate.toml per runner, and its user data.

Pure functions of plain values (no Pulumi Outputs), so tests can parse what they return. TOML
is written with tomli_w, never string templates, so quoting is always right. Runner tokens
never pass through here: config.toml holds placeholders that a boot-time unit replaces with
the tokens read from Secrets Manager.
"""

from __future__ import annotations

import base64
import gzip
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

import tomli_w

from components.config import StackConfig

RUNNER_HOME = "/opt/gitlab-runner"
DRIVER_PATH = f"{RUNNER_HOME}/fargate"
METADATA_DIR = f"{RUNNER_HOME}/metadata"
BUILDS_DIR = f"{RUNNER_HOME}/builds"
CACHE_DIR = f"{RUNNER_HOME}/cache"
RUNNER_BINARY = "/usr/local/bin/gitlab-runner"
RUNNER_WORKING_DIR = "/home/gitlab-runner"
CONFIG_DIR = "/etc/gitlab-runner"
CONFIG_PATH = f"{CONFIG_DIR}/config.toml"
CONFIG_TEMPLATE_PATH = f"{CONFIG_DIR}/config.toml.template"
TOKEN_SCRIPT_PATH = "/usr/local/sbin/gitlab-runner-tokens"
LOG_DIR = "/var/log/gitlab-runner"
RUNNER_LOG = f"{LOG_DIR}/gitlab-runner.log"
TOKENS_LOG = f"{LOG_DIR}/tokens.log"
CLOUDWATCH_AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/gitlab-runner-manager.json"
TOKENS_UNIT = "gitlab-runner-tokens.service"
RUNNER_UNIT = "gitlab-runner.service"
# A value no real token can equal; the boot-time unit swaps it for the runner's token.
TOKEN_PLACEHOLDER_PREFIX = "RUNNER-TOKEN-FROM-SECRETS-MANAGER:"
DRIVER_STAGES = ("config", "prepare", "run", "cleanup")
SSH_PORT = 22
# Starting a Fargate task (ENI attach + image pull) can take minutes for large images.
PREPARE_EXEC_TIMEOUT_SECONDS = 1200
# Cleanup is one StopTask call plus deleting a metadata file.
CLEANUP_EXEC_TIMEOUT_SECONDS = 300
# How long gitlab-runner waits after a second stop signal before exiting (FACTS section 2).
SHUTDOWN_TIMEOUT_SECONDS = 30
# EC2 rejects user data over 16 KiB; cloud-init unpacks gzip, which keeps large configs under it.
USER_DATA_LIMIT_BYTES = 16384
HEREDOC_END = "__GITLAB_RUNNER_MANAGER_EOF__"


def runner_download_url(version: str) -> str:
    return (
        f"https://gitlab-runner-downloads.s3.amazonaws.com/v{version}/binaries/"
        "gitlab-runner-linux-amd64"
    )


def driver_download_url(version: str) -> str:
    return f"https://gitlab-runner-custom-fargate-downloads.s3.amazonaws.com/{version}/fargate-linux-amd64"


def fargate_config_path(runner_name: str) -> str:
    """Each runner has its own driver config: one file holds only one cluster and subnet."""
    return f"{CONFIG_DIR}/fargate-{runner_name}.toml"


def metadata_dir(runner_name: str) -> str:
    return f"{METADATA_DIR}/{runner_name}"


def token_placeholder(runner_name: str) -> str:
    return f"{TOKEN_PLACEHOLDER_PREFIX}{runner_name}"


@dataclass(frozen=True)
class FargateDriverSettings:
    """One runner's view of ECS: the driver config holds a single cluster, subnet and SG."""

    runner_name: str
    cluster: str
    region: str
    subnet: str
    security_group: str
    task_definition: str  # family (latest ACTIVE revision) or family:revision
    enable_public_ip: bool
    platform_version: str
    ssh_username: str


def render_fargate_toml(settings: FargateDriverSettings) -> str:
    """fargate.toml with only the keys the driver reads (FACTS section 1).

    With public task IPs, `UsePublicIP = false` keeps SSH on the task's private IP: the task
    security group admits the manager's security group, which only matches private traffic
    (SSH to a public IP would arrive from the NAT gateway's address instead). The public IP
    then only serves the job's own outbound traffic."""
    fargate: dict[str, object] = {
        "Cluster": settings.cluster,
        "Region": settings.region,
        "Subnet": settings.subnet,
        "SecurityGroup": settings.security_group,
        "TaskDefinition": settings.task_definition,
        "EnablePublicIP": settings.enable_public_ip,
        "PlatformVersion": settings.platform_version,
    }
    if settings.enable_public_ip:
        fargate["UsePublicIP"] = False
    return tomli_w.dumps(
        {
            "LogLevel": "info",
            "LogFormat": "text",
            "Fargate": fargate,
            "TaskMetadata": {"Directory": metadata_dir(settings.runner_name)},
            "SSH": {"Username": settings.ssh_username, "Port": SSH_PORT},
        }
    )


def driver_args(runner_name: str, stage: str) -> list[str]:
    return ["--config", fargate_config_path(runner_name), "custom", stage]


def render_config_toml(config: StackConfig) -> str:
    """config.toml for every runner, with token placeholders instead of tokens."""
    runners = []
    for runner in config.runners:
        custom: dict[str, object] = {}
        for stage in DRIVER_STAGES:
            custom[f"{stage}_exec"] = DRIVER_PATH
            custom[f"{stage}_args"] = driver_args(runner.name, stage)
        custom["prepare_exec_timeout"] = PREPARE_EXEC_TIMEOUT_SECONDS
        custom["run_exec_timeout"] = config.ecs.job_timeout_seconds
        custom["cleanup_exec_timeout"] = CLEANUP_EXEC_TIMEOUT_SECONDS
        runners.append(
            {
                "name": runner.name,
                "url": config.gitlab_url,
                "token": token_placeholder(runner.name),
                "executor": "custom",
                "limit": runner.concurrency,
                "request_concurrency": runner.request_concurrency,
                "builds_dir": BUILDS_DIR,
                "cache_dir": CACHE_DIR,
                "custom": custom,
            }
        )
    return tomli_w.dumps(
        {
            "concurrent": max(1, config.total_concurrency),
            "check_interval": config.ecs.check_interval,
            "log_level": "info",
            "log_format": "text",
            "shutdown_timeout": SHUTDOWN_TIMEOUT_SECONDS,
            "runners": runners,
        }
    )


# Runs on the manager (AL2023's system Python 3.9): keep it to the standard library and 3.9.
TOKEN_SCRIPT = '''#!/usr/bin/python3
"""Write the runner tokens from AWS Secrets Manager into the GitLab Runner config.

Runs before gitlab-runner.service on every boot, so a replaced or rebooted manager comes back
as the same runners, and rotating a token only needs a reboot. Never prints a token.
usage: gitlab-runner-tokens REGION SECRET_ID TEMPLATE CONFIG PLACEHOLDER_PREFIX
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ATTEMPTS = 30
PAUSE_SECONDS = 10


def read_tokens(region, secret_id):
    command = [
        "aws", "secretsmanager", "get-secret-value", "--region", region,
        "--secret-id", secret_id, "--query", "SecretString", "--output", "json",
    ]
    env = dict(os.environ, AWS_PAGER="")
    for attempt in range(1, ATTEMPTS + 1):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode == 0:
            tokens = json.loads(json.loads(result.stdout))
            if not isinstance(tokens, dict) or not all(
                isinstance(v, str) for v in tokens.values()
            ):
                sys.exit("secret %s is not a JSON object of runner name -> token" % secret_id)
            return tokens
        print(
            "get-secret-value failed (attempt %d/%d): %s"
            % (attempt, ATTEMPTS, result.stderr.strip()),
            file=sys.stderr,
            flush=True,
        )
        time.sleep(PAUSE_SECONDS)
    sys.exit("could not read the runner tokens from %s" % secret_id)


def main():
    region, secret_id, template_path, config_path, prefix = sys.argv[1:6]
    tokens = read_tokens(region, secret_id)
    with open(template_path) as handle:
        text = handle.read()
    for name, token in tokens.items():
        # Both sides are TOML basic strings; JSON string escapes are valid TOML escapes.
        text = text.replace(json.dumps(prefix + name), json.dumps(token))
    missing = [
        line.split(prefix, 1)[1].split(\'"\', 1)[0] for line in text.splitlines() if prefix in line
    ]
    if missing:
        sys.exit("the secret has no token for runner(s): " + ", ".join(missing))
    descriptor, temporary = tempfile.mkstemp(
        dir=os.path.dirname(config_path), prefix=".config.toml."
    )
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, config_path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    print("wrote the tokens of %d runner(s) into %s" % (len(tokens), config_path), flush=True)


if __name__ == "__main__":
    main()
'''


@dataclass(frozen=True)
class ManagerBootSettings:
    """Everything the manager's first boot needs; no secrets."""

    runner_version: str
    driver_version: str
    region: str
    secret_arn: str
    log_group_name: str
    config_toml: str
    fargate_tomls: Mapping[str, str]  # runner name -> fargate.toml
    stop_timeout_seconds: int  # how long a stop waits for running jobs to finish


def render_tokens_unit(region: str, secret_arn: str) -> str:
    args = " ".join(
        shlex.quote(a)
        for a in (region, secret_arn, CONFIG_TEMPLATE_PATH, CONFIG_PATH, TOKEN_PLACEHOLDER_PREFIX)
    )
    return f"""[Unit]
Description=Write the GitLab runner tokens from AWS Secrets Manager into config.toml
Wants=network-online.target
After=network-online.target
Before={RUNNER_UNIT}

[Service]
Type=oneshot
RemainAfterExit=yes
UMask=0077
StandardOutput=append:{TOKENS_LOG}
ExecStart=/usr/bin/python3 {TOKEN_SCRIPT_PATH} {args}

[Install]
WantedBy=multi-user.target
"""


def render_runner_unit(stop_timeout_seconds: int) -> str:
    command = (
        f"{RUNNER_BINARY} run --working-directory {RUNNER_WORKING_DIR} --config {CONFIG_PATH} "
        "--service gitlab-runner"
    )
    return f"""[Unit]
Description=GitLab Runner (custom executor, AWS Fargate driver)
Documentation=https://docs.gitlab.com/runner/
Wants=network-online.target
Requires={TOKENS_UNIT}
After=network-online.target {TOKENS_UNIT}
ConditionFileIsExecutable={RUNNER_BINARY}

[Service]
ExecStart={command}
Restart=always
RestartSec=10
# SIGQUIT makes gitlab-runner stop asking for jobs and wait for the running ones.
KillSignal=SIGQUIT
TimeoutStopSec={stop_timeout_seconds}
StandardOutput=append:{RUNNER_LOG}

[Install]
WantedBy=multi-user.target
"""


def render_cloudwatch_agent_config(log_group_name: str) -> str:
    """Ship the runner log, the token unit's log and cloud-init's output to the manager group."""
    streams = (
        (RUNNER_LOG, "gitlab-runner"),
        (TOKENS_LOG, "tokens"),
        ("/var/log/cloud-init-output.log", "cloud-init"),
    )
    return json.dumps(
        {
            "agent": {"run_as_user": "root"},
            "logs": {
                "logs_collected": {
                    "files": {
                        "collect_list": [
                            {
                                "file_path": path,
                                "log_group_name": log_group_name,
                                "log_stream_name": f"{{instance_id}}/{stream}",
                                "timezone": "UTC",
                            }
                            for path, stream in streams
                        ]
                    }
                }
            },
        },
        indent=2,
    )


LOGROTATE_CONFIG = f"""{LOG_DIR}/*.log {{
    daily
    rotate 7
    compress
    missingok
    notifempty
    copytruncate
}}
"""


def _write_file(path: str, content: str, mode: str) -> str:
    if HEREDOC_END in content:
        raise ValueError(f"{path}: content contains the heredoc delimiter {HEREDOC_END}")
    body = content if content.endswith("\n") else content + "\n"
    quoted = shlex.quote(path)
    return f"cat > {quoted} <<'{HEREDOC_END}'\n{body}{HEREDOC_END}\nchmod {mode} {quoted}\n"


def render_user_data(settings: ManagerBootSettings) -> str:
    """The manager's cloud-init shell script. Idempotent; holds no token."""
    directories = [
        RUNNER_HOME,
        METADATA_DIR,
        BUILDS_DIR,
        CACHE_DIR,
        CONFIG_DIR,
        RUNNER_WORKING_DIR,
        LOG_DIR,
        *(metadata_dir(name) for name in settings.fargate_tomls),
    ]
    files = [
        _write_file(CONFIG_TEMPLATE_PATH, settings.config_toml, "0600"),
        *(
            _write_file(fargate_config_path(name), content, "0644")
            for name, content in settings.fargate_tomls.items()
        ),
        _write_file(TOKEN_SCRIPT_PATH, TOKEN_SCRIPT, "0750"),
        _write_file(
            f"/etc/systemd/system/{TOKENS_UNIT}",
            render_tokens_unit(settings.region, settings.secret_arn),
            "0644",
        ),
        _write_file(
            f"/etc/systemd/system/{RUNNER_UNIT}",
            render_runner_unit(settings.stop_timeout_seconds),
            "0644",
        ),
        _write_file(
            CLOUDWATCH_AGENT_CONFIG,
            render_cloudwatch_agent_config(settings.log_group_name),
            "0644",
        ),
        _write_file("/etc/logrotate.d/gitlab-runner", LOGROTATE_CONFIG, "0644"),
    ]
    return "\n".join(
        [
            "#!/bin/bash",
            "# GitLab Runner manager for the AWS Fargate driver (cloud-init, first boot).",
            "# Tokens are not in here: gitlab-runner-tokens.service reads them on every boot.",
            "set -euo pipefail",
            "umask 022",
            "",
            "retry() {",
            '  local attempt; for attempt in 1 2 3 4 5; do "$@" && return 0; sleep 10; done',
            '  echo "failed after 5 attempts: $*" >&2; return 1',
            "}",
            "download() {",
            '  retry curl --fail --silent --show-error --location -o "$2.download" "$1"',
            '  install -m 0755 "$2.download" "$2" && rm -f "$2.download"',
            "}",
            "",
            "retry dnf install -y amazon-cloudwatch-agent logrotate",
            "install -d -m 0755 " + " ".join(shlex.quote(d) for d in directories),
            f"download {shlex.quote(runner_download_url(settings.runner_version))} {RUNNER_BINARY}",
            f"download {shlex.quote(driver_download_url(settings.driver_version))} {DRIVER_PATH}",
            "",
            *files,
            "systemctl daemon-reload",
            f"systemctl enable {TOKENS_UNIT} {RUNNER_UNIT}",
            # Both in one transaction: a re-run re-reads the tokens into the new template.
            f"systemctl restart {TOKENS_UNIT} {RUNNER_UNIT}",
            "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config "
            f"-m ec2 -s -c file:{CLOUDWATCH_AGENT_CONFIG}",
            "",
        ]
    )


def encode_user_data(script: str) -> str:
    """gzip + base64 for the launch template; cloud-init recognises and unpacks gzip."""
    packed = gzip.compress(script.encode(), mtime=0)
    if len(packed) > USER_DATA_LIMIT_BYTES:
        raise ValueError(
            f"manager user data is {len(packed)} bytes compressed; EC2 allows "
            f"{USER_DATA_LIMIT_BYTES}. Use fewer runners on one stack."
        )
    return base64.b64encode(packed).decode()


def decode_user_data(encoded: str) -> str:
    """The inverse of encode_user_data, for tests and for reading a launch template."""
    return gzip.decompress(base64.b64decode(encoded)).decode()
