"""Job pod sizes judged where the pod runs: Fargate-lane pods (with their `services:`
containers) against Fargate's largest size, EC2-lane pods against their NodePool."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from tests.harness import sentinel

TOKENS = {"runnerTokens": {"big": sentinel("big")}}


def eks_runner(**runner: Any) -> dict[str, Any]:
    return {**TOKENS, "mode": "eks", "runners": [{"name": "big", **runner}]}


def outcome(raw: dict[str, Any]) -> tuple[list[str], list[str]]:
    try:
        return [], parse_config(raw)[1]
    except ConfigError as error:
        return error.problems, []


@pytest.mark.parametrize("lane", ["spot", "privileged"])
def test_an_ec2_lane_pod_needs_no_fargate_size(lane: str) -> None:
    """cpu 3072 / memory 6000 is no Fargate size (it used to be refused as one) but fits a
    Karpenter node; the fargate lane still refuses it."""
    assert outcome(eks_runner(lane=lane, cpu=3072, memory=6000))[0] == []
    problems, _ = outcome(eks_runner(lane="fargate", cpu=3072, memory=6000))
    assert any("not a valid Fargate size" in p for p in problems)


@pytest.mark.parametrize(
    ("lane", "runner", "eks", "fragments"),
    [
        ("spot", {"cpu": 65536}, {}, ("eks.spotCpuLimit 64 vCPU", "to 65 or more")),
        (
            "privileged",
            {"cpu": 2048, "memory": 300000},
            {"instanceCategories": ["c", "m"]},
            ("eks.privilegedCpuLimit 32 vCPU", "categories c, m", "to 74 or more"),
        ),
    ],
)
def test_an_ec2_lane_pod_larger_than_its_nodepool_allows_is_refused(
    lane: str, runner: dict[str, Any], eks: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    problems, _ = outcome({**eks_runner(lane=lane, **runner), "eks": eks})
    assert any(all(f in p for f in ("runners[0] (big)", *fragments)) for p in problems), problems
    key = "spotCpuLimit" if lane == "spot" else "privilegedCpuLimit"
    raised = {**eks, key: int(fragments[-1].split()[1])}
    assert outcome({**eks_runner(lane=lane, **runner), "eks": raised})[0] == []


def test_fargate_pods_with_services_beyond_the_largest_size_are_named() -> None:
    """16 vCPU / 112 GiB leaves no CPU for a 256-unit service within 16 vCPU / 120 GiB."""
    _, warnings = outcome(eks_runner(cpu=16384, memory=114688))
    (warning,) = [w for w in warnings if w.startswith("runners[0] (big): jobs with more than")]
    assert "more than 0 `services:` containers stay Pending" in warning
    assert "cpu 16384 / memory 122880" in warning
    _, two = outcome(eks_runner(cpu=8192, memory=61440) | {"eks": {"serviceCpu": 4096}})
    assert not any("services:" in w for w in two)  # two 4-vCPU services still fit
    _, roomy = outcome(eks_runner(cpu=4096, memory=8192))
    assert not any("services:" in w for w in roomy)
