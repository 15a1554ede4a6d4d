"""The manager's boot: systemd units, CloudWatch agent config and the cloud-init script that
installs gitlab-runner, the Fargate driver and the runner files. Pure functions of plain values.
"""

from __future__ import annotations

import base64
import gzip
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from components.ecs.egress import (
    AGENT_COMMON_CONFIG,
    PROXY_ENV_PATH,
    UPDATE_TRUST_COMMAND,
    Environment,
    environment_file_line,
    proxy_exports,
    render_agent_common_config,
    render_proxy_env,
)
from components.ecs.manager_files import (
    AGENT_UNIT,
    BUILDS_DIR,
    CA_FILE_PATH,
    CACHE_DIR,
    CLOUDWATCH_AGENT_CONFIG,
    CONFIG_DIR,
    CONFIG_PATH,
    CONFIG_TEMPLATE_PATH,
    DRAIN_LOG,
    DRAIN_SCRIPT_PATH,
    DRAIN_UNIT,
    DRIVER_PATH,
    FETCH_SCRIPT_PATH,
    LOG_DIR,
    METADATA_DIR,
    RUNNER_BINARY,
    RUNNER_HOME,
    RUNNER_LOG,
    RUNNER_UNIT,
    RUNNER_WORKING_DIR,
    TOKEN_PLACEHOLDER_PREFIX,
    TOKEN_SCRIPT_PATH,
    TOKENS_LOG,
    TOKENS_UNIT,
    driver_download_url,
    driver_sums_url,
    fargate_config_path,
    metadata_dir,
    runner_download_url,
    runner_sums_url,
)
from components.observability.scrape import ecs_agent_prometheus, render_ecs_scrape_config

# EC2 rejects user data over 16 KiB; cloud-init unpacks gzip, which keeps large configs under it.
USER_DATA_LIMIT_BYTES = 16384
HEREDOC_END = "__GITLAB_RUNNER_MANAGER_EOF__"
# Entry of gitlab-runner's release.sha256 (and the driver's, where one is published).
RUNNER_SUMS_ENTRY = "binaries/gitlab-runner-linux-amd64"
DRIVER_SUMS_ENTRY = "fargate-linux-amd64"
# The Prometheus scrape file the CloudWatch agent reads (observability.enabled).
PROMETHEUS_SCRAPE_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/gitlab-runner-prometheus.yaml"
# A failed token read is retried by systemd after this, for ever (StartLimitIntervalSec=0).
TOKENS_RESTART_SECONDS = 30


def _script(name: str) -> str:
    """Installed as it is; runs on AL2023's system Python 3.9 (standard library only)."""
    return resources.files("components.ecs.scripts").joinpath(name).read_text()


TOKEN_SCRIPT = _script("gitlab_runner_tokens.py")
FETCH_SCRIPT = _script("fetch_verified.py")
DRAIN_SCRIPT = _script("gitlab_runner_drain.py")


@dataclass(frozen=True)
class ManagerMetrics:
    """Where the agent sends gitlab-runner's metrics (components/observability)."""

    namespace: str
    log_group_name: str  # EMF events; CloudWatch extracts the metrics from them
    cluster_name: str  # named so the agent does not look for an ECS/EKS cluster itself


@dataclass(frozen=True)
class ManagerBootSettings:
    """Everything the manager's first boot needs; no secrets."""

    runner_version: str
    runner_sha256: str | None
    driver_version: str
    driver_sha256: str | None
    region: str
    secret_arn: str
    log_group_name: str
    config_toml: str
    fargate_tomls: Mapping[str, str]  # runner name -> fargate.toml
    stop_timeout_seconds: int  # how long a stop waits for running jobs to finish
    lifecycle_hook_name: str  # the termination hook the drain service completes
    heartbeat_seconds: int  # the hook's heartbeat timeout: a long drain records heartbeats
    metrics: ManagerMetrics | None = None  # None: observability.enabled is false
    ca_bundle: str | None = None  # gitlab.caBundle: PEM certificates to trust
    proxy_environment: Environment = ()  # network.httpProxy: the proxy variables


