"""Versions and cross-key checks: what each value allows alone but the whole cannot do."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.config import ConfigError, parse_config
from components.config.feasibility import deployment_region
from components.domain import chart_versions, versions
from tests.harness import GITLAB_TOKEN_SENTINEL, sentinel

TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}
TODAY = dt.date(2026, 12, 1)
UPSTREAM = Path(__file__).parents[1] / "upstream"


def outcome(raw: dict[str, Any], **kwargs: Any) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a config."""
    kwargs.setdefault("today", TODAY)
    try:
        given = {k: v for k, v in {**TOKENS, **raw}.items() if v is not None}  # None: unset
        _, warnings = parse_config(given, **kwargs)
    except ConfigError as error:
        return error.problems, []
    return [], warnings


def eks(**settings: Any) -> dict[str, Any]:
    return {"mode": "eks", "eks": settings}


def test_tested_versions_are_the_pinned_upstream_ones() -> None:
    """The runner facts are of the tested runner; the tested chart ships it by GitLab's
    numbering (0.N ships 18.(N-77); a third-party deployment note lists chart 0.92.0 with
    runner 19.3.0). The chart's own templates were last read at 0.86.0 (no 0.92.0 source was
    readable here): its facts keep that version and the runner it shipped."""
    config = json.loads((UPSTREAM / "gitlab-runner-config.json").read_text())["provenance"]
    assert config["ref"].startswith(f"v{versions.TESTED_RUNNER} ")
    runner = tuple(int(p) for p in versions.TESTED_RUNNER.split(".")[:2])
    assert chart_versions.runner_of_chart_version(versions.TESTED_CHART) == runner
    chart = json.loads((UPSTREAM / "gitlab-runner-chart.json").read_text())["chart"]
    assert (chart["version"], chart["appVersion"]) == ("0.86.0", "18.9.0")
    karpenter = json.loads((UPSTREAM / "karpenter-crds.json").read_text())["provenance"]["ref"]
    assert karpenter.startswith("v" + ".".join(map(str, versions.TESTED_KARPENTER_MINOR)) + ".")
    assert chart_versions.runner_of_chart(86) == (18, 9) and chart_versions.runner_of_chart(76) == (
        17,
        11,
    )
    assert chart_versions.runner_of_chart(92) == (19, 3)
    assert versions.TESTED_KUBERNETES[1] == max(versions.EKS_CALENDAR, key=lambda v: int(v[2:]))


def test_the_defaults_pass_without_a_version_warning() -> None:
    for mode in ("ecs", "eks"):
        problems, warnings = outcome({"mode": mode})
        assert problems == [] and not [w for w in warnings if "version" in w.lower()], warnings


@pytest.mark.parametrize(
    ("version", "kind", "fragments"),
    [
        ("1.28", "problem", ("not a Kubernetes version EKS offers", "1.32")),
        ("1.31", "problem", ("left EKS extended support on 2026-11-26",)),
        ("1.99", "problem", ("not a Kubernetes version EKS offers",)),
        ("1.32", "warning", ("extended support since 2026-03-23", "upgrade to 1.35")),
        ("1.36", "warning", ("newer than the EKS versions", "describe-cluster-versions")),
        ("1.34", "warning", ("outside the versions this program is tested with",)),
    ],
)
def test_kubernetes_versions_follow_the_eks_calendar(
    version: str, kind: str, fragments: tuple[str, ...]
) -> None:
    problems, warnings = outcome(eks(kubernetesVersion=version))
    found = problems if kind == "problem" else warnings
    assert any(
        f"eks.kubernetesVersion: '{version}'" in m and all(f in m for f in fragments) for m in found
    ), (problems, warnings)


def test_karpenter_before_the_v1_apis_is_refused_and_other_minors_warned() -> None:
    problems, _ = outcome(eks(karpenterVersion="0.37.0"))
    assert any("karpenter.sh/v1" in p and "1.0.0" in p for p in problems)
    _, warnings = outcome(eks(karpenterVersion="1.13.2"))
    assert any("eks.karpenterVersion: '1.13.2'" in w and "1.14.x" in w for w in warnings)


@pytest.mark.parametrize(
    ("version", "fragment"),
    [
        ("18.12.0", "18.0 to 18.11 only"),
        ("15.9.0", "runner authentication tokens"),
        ("19.8.0", "not released yet (due 2027-01)"),
    ],
)
def test_runner_versions_that_do_not_exist_are_refused(version: str, fragment: str) -> None:
    problems, _ = outcome({"ecs": {"runnerVersion": version}})
    assert any(f"ecs.runnerVersion: '{version}'" in p and fragment in p for p in problems)


def test_a_released_runner_other_than_the_tested_one_warns() -> None:
    problems, warnings = outcome({"ecs": {"runnerVersion": "19.6.1"}})
    assert problems == [] and any(
        "not the tested gitlab-runner release 19.3.0" in w for w in warnings
    )


