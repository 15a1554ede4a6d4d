"""ECS mode for a self-managed GitLab behind a private CA and a proxy (gitlab.caBundle,
network.httpProxy): the rendered config.toml and boot script carry them to gitlab-runner, the
Fargate driver, the CloudWatch agent, the token and drain units, and the jobs.

Upstream, at the pinned versions:
- gitlab-runner v18.9.0 common/config.go:1184: `tls-ca-file` of a [[runners]] entry;
  common/config.go:1251 and 2213-2226: the runner's `environment` becomes job variables.
- common/build.go:1523-1533 and 1579-1583: the chain gitlab-runner verified GitLab with goes
  to every job as the file variable CI_SERVER_TLS_CA_FILE; shells/abstract.go:599-625: the
  job script points git's http.<host>.sslCAInfo at it. The custom executor runs that script
  in the task over SSH, so the task image needs no change.
- executors/custom/command/command.go:64: the driver is started with gitlab-runner's own
  environment (os.Environ()), so the runner unit's proxy reaches the driver's AWS calls.
- amazon-cloudwatch-agent cfg/commonconfig/common-config.toml: the agent's [proxy] section.
"""

from __future__ import annotations

import tomllib

from components.ecs.egress import AGENT_COMMON_CONFIG, PROXY_ENV_PATH
from components.ecs.manager_files import CA_FILE_PATH, CONFIG_PATH
from components.offline.mocks import Plan
from tests.harness import COMPANY_PROXY, EXAMPLE_CA_BUNDLE

USER_DATA = "/var/lib/cloud/instance/user-data.txt"
UNITS = ("gitlab-runner.service", "gitlab-runner-tokens.service", "gitlab-runner-drain.service")


def unit(script: str, name: str) -> str:
    start = script.index(f"/etc/systemd/system/{name}")
    return script[start : script.index("[Install]", start)]


def test_every_runner_trusts_the_ca_file_and_gives_its_jobs_the_proxy(
    ecs_company_plan: Plan,
) -> None:
    config = tomllib.loads(ecs_company_plan.rendered_files[CONFIG_PATH])
    for runner in config["runners"]:
        assert runner["tls-ca-file"] == CA_FILE_PATH
        environment = dict(item.split("=", 1) for item in runner["environment"])
        assert environment["HTTPS_PROXY"] == environment["https_proxy"] == COMPANY_PROXY
        assert "169.254.170.2" in environment["NO_PROXY"].split(",")  # the task's credentials


def test_the_example_stack_sets_neither(ecs_dev_plan: Plan) -> None:
    config = tomllib.loads(ecs_dev_plan.rendered_files[CONFIG_PATH])
    assert not any({"tls-ca-file", "environment"} & set(r) for r in config["runners"])
    script = ecs_dev_plan.rendered_files[USER_DATA]
    assert "PROXY" not in script and CA_FILE_PATH not in script


def test_the_boot_script_trusts_the_ca_and_uses_the_proxy_before_its_first_download(
    ecs_company_plan: Plan,
) -> None:
    script = ecs_company_plan.rendered_files[USER_DATA]
    first_download = script.index("retry dnf install")
    assert script.index(f"export HTTPS_PROXY={COMPANY_PROXY}") < first_download
    assert script.index(f"export https_proxy={COMPANY_PROXY}") < first_download
    ca_file = script.index(f"cat > {CA_FILE_PATH}")
    assert ca_file < script.index("update-ca-trust extract") < first_download
    assert EXAMPLE_CA_BUNDLE in script[ca_file:first_download]


def test_the_units_and_the_cloudwatch_agent_get_the_proxy(ecs_company_plan: Plan) -> None:
    script = ecs_company_plan.rendered_files[USER_DATA]
    for name in UNITS:
        assert f"EnvironmentFile={PROXY_ENV_PATH}" in unit(script, name), name
    env_file = script[script.index(f"cat > {PROXY_ENV_PATH}") :]
    assert f"HTTPS_PROXY={COMPANY_PROXY}\n" in env_file.split("chmod")[0]
    agent = script[script.index(f"cat > {AGENT_COMMON_CONFIG}") :].split("chmod")[0]
    proxy = tomllib.loads(agent.split("\n", 1)[1].rsplit("__GITLAB", 1)[0])["proxy"]
    assert proxy["https_proxy"] == COMPANY_PROXY
    assert script.index(AGENT_COMMON_CONFIG) < script.index("amazon-cloudwatch-agent-ctl")
