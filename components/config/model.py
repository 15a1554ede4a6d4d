"""The typed stack configuration: frozen dataclasses built by components/config/parse.py.

Field names are the snake_case of the keys in components/config/schema.py (a test keeps the two
in step); derived values (the resolved task definition, the subnet layout) are filled in by the
parser after cross-key checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components.domain.subnets import SubnetLayout


class ConfigError(pulumi.RunError):
    """All problems found in the stack configuration, one per line.

    A RunError, so `pulumi preview` prints the message without a Python traceback."""

    def __init__(self, problems: list[str], warnings: Sequence[str] = ()):
        self.problems = problems
        self.warnings = list(warnings)  # shown after the problems: they often explain them
        lines = "\n".join(f"  - {p}" for p in problems)
        text = f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}"
        if self.warnings:
            text += "\nwarnings:\n" + "\n".join(f"  - {w}" for w in self.warnings)
        super().__init__(text)


@dataclass(frozen=True)
class RunnerToken:
    """A glrt- runner authentication token; never shown by repr or str."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "[secret]"


@dataclass(frozen=True)
class GitLabToken:
    """A GitLab access token (create_runner scope); never shown by repr or str."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "[secret]"


@dataclass(frozen=True)
class GitLabSpec:
    """Runners created in GitLab by the program (pulumi-gitlab UserRunner)."""

    create_runners: bool
    runner_type: str | None  # instance | group | project
    group_id: int | None
    project_id: int | None
    description: str
    locked: bool
    run_untagged: bool
    paused: bool
    access_level: str
    token_rotation: int  # a change replaces the runners, so every token is new


@dataclass(frozen=True)
class CacheSpec:
    enabled: bool
    expiration_days: int


@dataclass(frozen=True)
class RunnerSpec:
    name: str
    tags: tuple[str, ...]
    concurrency: int
    lane: str
    request_concurrency: int
    task_definition: str  # ECS: catalogue entry used when a job sets no FARGATE_TASK_DEFINITION
    architecture: str  # EKS: kubernetes.io/arch of the job nodes (amd64 | arm64)
    cpu: int  # EKS: Fargate pod size in CPU units (1024 = 1 vCPU)
    memory: int  # EKS: Fargate pod size in MiB
    warm_jobs: int = 0  # EKS EC2 lanes: jobs kept ready by gitlab-runner pause pods
    warm_periods: tuple[str, ...] = ()  # cron expressions when they are kept (empty: always)
    warm_timezone: str = "UTC"


@dataclass(frozen=True)
class TaskDefinitionSpec:
    name: str
    image: str
    architecture: str  # x86_64 | arm64: the task definition's runtime platform
    cpu: int
    memory: int
    ephemeral_storage_gib: int
    environment: tuple[tuple[str, str], ...]
    task_role_policy_arns: tuple[str, ...]


@dataclass(frozen=True)
class NetworkSpec:
    vpc_cidr: str
    availability_zones: int
    nat_gateways: str
    vpc_endpoints: bool
    vpc_id: str | None
    private_subnet_ids: tuple[str, ...]
    public_subnet_ids: tuple[str, ...]
    layout: SubnetLayout | None  # planned subnets of a new VPC; None for an existing VPC

    @property
    def uses_existing_vpc(self) -> bool:
        return self.vpc_id is not None


@dataclass(frozen=True)
class EcsSpec:
    runner_version: str
    runner_sha256: str | None  # None: checked against the release's published release.sha256
    driver_version: str
    driver_sha256: str | None  # None: a published checksum file if any, else only logged
    max_jobs_per_manager: int
    manager_instance_type: str | None  # None: sized per manager (components/ecs/sizing.py)
    manager_ami_parameter: str
    check_interval: int
    container_insights: bool
    platform_version: str
    ssh_username: str
    job_timeout_seconds: int
    task_definitions: tuple[TaskDefinitionSpec, ...]


@dataclass(frozen=True)
class EksSpec:
    kubernetes_version: str
    karpenter_version: str
    runner_chart_version: str
    cluster_log_types: tuple[str, ...]
    admin_role_arns: tuple[str, ...]
    poll_timeout_seconds: int
    check_interval: int
    manager_placement: str
    helper_cpu: int
    helper_memory: int
    spot_cpu_limit: int
    privileged_cpu_limit: int
    system_cpu_limit: int
    instance_categories: tuple[str, ...]
    service_cpu: int  # CPU units of each `services:` container of a job pod
    service_memory: int  # MiB of each `services:` container
    default_job_image: str  # for jobs without `image:`
    endpoint_access: str  # "public" (public + private endpoint) or "private" only
    # Who may reach the public endpoint; the parser fills in 0.0.0.0/0 (with a warning) when
    # the endpoint is public and nothing is set, and leaves it empty when it is private.
    public_access_cidrs: tuple[str, ...]
    # Who may reach the API (443) through the cluster security group: the private endpoint's
    # only way in from outside that group.
    private_access_cidrs: tuple[str, ...]
    private_access_security_group_ids: tuple[str, ...]
    node_ami_alias: str  # Karpenter EC2NodeClass AMI alias, pinned by default
    job_timeout_seconds: int  # how long a stopping manager or draining node waits for jobs


@dataclass(frozen=True)
class ImagesSpec:
    pull_through_cache: bool
    repository_prefix: str | None  # None: derived from the stack name
    docker_hub_credential_arn: str | None
    gitlab_credential_arn: str | None
    helper_image: str | None  # EKS job pods' helper; None: gitlab-runner's default


@dataclass(frozen=True)
class PreflightSpec:
    check_quotas: bool
    fail_on_quota: bool


@dataclass(frozen=True)
class ObservabilitySpec:
    enabled: bool


@dataclass(frozen=True)
class AlertsSpec:
    email: str | None
    sns_topic_arn: str | None
    fargate_quota_percent: int
    saturated_minutes: int
    not_polling_minutes: int
    job_start_failures: int


@dataclass(frozen=True)
class StackConfig:
    mode: str
    gitlab_url: str
    log_retention_days: int
    runners: tuple[RunnerSpec, ...]
    runner_tokens: tuple[tuple[str, RunnerToken], ...]  # empty with gitlab.create_runners
    network: NetworkSpec
    ecs: EcsSpec
    eks: EksSpec
    gitlab: GitLabSpec
    gitlab_token: GitLabToken | None  # set exactly when gitlab.create_runners
    cache: CacheSpec
    images: ImagesSpec
    preflight: PreflightSpec
    observability: ObservabilitySpec
    alerts: AlertsSpec

    def token_for(self, runner_name: str) -> RunnerToken:
        return dict(self.runner_tokens)[runner_name]

    @property
    def total_concurrency(self) -> int:
        return sum(r.concurrency for r in self.runners)