@pytest.mark.parametrize(
    ("version", "fragment"),
    [("1.0.0", "numbered 0.N.P"), ("0.99.0", "19.10, which is not released yet")],
)
def test_chart_versions_that_do_not_exist_are_refused(version: str, fragment: str) -> None:
    problems, _ = outcome(eks(runnerChartVersion=version))
    assert any(f"eks.runnerChartVersion: '{version}'" in p and fragment in p for p in problems)


def test_request_concurrency_above_concurrency_is_refused() -> None:
    raw = {"runners": [{"name": "fargate", "concurrency": 2, "requestConcurrency": 5}]}
    problems, _ = outcome(raw)
    assert any(
        "requestConcurrency: 5" in p and "concurrency 2" in p and "2 or less" in p for p in problems
    )


def test_instance_runners_on_gitlab_com_are_refused_with_group_or_project() -> None:
    raw = {
        "runnerTokens": None,
        "gitlab": {"createRunners": True, "runnerType": "instance"},
        "gitlabToken": GITLAB_TOKEN_SENTINEL,
    }
    problems, _ = outcome(raw)
    assert any("gitlab.runnerType: 'instance'" in p and "group" in p for p in problems)
    problems, _ = outcome({**raw, "gitlabUrl": "https://gitlab.example.com"})
    assert problems == []


def test_a_vpc_inside_dockers_bridge_is_refused_with_a_dind_lane() -> None:
    privileged = {"runners": [{"name": "fargate", "lane": "privileged"}]}
    problems, _ = outcome({**eks(), **privileged, "network": {"vpcCidr": "172.17.0.0/16"}})
    assert any(
        "network.vpcCidr: '172.17.0.0/16'" in p and "Docker" in p and "10.42.0.0/16" in p
        for p in problems
    )
    assert outcome({**eks(), **privileged, "network": {"vpcCidr": "172.16.0.0/16"}})[0] == []
    assert outcome({**eks(), "network": {"vpcCidr": "172.17.0.0/16"}})[0] == []


def test_a_system_pool_too_small_for_the_managers_is_refused() -> None:
    runners = [{"name": f"r{i}", "concurrency": 2000} for i in range(3)]
    raw = {
        **eks(managerPlacement="ec2"),
        "runners": runners,
        "runnerTokens": {r["name"]: sentinel(r["name"]) for r in runners},
    }
    problems, _ = outcome(raw)
    assert any(
        "eks.systemCpuLimit: 8 vCPU" in p and "12 vCPU" in p and "raise" in p for p in problems
    ), problems
    raw["eks"]["systemCpuLimit"] = 14
    assert outcome(raw)[0] == []


def test_more_managed_policies_than_iam_attaches_to_a_role_are_refused() -> None:
    arns = [f"arn:aws:iam::123456789012:policy/p{i}" for i in range(11)]
    entry = {"name": "d", "image": "debian:12", "taskRolePolicyArns": arns}
    problems, _ = outcome({"ecs": {"taskDefinitions": [entry]}})
    assert any("taskRolePolicyArns: 11 policies" in p and "at most 10" in p for p in problems)
    entry["taskRolePolicyArns"] = arns[:10]
    assert outcome({"ecs": {"taskDefinitions": [entry]}})[0] == []


@pytest.mark.parametrize(
    ("kind", "kind_of_message"), [("t3.micro", "problem"), ("t3.small", "warning")]
)
def test_a_pinned_manager_type_too_small_for_its_jobs(kind: str, kind_of_message: str) -> None:
    raw = {
        "runners": [{"name": "fargate", "concurrency": 30}],
        "ecs": {"managerInstanceType": kind},
    }
    problems, warnings = outcome(raw)
    found = problems if kind_of_message == "problem" else warnings
    assert any(
        f"ecs.managerInstanceType: '{kind}' carries about" in m
        and "up to 30" in m
        and "unset ecs.managerInstanceType" in m
        for m in found
    ), (problems, warnings)
    raw["ecs"]["managerInstanceType"] = "m6i.large"
    assert not [w for w in outcome(raw)[1] if "managerInstanceType" in w]


def test_absurd_pool_limits_are_refused() -> None:
    problems, _ = outcome(eks(spotCpuLimit=640000))
    assert any("eks.spotCpuLimit: 640000 is out of range" in p and "10000" in p for p in problems)


def test_the_region_comes_from_aws_region_else_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    monkeypatch.setattr(pulumi.Config, "get", lambda self, key: None)
    assert deployment_region() == "eu-north-1"
    monkeypatch.setenv("AWS_REGION", "eu-south-2")
    assert deployment_region() == "eu-south-2"
    monkeypatch.setattr(pulumi.Config, "get", lambda self, key: "us-east-2")
    assert deployment_region() == "us-east-2"
