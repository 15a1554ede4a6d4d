"""The runner manager's runner files: config.toml and one fargate.toml per runner.

Pure functions of plain values (no Pulumi Outputs), so tests can parse what they return. TOML
is written with tomli_w, never string templates, so quoting is always right. Runner tokens
never pass through here: config.toml holds placeholders that a boot-time unit replaces with
the tokens read from Secrets Manager.
"""

from __future__ import annotations

from dataclasses import dataclass

import tomli_w

from components.domain.specs import EcsFleetSpec
from components.ecs.sizing import Shard
from components.observability.scrape import ECS_LISTEN_ADDRESS
from components.shared.cache import CacheSettings, cache_section

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
# gitlab.caBundle: in the system trust anchors (so every client on the host trusts it) and
# named by each runner's tls-ca-file.
CA_FILE_PATH = "/etc/pki/ca-trust/source/anchors/gitlab-ca.crt"
TOKEN_SCRIPT_PATH = "/usr/local/sbin/gitlab-runner-tokens"
DRAIN_SCRIPT_PATH = "/usr/local/sbin/gitlab-runner-drain"
FETCH_SCRIPT_PATH = "/usr/local/sbin/fetch-verified"
LOG_DIR = "/var/log/gitlab-runner"
RUNNER_LOG = f"{LOG_DIR}/gitlab-runner.log"
TOKENS_LOG = f"{LOG_DIR}/tokens.log"
DRAIN_LOG = f"{LOG_DIR}/drain.log"
CLOUDWATCH_AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/gitlab-runner-manager.json"
TOKENS_UNIT = "gitlab-runner-tokens.service"
# The amazon-cloudwatch-agent package's unit (After=network.target only).
AGENT_UNIT = "amazon-cloudwatch-agent.service"
RUNNER_UNIT = "gitlab-runner.service"
DRAIN_UNIT = "gitlab-runner-drain.service"
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


RUNNER_DOWNLOADS = "https://gitlab-runner-downloads.s3.amazonaws.com"
DRIVER_DOWNLOADS = "https://gitlab-runner-custom-fargate-downloads.s3.amazonaws.com"


def runner_download_url(version: str) -> str:
    return f"{RUNNER_DOWNLOADS}/v{version}/binaries/gitlab-runner-linux-amd64"


def runner_sums_url(version: str) -> str:
    """gitlab-runner publishes the SHA-256 of every release binary here."""
    return f"{RUNNER_DOWNLOADS}/v{version}/release.sha256"


def driver_download_url(version: str) -> str:
    return f"{DRIVER_DOWNLOADS}/{version}/fargate-linux-amd64"


def driver_sums_url(version: str) -> str:
    """Where a checksum list would sit if the driver's release job publishes one (its release
    index is made by the same generator as gitlab-runner's); not confirmed to exist."""
    return f"{DRIVER_DOWNLOADS}/{version}/release.sha256"


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
    platform_version: str
    ssh_username: str


def render_fargate_toml(settings: FargateDriverSettings) -> str:
    """fargate.toml with only the keys the driver reads (FACTS section 1).

    `EnablePublicIP = false`: with it the driver would also SSH to the task's public IP, which
    the task security group (SSH from the manager's group only) does not admit."""
    fargate: dict[str, object] = {
        "Cluster": settings.cluster,
        "Region": settings.region,
        "Subnet": settings.subnet,
        "SecurityGroup": settings.security_group,
        "TaskDefinition": settings.task_definition,
        "EnablePublicIP": False,
        "PlatformVersion": settings.platform_version,
    }
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


def render_config_toml(
    config: EcsFleetSpec, shard: Shard, cache: CacheSettings | None = None
) -> str:
    """One manager's config.toml: its share of every runner, token placeholders for tokens;
    with `cache`, every runner uses the stack's S3 cache bucket.

    There is no run-stage timeout key in gitlab-runner's custom executor: a job's length is
    bounded by GitLab (job timeout, the runner's maximum timeout) and the task reaper.

    With gitlab.caBundle each runner gets `tls-ca-file` (gitlab-runner v18.9.0
    common/config.go:1184); gitlab-runner then hands the verified chain to every job as the
    file variable CI_SERVER_TLS_CA_FILE (common/build.go:1523-1533), and the job script sets
    git's http.<host>.sslCAInfo to it (shells/abstract.go:599-625), so git and the artifact
    and cache helpers in the task trust the CA without any change to the task. With
    network.httpProxy each runner's `environment` (common/config.go:1251) carries the proxy
    into every job's variables (common/config.go:2213-2226, common/build.go:1579-1583),
    which the job script exports in the task it runs over SSH."""
    environment = [f"{name}={value}" for name, value in config.proxy_environment]
    tls = {"tls-ca-file": CA_FILE_PATH} if config.ca_bundle else {}
    runners = []
    for share in shard.runners:
        runner = share.runner
        custom: dict[str, object] = {}
        for stage in DRIVER_STAGES:
            custom[f"{stage}_exec"] = DRIVER_PATH
            custom[f"{stage}_args"] = driver_args(runner.name, stage)
        custom["prepare_exec_timeout"] = PREPARE_EXEC_TIMEOUT_SECONDS
        custom["cleanup_exec_timeout"] = CLEANUP_EXEC_TIMEOUT_SECONDS
        runners.append(
            {
                "name": runner.name,
                "url": config.gitlab_url,
                **tls,
                "token": token_placeholder(runner.name),
                "executor": "custom",
                "limit": share.limit,
                "request_concurrency": runner.request_concurrency_in("ecs"),
                "builds_dir": BUILDS_DIR,
                "cache_dir": CACHE_DIR,
                **({"environment": environment} if environment else {}),
                "custom": custom,
                **({"cache": cache_section(cache)} if cache else {}),
            }
        )
    metrics = {"listen_address": ECS_LISTEN_ADDRESS} if config.observability.enabled else {}
    return tomli_w.dumps(
        {
            "concurrent": max(1, shard.jobs),
            "check_interval": config.ecs.check_interval,
            "log_level": "info",
            "log_format": "text",
            "shutdown_timeout": SHUTDOWN_TIMEOUT_SECONDS,
            # Prometheus metrics for the CloudWatch agent on this host only (scrape.py).
            **metrics,
            "runners": runners,
        }
    )
