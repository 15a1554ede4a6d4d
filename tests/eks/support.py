"""Shared lookups for the EKS whole-program tests."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from components.eks import placement
from components.eks.runner import TYPE_TOKEN
from components.offline.mocks import Plan, RecordedResource
from tests.harness import dev_config

RUNNER_TYPE = TYPE_TOKEN
CLUSTER = "eks:index:Cluster"
PROFILE = "aws:eks/fargateProfile:FargateProfile"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
ROLE = "aws:iam/role:Role"
COMPUTE_LABEL = {placement.COMPUTE_LABEL: placement.FARGATE}
# What a runner pod on Fargate carries: the compute label its profile selects, and the profile
# it names (the shared runner profile).
FARGATE_POD_LABELS = {**COMPUTE_LABEL, "eks.amazonaws.com/fargate-profile": "gitlab-runners"}
ADMIN_ROLE = "arn:aws:iam::123456789012:role/platform-admins"
# Every [runners.kubernetes] key gitlab-runner 19.3 knows (its Go struct tags).
UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"
KNOWN_KUBERNETES_KEYS = set(
    json.loads((UPSTREAM / "gitlab-runner-config.json").read_text())["sections"][
        "runners.kubernetes"
    ]["keys"]
)

DEFAULT_RUNNERS = [
    {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
    {"name": "spot", "lane": "spot", "tags": ["eks-spot"], "concurrency": 10},
]
FULL_RUNNERS = [
    *DEFAULT_RUNNERS,
    {
        "name": "docker",
        "lane": "privileged",
        "tags": ["eks-privileged"],
        "concurrency": 5,
        "cpu": 2048,
        "memory": 4096,
        "warmJobs": 2,
        "warmPeriods": ["* 8-17 * * 1-5"],
        "warmTimezone": "Europe/Berlin",
    },
]


def eks_config(**overrides: Any) -> dict[str, Any]:
    config = {"mode": "eks", "ecs": None, "runners": DEFAULT_RUNNERS, **overrides}
    return dev_config(**config)


def deps(plan: Plan, resource: RecordedResource) -> set[str]:
    by_urn = {r.urn: r.name for r in plan.resources}
    return {by_urn.get(urn, urn) for urn in resource.dependencies}


def release(plan: Plan, runner: str) -> RecordedResource:
    return plan.one(RELEASE, f"eks-runner-{runner}-release")


def runner_toml(plan: Plan, runner: str) -> dict[str, Any]:
    return tomllib.loads(release(plan, runner).inputs["values"]["runners"]["config"])


def kubernetes_section(plan: Plan, runner: str) -> dict[str, Any]:
    (entry,) = runner_toml(plan, runner)["runners"]
    return entry["kubernetes"]


def role_named(plan: Plan, name: str) -> RecordedResource:
    return plan.one(ROLE, name)


def role_arn(name: str) -> str:
    return f"arn:aws:iam::123456789012:role/{name}"
