"""The value rules of the fleets' args: one set for both doors.

The stack program's parser (components/config/parse.py) reports these problems for stack keys,
and the fleets (components/ecs/runner.py, components/eks/runner.py) check their args with the
same functions before they register anything, so a program of your own gets the same message,
naming the field, instead of a provider error halfway through `pulumi up`. Paths are the
stack config's key paths, which are also the args' field paths in camelCase.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from components.domain.fargate_sizes import is_valid_fargate_size, nearest_fargate_size
from components.domain.manager_sizing import MAX_JOBS_PER_MANAGER_LIMIT
from components.domain.specs import (
    KARPENTER_MODES,
    EcsFleetSpec,
    EksFleetSpec,
    ExistingCluster,
    RunnerSpec,
    TaskDefinitionSpec,
)
from components.domain.trust_rules import ca_bundle_shown, check_ca_bundle, check_proxy_url
from components.domain.url_rules import check_gitlab_url, redact_url

# Runner and catalogue names become namespaces, task families and resource names.
NAME_PATTERN = r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?"
LANES = ("fargate", "spot", "privileged")
ECS_LANES = ("fargate", "spot")
MAX_RUNNER_CONCURRENCY = 2000
# A task definition's runtimePlatform.cpuArchitecture, as the catalogue spells it.
TASK_ARCHITECTURES = ("x86_64", "arm64")
# Fargate task ephemeral storage: 20 GiB free, at most 200 (RegisterTaskDefinition).
EPHEMERAL_STORAGE_GIB = (20, 200)
# What EKS accepts as a cluster name (CreateCluster: 1-100 characters, starting alphanumeric).
CLUSTER_NAME_PATTERN = r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}"


def shown(value: object) -> str:
    """A value as its author typed it: text in quotes, '' marked as empty, else JSON."""
    if value == "":
        return '"" (empty)'
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value, default=str, ensure_ascii=False)


def name_problem(path: str, value: object, example: str) -> str | None:
    if isinstance(value, str) and re.fullmatch(NAME_PATTERN, value):
        return None
    return (
        f"{path}.name: {shown(value) if value is not None else 'missing'} is not a valid name; "
        f"use 1-32 lowercase letters, digits or '-', e.g. \"{example}\" (it names namespaces "
        "and resources)"
    )


def fargate_size_problem(path: str, cpu: int, memory: int) -> str | None:
    if is_valid_fargate_size(cpu, memory):
        return None
    near_cpu, near_memory = nearest_fargate_size(cpu, memory)
    return (
        f"{path}: cpu {cpu} / memory {memory} is not a valid Fargate size; the nearest valid "
        f"pair is cpu {near_cpu} / memory {near_memory} (see docs/configuration.md)"
    )


def ecs_lane_problem(path: str, lane: str) -> str | None:
    if lane in ECS_LANES:
        return None
    return (
        f"{path}.lane: '{lane}' is not available in ecs mode: Fargate cannot run "
        "privileged containers (Docker-in-Docker); use lane fargate or spot, or set mode eks"
    )


def duplicate_problems(path: str, names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for name in names:
        if name in seen:
            problems.append(
                f"{path}: the name '{name}' is used more than once; names must be unique"
            )
        seen.add(name)
    return problems


def task_definition_problem(path: str, wanted: str, catalogue: Sequence[str]) -> str | None:
    if not wanted or wanted in catalogue:
        return None
    return (
        f"{path}.taskDefinition: '{wanted}' is not in ecs.taskDefinitions; use one of "
        f"{', '.join(catalogue)}"
    )


def _runner_problems(index: int, runner: RunnerSpec) -> tuple[str, list[str]]:
    label = f"runners[{index}]"
    problems = [p for p in (name_problem(label, runner.name, "fargate"),) if p]
    if not problems:
        label = f"runners[{index}] ({runner.name})"
    if not 1 <= runner.concurrency <= MAX_RUNNER_CONCURRENCY:
        problems.append(
            f"{label}.concurrency: {runner.concurrency} is out of range; use a value between 1 "
            f"and {MAX_RUNNER_CONCURRENCY}"
        )
    if runner.lane not in LANES:
        problems.append(f"{label}.lane: '{runner.lane}' is not one of {', '.join(LANES)}")
    return label, problems


def gitlab_url_problem(url: str) -> str | None:
    """The stack key's rule and text (components/config/schema.py `gitlabUrl`): the URL is
    written into config.toml and the Helm values, and its port and host into security group
    rules, so a bad one fails late or leaks a password."""
    error = check_gitlab_url(url)
    return None if error is None else f"gitlabUrl: '{redact_url(url)}' {error}"


def trust_problems(ca_bundle: str | None, proxy: Sequence[tuple[str, str]]) -> list[str]:
    """The stack keys' rules and texts for the CA bundle and the proxy URL the fleet writes
    into user data and Helm values (a private key in the bundle, a proxy password)."""
    problems = []
    if ca_bundle is not None and (error := check_ca_bundle(ca_bundle)):
        problems.append(f"gitlab.caBundle: '{ca_bundle_shown(ca_bundle)}' {error}")
    urls = dict.fromkeys(v for k, v in proxy if k.upper() in ("HTTP_PROXY", "HTTPS_PROXY"))
    problems += [
        f"network.httpProxy: '{redact_url(url)}' {error}"
        for url in urls
        if (error := check_proxy_url(url))
    ]
    return problems


def _common_problems(fleet: EcsFleetSpec | EksFleetSpec) -> list[str]:
    problems = [p for p in (gitlab_url_problem(fleet.gitlab_url),) if p]
    problems += trust_problems(fleet.ca_bundle, fleet.proxy_environment)
    problems += [] if fleet.runners else ["runners: a fleet needs at least one runner"]
    problems += duplicate_problems("runners", [r.name for r in fleet.runners])
    if fleet.log_retention_days < 0:
        days = fleet.log_retention_days
        problems.append(f"logRetentionDays: {days} is out of range; use >= 0")
    return problems


def _platform_problems(label: str, entry: TaskDefinitionSpec) -> list[str]:
    """What the stack file's keys refuse and the fleet would otherwise meet mid-construct
    (an unknown architecture has no cpuArchitecture: a KeyError) or at RegisterTaskDefinition."""
    problems = []
    if entry.architecture not in TASK_ARCHITECTURES:
        problems.append(
            f"{label}.architecture: {shown(entry.architecture)} is not one of "
            f"{' | '.join(TASK_ARCHITECTURES)}; pick one of them"
        )
    low, high = EPHEMERAL_STORAGE_GIB
    if not low <= entry.ephemeral_storage_gib <= high:
        problems.append(
            f"{label}.ephemeralStorageGiB: {entry.ephemeral_storage_gib} is out of range; "
            f"use a value between {low} and {high}"
        )
    return problems


def ecs_fleet_problems(fleet: EcsFleetSpec) -> list[str]:
    """What AWS or the Fargate driver would refuse later, or what would deploy wrongly."""
    problems = _common_problems(fleet)
    catalogue = [t.name for t in fleet.ecs.task_definitions]
    if not catalogue:
        problems.append("ecs.taskDefinitions: the catalogue needs at least one entry")
    for index, entry in enumerate(fleet.ecs.task_definitions):
        label = f"ecs.taskDefinitions[{index}]"
        named = name_problem(label, entry.name, "debian")
        problems += [named] if named else []
        label = f"{label} ({entry.name})"
        if not entry.image:
            problems.append(f"{label}.image: required; set the job image")
        size = fargate_size_problem(label, entry.cpu, entry.memory)
        problems += [size] if size else []
        problems += _platform_problems(label, entry)
    problems += duplicate_problems("ecs.taskDefinitions", catalogue)
    for index, runner in enumerate(fleet.runners):
        label, found = _runner_problems(index, runner)
        problems += found
        for problem in (
            ecs_lane_problem(label, runner.lane) if runner.lane in LANES else None,
            task_definition_problem(label, runner.task_definition, catalogue),
        ):
            problems += [problem] if problem else []
    # Above the cap no sized manager type carries a shard (ecs/sizing.py would fail mid-way).
    cap = fleet.ecs.max_jobs_per_manager
    if not 1 <= cap <= MAX_JOBS_PER_MANAGER_LIMIT:
        problems.append(
            f"ecs.maxJobsPerManager: {cap} is out of range; use a value between 1 and "
            f"{MAX_JOBS_PER_MANAGER_LIMIT}"
        )
    return problems


def eks_fleet_problems(fleet: EksFleetSpec) -> list[str]:
    """What EKS, Fargate or Karpenter would refuse later, or what would deploy wrongly."""
    problems = _common_problems(fleet)
    for index, runner in enumerate(fleet.runners):
        label, found = _runner_problems(index, runner)
        problems += found
        if runner.lane == "fargate":
            size = fargate_size_problem(label, runner.cpu, runner.memory)
            problems += [size] if size else []
    return problems


def existing_cluster_problems(
    existing: ExistingCluster | None, cluster_name: str, fleet: EksFleetSpec
) -> list[str]:
    """A cluster the fleet joins: a name EKS could have given, a known Karpenter mode, and
    one name for it throughout (Karpenter's settings and the pod execution role's trust use
    `clusterName`)."""
    wanted = fleet.eks.existing_cluster
    if existing is None:
        if wanted is None:
            return []
        return [
            f"eks.existingCluster: '{wanted}' is set in the fleet's EksSpec, but the fleet "
            f"joins a cluster only through its existing_cluster arg; pass "
            f"existing_cluster=ExistingCluster(name='{wanted}', karpenter="
            f"'{fleet.eks.karpenter}') and clusterName '{wanted}'"
        ]
    problems = []
    if not re.fullmatch(CLUSTER_NAME_PATTERN, existing.name):
        problems.append(
            f"existingCluster.name: {json.dumps(existing.name)} is not an EKS cluster name; "
            "use the name `aws eks list-clusters` shows"
        )
    if existing.karpenter not in KARPENTER_MODES:
        problems.append(
            f"existingCluster.karpenter: '{existing.karpenter}' is not one of "
            f"{', '.join(KARPENTER_MODES)}"
        )
    if cluster_name != existing.name:
        problems.append(
            f"clusterName: '{cluster_name}' is not the cluster the fleet joins "
            f"('{existing.name}'); set clusterName '{existing.name}' (Karpenter and the Fargate "
            "pod execution role name the cluster by it)"
        )
    if wanted is not None and wanted != existing.name:
        problems.append(
            f"eks.existingCluster: '{wanted}' is not existingCluster.name '{existing.name}'; "
            "name one cluster"
        )
    return problems


def topic_region_problem(topic_arn: str, region: str) -> str | None:
    """Why CloudWatch refuses this topic as the stack's alarm action, or None. FACTS.md
    section 10: alarm actions must be SNS topics in the alarm's own region (PutMetricAlarm
    AlarmActions: arn:aws:sns:<region>:<account-id>:<topic>)."""
    parts = topic_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[3] == region:
        return None
    partition, topic_region = parts[1], parts[3]
    return (
        f"alerts.snsTopicArn: '{topic_arn}' is a topic in {topic_region}, but the alarms are in "
        f"{region} and CloudWatch alarms notify topics of their own region only; use a topic "
        f"in {region} (pulumi config set --path alerts.snsTopicArn "
        f"arn:{partition}:sns:{region}:<account>:<topic>) or alerts.email for a new one"
    )
