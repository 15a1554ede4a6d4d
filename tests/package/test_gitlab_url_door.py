"""`gitlabUrl` through both doors: the stack file's key and the fleets' `gitlab_url` give one
message (components/domain/url_rules.py), before anything registers, and never echo a
password. A bad port used to reach the security group rules as a traceback, a password the
managers' config.toml."""

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
