"""The value rules of the fleets' args: one set for both doors.

The stack program's parser (components/config/parse.py) reports these problems for stack keys,
and the fleets (components/ecs/runner.py, components/eks/runner.py) check their args with the
same functions before they register anything, so a program of your own gets the same message,
naming the field, instead of a provider error halfway through `pulumi up`. Paths are the
stack config's key paths, which are also the args' field paths in camelCase.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Sequence

from components.domain import versions
from components.domain.fargate_sizes import is_valid_fargate_size, nearest_fargate_size
from components.domain.lane_rules import (
    NODE_ARCHITECTURES,
    fargate_arm64_problem,
    instance_category_item_problems,
    instance_category_problems,
    pod_room_problems,
    system_pool_problem,
    warm_jobs_problems,
)
from components.domain.manager_sizing import estimated_max_jobs
from components.domain.section_rules import (
    ECS_RULES,
    EKS_RULES,
    IMAGES_RULES,
    RUNNER_RULES,
    TASK_RULES,
    admin_principal_problems,
    endpoint_cidrs_problem,
    environment_problems,
    section_problems,
)
from components.domain.specs import (
    DEFAULT_ECS_JOB_IMAGE,
    KARPENTER_INSTALL,
    KARPENTER_MODES,
    EcsFleetSpec,
    EksFleetSpec,
    ExistingCluster,
    RunnerSpec,
    TaskDefinitionSpec,
)
from components.domain.start_wait_input import sampler_input_problem
from components.domain.trust_rules import ca_bundle_shown, check_ca_bundle, check_proxy_url
from components.domain.url_rules import check_gitlab_url, redact_url
from components.domain.value_rules import Found, choice_problem, range_problem, shown

# Runner and catalogue names become namespaces, task families and resource names.
NAME_PATTERN = r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?"
LANES = ("fargate", "spot", "privileged")
ECS_LANES = ("fargate", "spot")
MAX_RUNNER_CONCURRENCY = 2000
# A task definition's runtimePlatform.cpuArchitecture, as the catalogue spells it.
TASK_ARCHITECTURES = ("x86_64", "arm64")
# Fargate task ephemeral storage: 20 GiB free, at most 200 (RegisterTaskDefinition).
EPHEMERAL_STORAGE_GIB = (20, 200)
# gitlab-runner requests to GitLab at once (runners[].requestConcurrency).
REQUEST_CONCURRENCY = (1, 100)
# An EKS job pod's smallest size (runners[].cpu, runners[].memory).
EKS_POD_MIN_CPU, EKS_POD_MIN_MEMORY = 256, 512
# The smallest Fargate task (ecs.taskDefinitions[].cpu, .memory).
TASK_MIN_CPU, TASK_MIN_MEMORY = 256, 512
# CloudWatch Logs PutRetentionPolicy's retentionInDays (botocore's logs model, shape Days; a
# test keeps them in step), and 0: pulumi-aws LogGroup's "never expire".
LOG_RETENTION_DAYS = (
    *(0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192),
    *(2557, 2922, 3288, 3653),
)
# Coordinator images taken as linux/amd64 only. The default is built from
# gitlab.com/tmaczukin-test-projects/fargate-driver-debian; the images derived from its
# Dockerfile in public code download gitlab-runner-linux-amd64 and tini-amd64, and no arm64
# build of it is known (its registry could not be queried from here).
AMD64_ONLY_IMAGES = (DEFAULT_ECS_JOB_IMAGE,)
# IAM: managed policies attached to one role (quota L-0DA4ABF3, default 10, at most 20).
MAX_MANAGED_POLICIES_PER_ROLE = 10
# What EKS accepts as a cluster name (CreateCluster: 1-100 characters, starting alphanumeric).
CLUSTER_NAME_PATTERN = r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}"


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


def _found(*problems: str | None) -> list[str]:
    return [p for p in problems if p]


def _runner_problems(index: int, runner: RunnerSpec) -> tuple[str, list[str]]:
    label = f"runners[{index}]"
    problems = _found(name_problem(label, runner.name, "fargate"))
    if not problems:
        label = f"runners[{index}] ({runner.name})"
    problems += _found(
        range_problem(f"{label}.concurrency", runner.concurrency, 1, MAX_RUNNER_CONCURRENCY),
        choice_problem(f"{label}.lane", runner.lane, LANES),
        None
        if runner.request_concurrency is None  # unset: the mode's default (RunnerSpec)
        else range_problem(
            f"{label}.requestConcurrency", runner.request_concurrency, *REQUEST_CONCURRENCY
        )
        or request_concurrency_problem(label, runner),
    )
    return label, problems


def request_concurrency_problem(label: str, runner: RunnerSpec) -> str | None:
    """A set requestConcurrency above the runner's concurrency; unset (None), the mode's
    default holds, never above it (components/domain/eks_sizing.py)."""
    requested = runner.request_concurrency
    if requested is None or requested <= runner.concurrency:
        return None
    return (
        f"{label}.requestConcurrency: {requested} "
        f"is above the runner's concurrency {runner.concurrency}: it would ask GitLab for "
        f"jobs it cannot run; set it to {runner.concurrency} or less (or unset it)"
    )


def task_roles_problem(label: str, entry: TaskDefinitionSpec) -> str | None:
    """IAM attaches at most 10 managed policies to a role unless the quota is raised."""
    count = len(entry.task_role_policy_arns)
    if count <= MAX_MANAGED_POLICIES_PER_ROLE:
        return None
    return (
        f"{label}.taskRolePolicyArns: {count} policies, "
        f"but IAM attaches at most {MAX_MANAGED_POLICIES_PER_ROLE} managed policies to a "
        "role (quota 'Managed policies per role'); combine them into one customer "
        f"managed policy or list {MAX_MANAGED_POLICIES_PER_ROLE} or fewer"
    )


def manager_type_verdict(fleet: EcsFleetSpec) -> tuple[str, bool] | None:
    """A pinned manager type must carry the jobs each manager runs (one driver process per
    job: too small a type runs out of memory mid-job): the message, and whether it is a
    problem (far too small fails for certain; a little short is an estimate's call: a
    warning, which only the stack file gives)."""
    kind = fleet.ecs.manager_instance_type
    if kind is None:
        return None
    total = sum(r.concurrency for r in fleet.runners)
    managers = max(1, math.ceil(total / fleet.ecs.max_jobs_per_manager))
    jobs = math.ceil(total / managers)
    carries = estimated_max_jobs(kind)
    if carries is None or carries >= jobs:
        return None
    return (
        f"ecs.managerInstanceType: '{kind}' carries about {carries} running jobs (one Fargate "
        f"driver process per job, docs/ecs-operations.md), but each of the {managers} "
        f"manager(s) runs up to {jobs}; unset ecs.managerInstanceType (each manager is then "
        "sized from its jobs), pick a larger type, or lower ecs.maxJobsPerManager"
    ), carries * 2 < jobs


def amd64_image_problem(label: str, entry: TaskDefinitionSpec) -> str | None:
    """The task runs its image as is: an arm64 entry needs a coordinator image with a
    linux/arm64 variant, which the default image has not (config/architecture.py)."""
    if entry.architecture != "arm64" or entry.image not in AMD64_ONLY_IMAGES:
        return None
    return (
        f"{label}.image: '{entry.image}' is GitLab's "
        "example coordinator image, built for linux/amd64 only (no linux/arm64 build of "
        "it is known), so an arm64 task cannot start it (CannotPullContainerError: no "
        "matching manifest for linux/arm64); build the coordinator image (sshd on port "
        "22, gitlab-runner-linux-arm64) for linux/arm64 or as a multi-arch image and set "
        "it here, or use architecture x86_64"
    )


def image_required_problem(label: str) -> str:
    return f'{label}.image: required; set the job image, e.g. "{DEFAULT_ECS_JOB_IMAGE}"'


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
    problems += _found(
        choice_problem("logRetentionDays", fleet.log_retention_days, LOG_RETENTION_DAYS)
    )
    return problems


def _platform_problems(label: str, entry: TaskDefinitionSpec) -> list[str]:
    """What the stack file's keys refuse and the fleet would otherwise meet mid-construct
    (an unknown architecture has no cpuArchitecture: a KeyError) or at RegisterTaskDefinition."""
    storage = entry.ephemeral_storage_gib
    return _found(
        choice_problem(f"{label}.architecture", entry.architecture, TASK_ARCHITECTURES),
        range_problem(f"{label}.ephemeralStorageGiB", storage, *EPHEMERAL_STORAGE_GIB),
        amd64_image_problem(label, entry),
    )


def ecs_fleet_problems(fleet: EcsFleetSpec, today: dt.date | None = None) -> list[str]:
    """What AWS or the Fargate driver would refuse later, or what would deploy wrongly; the
    release windows once every value is valid (`today`: the date they are judged at)."""
    problems = _common_problems(fleet)
    catalogue = [t.name for t in fleet.ecs.task_definitions]
    if not catalogue:
        problems.append("ecs.taskDefinitions: the catalogue needs at least one entry")
    for index, entry in enumerate(fleet.ecs.task_definitions):
        label = f"ecs.taskDefinitions[{index}]"
        named = name_problem(label, entry.name, "debian")
        problems += [named] if named else []
        label = f"{label} ({entry.name})"
        problems += [] if entry.image else [image_required_problem(label)]
        problems += section_problems(label, entry, TASK_RULES)
        problems += environment_problems(label, [k for k, _ in entry.environment])
        sizes = _found(
            range_problem(f"{label}.cpu", entry.cpu, TASK_MIN_CPU),
            range_problem(f"{label}.memory", entry.memory, TASK_MIN_MEMORY),
        )
        problems += sizes or _found(fargate_size_problem(label, entry.cpu, entry.memory))
        problems += _platform_problems(label, entry) + _found(task_roles_problem(label, entry))
    problems += duplicate_problems("ecs.taskDefinitions", catalogue)
    for index, runner in enumerate(fleet.runners):
        label, found = _runner_problems(index, runner)
        problems += found
        for problem in (
            ecs_lane_problem(label, runner.lane) if runner.lane in LANES else None,
            task_definition_problem(label, runner.task_definition, catalogue),
        ):
            problems += [problem] if problem else []
    problems += section_problems("ecs", fleet.ecs, ECS_RULES)
    if problems:
        return problems
    verdict = manager_type_verdict(fleet)
    found = Found()
    versions.check_runner_version(found, fleet.ecs.runner_version, today or dt.date.today())
    return ([verdict[0]] if verdict and verdict[1] else []) + found.problems


def _eks_runner_problems(index: int, runner: RunnerSpec) -> list[str]:
    label, problems = _runner_problems(index, runner)
    sizes = _found(
        range_problem(f"{label}.cpu", runner.cpu, EKS_POD_MIN_CPU),
        range_problem(f"{label}.memory", runner.memory, EKS_POD_MIN_MEMORY),
    )
    if runner.lane == "fargate" and not sizes:
        sizes = _found(fargate_size_problem(label, runner.cpu, runner.memory))
    return (
        problems
        + _found(
            choice_problem(f"{label}.architecture", runner.architecture, NODE_ARCHITECTURES),
            fargate_arm64_problem(label, runner),
        )
        + section_problems(label, runner, RUNNER_RULES)
        + sizes
    )


def eks_fleet_problems(
    fleet: EksFleetSpec, existing: ExistingCluster | None = None, today: dt.date | None = None
) -> list[str]:
    """What EKS, Fargate or Karpenter would refuse later, or what would deploy wrongly. The
    checks of what Karpenter can launch for the lanes and the release windows (at `today`; on
    the cluster the fleet joins, `existing`, only its own pieces') run once every value is
    valid (one problem, one message): the stack file's parser runs them on the defaults it
    kept."""
    problems = _common_problems(fleet)
    for index, runner in enumerate(fleet.runners):
        problems += _eks_runner_problems(index, runner)
    eks = fleet.eks
    problems += instance_category_item_problems(eks) + section_problems("eks", eks, EKS_RULES)
    problems += admin_principal_problems(eks) + _found(
        None if existing else endpoint_cidrs_problem(eks)
    )
    problems += IMAGES_RULES["helperImage"].problems("images.helperImage", fleet.helper_image)
    if fleet.observability.enabled:
        problems += _found(sampler_input_problem(r.name for r in fleet.runners))
    if problems:
        return problems
    found = Found()
    karpenter = existing.karpenter if existing else KARPENTER_INSTALL
    versions.check_eks_versions(
        found, eks, existing is not None, karpenter, today or dt.date.today()
    )
    warm = [
        p
        for i, r in enumerate(fleet.runners)
        for p in warm_jobs_problems(f"runners[{i}] ({r.name})", r, eks.runner_chart_version)
    ]
    return (
        instance_category_problems(fleet.runners, eks)
        + pod_room_problems(fleet.runners, eks)
        + _found(system_pool_problem(fleet.runners, eks))
        + warm
        + found.problems
    )


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
