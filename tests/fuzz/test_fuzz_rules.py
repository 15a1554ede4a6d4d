"""Generative checks of the round-4 rules at config time (fast: parse_config only, no plan).

Runner tags as GitLab reads them, EKS pod sizes per lane, ECS placement against small VPCs,
check intervals against the not-polling window and alarm topics in any region: every drawn
config is either refused with problems that each name a key, or accepted; an accepted ECS
network really holds the jobs the rendered shards place in each subnet, and a refusal's
suggested availabilityZones / maxJobsPerManager really plan.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import ConfigError, parse_config, schema
from components.config.service_rules import gitlab_tags
from components.domain.subnets import jobs_per_subnet
from components.ecs.sizing import plan_shards, shard_subnet
from tests.fuzz.test_fuzz_stack import PROFILE
from tests.harness import GITLAB_TOKEN_SENTINEL

TAG_TEXT = st.one_of(
    st.sampled_from(["", " ", "  ", ",", "a,b", " a ", "docker", "linux, arm64", "'q'"]),
    st.text(st.sampled_from("ab ,-"), max_size=6),
)
CIDRS = ["10.0.0.0/16", "10.0.0.0/18", "10.0.0.0/19", "10.0.0.0/20"]


def outcome(raw: dict[str, Any], region: str = "eu-west-1") -> tuple[Any, list[str]]:
    """(config or None, problems); every problem must name a key the schema knows."""
    try:
        config, _ = parse_config(raw, region=region)
    except ConfigError as error:
        for problem in error.problems:
            head = problem.split(": ", 1)[0]
            assert any(head.startswith(k) for k in schema.TOP.names), problem
        return None, error.problems
    return config, []


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(st.sampled_from(["ecs", "eks"]))
    lanes = ["fargate", "spot"] + (["privileged"] if mode == "eks" else [])
    runners = []
    for i in range(draw(st.integers(1, 3))):
        runner: dict[str, Any] = {
            "name": f"r{i}",
            "concurrency": draw(st.sampled_from([1, 7, 50, 200, 400, 700, 2000])),
            "lane": draw(st.sampled_from(lanes)),
        }
        if draw(st.booleans()):
            runner["tags"] = draw(st.lists(TAG_TEXT, max_size=4))
        if draw(st.integers(0, 9)) == 0:
            runner["tags"] = [f"t{j}" for j in range(draw(st.sampled_from([50, 51])))]
        if mode == "eks":
            runner["cpu"] = draw(st.sampled_from([256, 1024, 3072, 4096, 16384, 65536]))
            runner["memory"] = draw(st.sampled_from([512, 2048, 6000, 8192, 114688, 300000]))
        runners.append(runner)
    raw: dict[str, Any] = {
        "mode": mode,
        "runners": runners,
        "gitlab": {
            "createRunners": True,
            "runnerType": "group",
            "groupId": 7,
            "runUntagged": draw(st.booleans()),
        },
        "gitlabToken": GITLAB_TOKEN_SENTINEL,
        "network": {
            "vpcCidr": draw(st.sampled_from(CIDRS)),
            "availabilityZones": draw(st.integers(2, 3)),
        },
        "ecs": {"maxJobsPerManager": draw(st.sampled_from([1, 5, 50, 150, 200, 250]))},
        "eks": {
            "spotCpuLimit": draw(st.sampled_from([1, 8, 64])),
            "instanceCategories": draw(st.sampled_from([["c"], ["c", "m", "r"], ["x"]])),
        },
        "alerts": {
            "snsTopicArn": f"arn:aws:sns:{draw(st.sampled_from(['eu-west-1', 'us-east-1']))}"
            ":123456789012:alerts"
        },
    }
    raw[mode]["checkInterval"] = draw(st.sampled_from([1, 3, 60, 301, 3600]))
    return raw


def _placed(config: Any, subnets: int) -> list[int]:
    """Jobs per subnet as the rendered fargate.toml files place them (ecs/sizing.py)."""
    names = [str(i) for i in range(subnets)]
    load = [0] * subnets
    for shard in plan_shards(config.runners, config.ecs.max_jobs_per_manager):
        for share in shard.runners:
            load[int(shard_subnet(names, share.index, shard.index))] += share.limit
    return load


@settings(PROFILE, max_examples=150)
@given(configs())
def test_round_four_rules_refuse_by_key_or_accept_soundly(raw: dict[str, Any]) -> None:
    config, problems = outcome(raw)
    if config is None:
        placement = [p for p in problems if "land in one private subnet" in p]
        for problem in placement:  # each fix the refusal names plans on its own
            for key, value in re.findall(r"(availabilityZones|maxJobsPerManager): (\d+)", problem):
                fixed = {**raw, "network": dict(raw["network"]), "ecs": dict(raw["ecs"])}
                section = "network" if key == "availabilityZones" else "ecs"
                fixed[section][key] = int(value)
                _, again = outcome(fixed)
                assert not any("land in one private subnet" in p for p in again), (key, again)
        return
    for runner in config.runners:
        kept = gitlab_tags(runner.tags)
        assert len(kept) <= 50 and all("," not in t and t.strip() for t in runner.tags)
        assert kept or config.gitlab.run_untagged
    assert config.alerts.sns_topic_arn is None or ":eu-west-1:" in config.alerts.sns_topic_arn
    interval = (config.eks if config.mode == "eks" else config.ecs).check_interval
    assert config.alerts.not_polling_minutes * 60 > interval
    if config.mode == "ecs" and config.network.layout is not None:
        fits = jobs_per_subnet(config.network.layout.private[0])
        assert max(_placed(config, len(config.network.layout.private))) <= fits
