"""A runner manager behind a company proxy, serving a GitLab with a private CA: the files
and lines the boot script adds for `network.httpProxy` and `gitlab.caBundle`. Pure functions.

Who needs what on a manager, and how each gets it:
- gitlab-runner: `tls-ca-file` per [[runners]] (config.toml, written by manager_files.py) and
  the proxy from its unit's environment.
- the Fargate driver: the custom executor starts it with gitlab-runner's own environment
  (gitlab-runner v18.9.0 executors/custom/command/command.go:64, `env := os.Environ()`), so
  the runner unit's proxy reaches its ECS and EC2 calls.
- the token and drain scripts: their units' environment (Python's urllib and the AWS CLI read
  the proxy variables; 169.254.169.254 is bypassed).
- the CloudWatch agent: its common-config.toml `[proxy]` (amazon-cloudwatch-agent
  cfg/commonconfig/common-config.toml; it reads the environment only without that file's
  section, and fetch-config runs outside our units).
- dnf, the verified downloads and every TLS client on the host: the CA in the system trust
  store (AL2023 `update-ca-trust`), and the proxy exported in the boot script itself.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import tomli_w

from components.ecs.manager_files import CONFIG_DIR

PROXY_ENV_PATH = f"{CONFIG_DIR}/proxy.env"
AGENT_COMMON_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/common-config.toml"
# AL2023 (ca-certificates): anchors under CA_FILE_PATH's directory join the system bundle.
UPDATE_TRUST_COMMAND = "update-ca-trust extract"

Environment = Sequence[tuple[str, str]]


def render_proxy_env(environment: Environment) -> str:
    """A systemd EnvironmentFile: one NAME=value a line (values hold no quotes or spaces)."""
    return "".join(f"{name}={value}\n" for name, value in environment)


def render_agent_common_config(environment: Environment) -> str:
    """The CloudWatch agent's common-config.toml with only its [proxy] section."""
    values = dict(environment)
    return tomli_w.dumps(
        {
            "proxy": {
                "http_proxy": values["HTTP_PROXY"],
                "https_proxy": values["HTTPS_PROXY"],
                "no_proxy": values["NO_PROXY"],
            }
        }
    )


def proxy_exports(environment: Environment) -> list[str]:
    """The boot script's own proxy: dnf, the downloads and the agent's setup run in it."""
    return [f"export {name}={shlex.quote(value)}" for name, value in environment]


def environment_file_line(environment: Environment) -> str:
    """The unit line that loads the proxy file, or nothing without a proxy."""
    return f"EnvironmentFile={PROXY_ENV_PATH}\n" if environment else ""
