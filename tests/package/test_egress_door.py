"""gitlabUrl, the CA bundle and the proxy through both doors: the stack file's keys and the
fleets' fields give one message each (components/domain/url_rules.py, trust_rules.py), before
anything registers, and never echo a password or the PEM text. A bad port used to reach the
security group rules as a traceback, a password the managers' config.toml."""

from __future__ import annotations

import pytest

from components.config import ConfigError, parse_config
from components.domain.fleet_rules import ecs_fleet_problems, eks_fleet_problems
from components.domain.specs import EcsFleetSpec, EksFleetSpec, RunnerSpec
from tests.harness import dev_config

BAD_URLS = [
    "https://deploy:hunter2@gitlab.example.com",  # a password in plain text
    "https://gitlab.example.com:99999",  # no such port
    "http://gitlab.example.com",  # tokens over plain HTTP
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_gitlab_url_gets_the_stack_files_message_from_both_fleets(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(dev_config(gitlabUrl=url))
    (stack,) = [p for p in refused.value.problems if p.startswith("gitlabUrl:")]
    runners = (RunnerSpec("fargate"),)
    assert ecs_fleet_problems(EcsFleetSpec(url, runners)) == [stack]
    assert eks_fleet_problems(EksFleetSpec(url, runners)) == [stack]
    assert "hunter2" not in stack


def test_a_good_gitlab_url_passes_both_fleets() -> None:
    runners = (RunnerSpec("fargate"),)
    url = "https://gitlab.example.com:8443/gitlab"
    assert ecs_fleet_problems(EcsFleetSpec(url, runners)) == []
    assert eks_fleet_problems(EksFleetSpec(url, runners)) == []


PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"


def test_a_private_key_in_the_ca_bundle_gets_the_stack_files_message() -> None:
    raw = dev_config()
    raw["gitlab"] = {**raw.get("gitlab", {}), "caBundle": PRIVATE_KEY}
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    (stack,) = [p for p in refused.value.problems if p.startswith("gitlab.caBundle:")]
    fleet = EcsFleetSpec("https://gitlab.com", (RunnerSpec("fargate"),), ca_bundle=PRIVATE_KEY)
    assert ecs_fleet_problems(fleet) == [stack]
    assert "MIIB" not in stack


def test_a_proxy_password_gets_the_stack_files_message() -> None:
    url = "http://ops:hunter2@proxy.example.com:3128"
    raw = dev_config()
    raw["network"] = {**raw.get("network", {}), "httpProxy": url}
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    (stack,) = [p for p in refused.value.problems if p.startswith("network.httpProxy:")]
    proxy = (("HTTP_PROXY", url), ("HTTPS_PROXY", url), ("http_proxy", url))
    fleet = EksFleetSpec("https://gitlab.com", (RunnerSpec("fargate"),), proxy_environment=proxy)
    assert eks_fleet_problems(fleet) == [stack]
    assert "hunter2" not in stack