def render_tokens_unit(region: str, secret_arn: str, proxy: Environment = ()) -> str:
    args = " ".join(
        shlex.quote(a)
        for a in (region, secret_arn, CONFIG_TEMPLATE_PATH, CONFIG_PATH, TOKEN_PLACEHOLDER_PREFIX)
    )
    # Restart=on-failure: Secrets Manager being unreachable for a while must not leave the
    # manager without a runner. ExecStartPost starts gitlab-runner if it is not running (a
    # no-op when it is: a token rewrite never restarts, and so never drains, the runner;
    # gitlab-runner reloads config.toml by itself).
    return f"""[Unit]
Description=Write the GitLab runner tokens from AWS Secrets Manager into config.toml
Wants=network-online.target
After=network-online.target
Before={RUNNER_UNIT}
StartLimitIntervalSec=0

[Service]
Type=oneshot
RemainAfterExit=yes
Restart=on-failure
RestartSec={TOKENS_RESTART_SECONDS}
UMask=0077
StandardOutput=append:{TOKENS_LOG}
StandardError=append:{TOKENS_LOG}
{environment_file_line(proxy)}ExecStart=/usr/bin/python3 {TOKEN_SCRIPT_PATH} {args}
ExecStartPost=/usr/bin/systemctl start --no-block {RUNNER_UNIT}

[Install]
WantedBy=multi-user.target
"""


def render_runner_unit(stop_timeout_seconds: int, proxy: Environment = ()) -> str:
    command = (
        f"{RUNNER_BINARY} run --working-directory {RUNNER_WORKING_DIR} --config {CONFIG_PATH} "
        "--service gitlab-runner"
    )
    return f"""[Unit]
Description=GitLab Runner (custom executor, AWS Fargate driver)
Documentation=https://docs.gitlab.com/runner/
Wants=network-online.target {TOKENS_UNIT}
# Stopped before the CloudWatch agent at shutdown, so the agent still ships our log (and
# scrapes our metrics) while running jobs finish; ordering only, we start without it.
After=network-online.target {TOKENS_UNIT} {AGENT_UNIT}
ConditionFileIsExecutable={RUNNER_BINARY}
# Until the token unit first succeeds there is no config.toml; that unit then starts us.
ConditionPathExists={CONFIG_PATH}

[Service]
{environment_file_line(proxy)}ExecStart={command}
Restart=always
RestartSec=10
# SIGQUIT makes gitlab-runner stop asking for jobs and wait for the running ones.
KillSignal=SIGQUIT
# Only to gitlab-runner itself: the job's Fargate driver processes in this cgroup handle
# SIGINT/SIGTERM only and die of SIGQUIT, failing their jobs. What is left once gitlab-runner
# has exited, or when TimeoutStopSec runs out, gets SIGKILL.
KillMode=mixed
TimeoutStopSec={stop_timeout_seconds}
StandardOutput=append:{RUNNER_LOG}

[Install]
WantedBy=multi-user.target
"""


def render_drain_unit(
    region: str, hook_name: str, heartbeat_seconds: int, proxy: Environment = ()
) -> str:
    args = " ".join(
        shlex.quote(a) for a in (region, hook_name, RUNNER_UNIT, str(heartbeat_seconds))
    )
    return f"""[Unit]
Description=Drain gitlab-runner when the Auto Scaling group terminates this manager
Wants=network-online.target
# Stopped before the CloudWatch agent: its log reaches CloudWatch to the last line.
After=network-online.target {AGENT_UNIT}

[Service]
{environment_file_line(proxy)}ExecStart=/usr/bin/python3 {DRAIN_SCRIPT_PATH} {args}
Restart=on-failure
RestartSec=10
StandardOutput=append:{DRAIN_LOG}
StandardError=append:{DRAIN_LOG}

[Install]
WantedBy=multi-user.target
"""


