"""Issue 23 item 11: a public VPC block warns, a gitlab.com URL with a path warns, and
instance categories that leave an EC2 lane no family of its architecture are refused. The
rules and their sources are in components/config/leftovers.py and (instance categories)
components/domain/lane_rules.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from tests.harness import sentinel

TODAY = dt.date(2026, 12, 1)


def outcome(raw: dict[str, Any]) -> tuple[list[str], list[str]]:
    runners = raw.get("runners", [{"name": "fargate"}])
    tokens = {"runnerTokens": {r["name"]: sentinel(r["name"]) for r in runners}}
    try:
        _, warnings = parse_config({**tokens, **raw}, today=TODAY)
    except ConfigError as error:
        return error.problems, []
    return [], warnings


@pytest.mark.parametrize("cidr", ["8.8.0.0/16", "100.64.0.0/16", "172.32.0.0/16"])
def test_a_public_vpc_block_warns(cidr: str) -> None:
    problems, warnings = outcome({"network": {"vpcCidr": cidr}})
    assert not problems
    assert [w for w in warnings if w.startswith("network.vpcCidr")] == [
        f"network.vpcCidr: {cidr} is not a private (RFC 1918) block; AWS accepts it, but "
        "traffic to those addresses stays inside the VPC, so jobs cannot reach the hosts on "
        "the internet that own them (AWS VPC User Guide, 'VPC CIDR blocks' recommends the RFC "
        "1918 ranges); use a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16: pulumi "
        "config set --path network.vpcCidr 10.42.0.0/16"
    ]


@pytest.mark.parametrize("cidr", ["10.42.0.0/16", "172.31.0.0/16", "192.168.0.0/16"])
def test_a_private_vpc_block_does_not_warn(cidr: str) -> None:
    problems, warnings = outcome({"network": {"vpcCidr": cidr}})
    assert not problems and not any("vpcCidr" in w for w in warnings)


@pytest.mark.parametrize(
    "url", ["https://gitlab.com/my-group/my-project", "https://gitlab.com/my-group/"]
)
def test_a_gitlab_com_url_with_a_path_warns(url: str) -> None:
    problems, warnings = outcome({"gitlabUrl": url})
    assert not problems
    found = [w for w in warnings if w.startswith("gitlabUrl")]
    assert len(found) == 1 and "gitlab.com has no relative root" in found[0]
    assert found[0].endswith("pulumi config set gitlabUrl https://gitlab.com")


@pytest.mark.parametrize(
    "url", ["https://gitlab.com", "https://gitlab.com/", "https://git.example.com/gitlab"]
)
def test_gitlab_com_at_its_root_and_relative_roots_elsewhere_do_not_warn(url: str) -> None:
    problems, warnings = outcome({"gitlabUrl": url})
    assert not problems and not any(w.startswith("gitlabUrl") for w in warnings)


def eks(categories: list[str], runner: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "mode": "eks",
        "runners": [{"name": "build", **runner}],
        "eks": {"instanceCategories": categories, **more},
    }


@pytest.mark.parametrize(
    ("categories", "runner", "architecture"),
    [
        (["a"], {"lane": "spot"}, "amd64"),  # a1 is Graviton and generation 1
        (["a"], {"lane": "spot", "architecture": "arm64"}, "arm64"),
        (["d", "u"], {"lane": "privileged", "architecture": "arm64"}, "arm64"),
        (["z", "h"], {"lane": "privileged"}, "amd64"),
    ],
)
def test_categories_without_a_family_of_the_lanes_architecture_are_refused(
    categories: list[str], runner: dict[str, Any], architecture: str
) -> None:
    problems, _ = outcome(eks(categories, runner))
    assert [p for p in problems if p.startswith("eks.instanceCategories")] == [
        f"eks.instanceCategories: {categories} has no EC2 family of generation 3 or later for "
        f"{architecture}, which runners[0] (build) needs (Karpenter requires every NodePool "
        "requirement at once, so its jobs would stay Pending); Graviton is not a category but "
        "the 'g' after the generation (c7g), chosen by the runner's architecture: use "
        f"categories with {architecture} families "
        f"({'c, m, r, t, i, x, g, p' + (', d, u' if architecture == 'amd64' else '')}), e.g. "
        "pulumi config set --path 'eks.instanceCategories[0]' c"
    ]


def test_the_managers_on_ec2_need_an_amd64_category_too() -> None:
    problems, _ = outcome(eks(["a"], {"lane": "fargate"}, managerPlacement="ec2", systemCpuLimit=8))
    assert any("eks.managerPlacement ec2 (the runner managers)" in p for p in problems)


@pytest.mark.parametrize(
    ("categories", "runner"),
    [
        (["c", "m", "r"], {"lane": "spot", "architecture": "arm64"}),
        (["d"], {"lane": "privileged"}),
        (["a"], {"lane": "fargate"}),  # no EC2 lane, no NodePool of jobs
        (["q"], {"lane": "spot"}),  # a letter the table does not know is left to Karpenter
    ],
)
def test_categories_that_can_give_the_lane_a_node_plan(
    categories: list[str], runner: dict[str, Any]
) -> None:
    problems, _ = outcome(eks(categories, runner))
    assert not [p for p in problems if p.startswith("eks.instanceCategories")]


def test_the_gpu_category_warns_that_it_is_not_graviton() -> None:
    problems, warnings = outcome(eks(["c", "g"], {"lane": "spot", "architecture": "arm64"}))
    assert not [p for p in problems if p.startswith("eks.instanceCategories")]
    assert any(w.startswith("eks.instanceCategories: 'g' is the GPU category") for w in warnings)


def test_ecs_mode_does_not_read_instance_categories() -> None:
    problems, _ = outcome({"eks": {"instanceCategories": ["a"]}})
    assert not [p for p in problems if "instanceCategories" in p]