def render_cloudwatch_agent_config(
    log_group_name: str, metrics: ManagerMetrics | None = None
) -> str:
    """Ship the runner log, the token unit's log and cloud-init's output to the manager group;
    with `metrics`, scrape gitlab-runner's Prometheus endpoint into the stack namespace."""
    streams = (
        (RUNNER_LOG, "gitlab-runner"),
        (TOKENS_LOG, "tokens"),
        (DRAIN_LOG, "drain"),
        ("/var/log/cloud-init-output.log", "cloud-init"),
    )
    logs: dict[str, object] = {}
    if metrics is not None:
        logs["metrics_collected"] = {
            "prometheus": ecs_agent_prometheus(
                metrics.namespace,
                metrics.log_group_name,
                metrics.cluster_name,
                PROMETHEUS_SCRAPE_CONFIG,
            )
        }
    return json.dumps(
        {
            "agent": {"run_as_user": "root"},
            "logs": {
                **logs,
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
                },
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


def _fetch_command(url: str, dest: str, pinned: str | None, sums_url: str, entry: str) -> str:
    """Download, log the SHA-256, refuse a mismatch with the pin or the published list."""
    args = ["--url", url, "--dest", dest]
    if pinned:
        args += ["--sha256", pinned]
    else:
        args += ["--sums-url", sums_url, "--sums-entry", entry]
    return f"/usr/bin/python3 {FETCH_SCRIPT_PATH} " + " ".join(shlex.quote(a) for a in args)


def render_user_data(settings: ManagerBootSettings) -> str:
    """The manager's cloud-init shell script. Idempotent; holds no token.

    Logging comes first, so a failed download or token read is in CloudWatch; then the
    verified binaries, the runner files and the units."""
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
    logging_files = [
        _write_file(
            CLOUDWATCH_AGENT_CONFIG,
            render_cloudwatch_agent_config(settings.log_group_name, settings.metrics),
            "0644",
        ),
        _write_file("/etc/logrotate.d/gitlab-runner", LOGROTATE_CONFIG, "0644"),
    ]
    if settings.metrics is not None:
        logging_files.append(
            _write_file(PROMETHEUS_SCRAPE_CONFIG, render_ecs_scrape_config(), "0644")
        )
    proxy = settings.proxy_environment
    trust: list[str] = [*proxy_exports(proxy)]
    if proxy:
        logging_files.append(
            _write_file(AGENT_COMMON_CONFIG, render_agent_common_config(proxy), "0644")
        )
    if settings.ca_bundle:
        trust += [_write_file(CA_FILE_PATH, settings.ca_bundle, "0644"), UPDATE_TRUST_COMMAND]
    files = [
        *([_write_file(PROXY_ENV_PATH, render_proxy_env(proxy), "0644")] if proxy else []),
        _write_file(CONFIG_TEMPLATE_PATH, settings.config_toml, "0600"),
        *(
            _write_file(fargate_config_path(name), content, "0644")
            for name, content in settings.fargate_tomls.items()
        ),
        _write_file(TOKEN_SCRIPT_PATH, TOKEN_SCRIPT, "0750"),
        _write_file(DRAIN_SCRIPT_PATH, DRAIN_SCRIPT, "0750"),
        _write_file(
            f"/etc/systemd/system/{TOKENS_UNIT}",
            render_tokens_unit(settings.region, settings.secret_arn, proxy),
            "0644",
        ),
        _write_file(
            f"/etc/systemd/system/{RUNNER_UNIT}",
            render_runner_unit(settings.stop_timeout_seconds, proxy),
            "0644",
        ),
        _write_file(
            f"/etc/systemd/system/{DRAIN_UNIT}",
            render_drain_unit(
                settings.region, settings.lifecycle_hook_name, settings.heartbeat_seconds, proxy
            ),
            "0644",
        ),
    ]
    runner = _fetch_command(
        runner_download_url(settings.runner_version),
        RUNNER_BINARY,
        settings.runner_sha256,
        runner_sums_url(settings.runner_version),
        RUNNER_SUMS_ENTRY,
    )
    driver = _fetch_command(
        driver_download_url(settings.driver_version),
        DRIVER_PATH,
        settings.driver_sha256,
        driver_sums_url(settings.driver_version),
        DRIVER_SUMS_ENTRY,
    )
    if not settings.driver_sha256:
        driver += " --sums-optional"  # no published checksum is known: log the hash instead
    return "\n".join(
        [
            "#!/bin/bash",
            "# GitLab Runner manager for the AWS Fargate driver (cloud-init, first boot).",
            "# Tokens are not in here: gitlab-runner-tokens.service reads them on every boot.",
            "set -euo pipefail",
            "umask 022",
            # Before the first download: the company proxy and CA (network.httpProxy,
            # gitlab.caBundle; components/ecs/egress.py).
            *trust,
            "",
            "retry() {",
            '  local attempt; for attempt in 1 2 3 4 5; do "$@" && return 0; sleep 10; done',
            '  echo "failed after 5 attempts: $*" >&2; return 1',
            "}",
            "",
            "retry dnf install -y amazon-cloudwatch-agent logrotate",
            "install -d -m 0755 " + " ".join(shlex.quote(d) for d in directories),
            *logging_files,
            "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config "
            f"-m ec2 -s -c file:{CLOUDWATCH_AGENT_CONFIG}",
            "",
            _write_file(FETCH_SCRIPT_PATH, FETCH_SCRIPT, "0750"),
            runner,
            driver,
            "",
            *files,
            "systemctl daemon-reload",
            f"systemctl enable {TOKENS_UNIT} {RUNNER_UNIT} {DRAIN_UNIT}",
            f"systemctl start {DRAIN_UNIT}",
            # --no-block: a token unit still retrying must not fail the boot script; it starts
            # gitlab-runner itself once it has written config.toml.
            f"systemctl start --no-block {TOKENS_UNIT}",
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
