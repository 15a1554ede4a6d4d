"""The typed settings the components take: frozen dataclasses of plain values.

A component's args hold these (what decides how many resources exist and what they are
called); the stack program's parser (components/config/parse.py) builds them from the stack
file after its checks, and a program of your own builds them directly. Field names are the
snake_case of the stack config keys in components/config/schema.py (a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from components.domain.eks_sizing import request_concurrency_for
from components.domain.subnets import SubnetLayout

# The catalogue's default job image: GitLab's Fargate driver example (sshd + gitlab-runner in
# the ci-coordinator container, as the driver needs).
DEFAULT_ECS_JOB_IMAGE = "registry.gitlab.com/tmaczukin-test-projects/fargate-driver-debian:latest"


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

    create_runners: bool = False
    runner_type: str | None = None  # instance | group | project
    group_id: int | None = None
    project_id: int | None = None
    description: str = ""
    locked: bool = False
    run_untagged: bool = False
    paused: bool = False
    access_level: str = "not_protected"
    token_rotation: int = 0  # a change replaces the runners, so every token is new
    ca_bundle: str | None = None  # PEM certificates the runners trust for GitLab (a private CA)


@dataclass(frozen=True)
class CacheSpec:
    enabled: bool = True
    expiration_days: int = 14


@dataclass(frozen=True)
class RunnerSpec:
    name: str
    tags: tuple[str, ...] = ()
    concurrency: int = 10
    lane: str = "fargate"
    # None: the mode's default (ECS 1; EKS 1 per 25 of concurrency, at most 20)
    request_concurrency: int | None = None
    task_definition: str = (
        ""  # ECS: catalogue entry used when a job sets no FARGATE_TASK_DEFINITION
    )
    architecture: str = "amd64"  # EKS: kubernetes.io/arch of the job nodes (amd64 | arm64)
    cpu: int = 1024  # EKS: Fargate pod size in CPU units (1024 = 1 vCPU)
    memory: int = 2048  # EKS: Fargate pod size in MiB
    warm_jobs: int = 0  # EKS EC2 lanes: jobs kept ready by gitlab-runner pause pods
    warm_periods: tuple[str, ...] = ()  # cron expressions when they are kept (empty: always)
    warm_timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not self.tags:  # as in the stack file: a runner without tags is meant for its name
            object.__setattr__(self, "tags", (self.name,))

    def request_concurrency_in(self, mode: str) -> int:
        """The set value, or the mode's default: ECS 1; EKS 1 per 25 of concurrency, at most
        20 (components/domain/eks_sizing.py). The stack parser and both renderers read it."""
        if self.request_concurrency is not None:
            return self.request_concurrency
        return request_concurrency_for(self.concurrency) if mode == "eks" else 1


@dataclass(frozen=True)
class TaskDefinitionSpec:
    name: str
    image: str
    architecture: str = "x86_64"  # x86_64 | arm64: the task definition's runtime platform
    cpu: int = 1024
    memory: int = 2048
    ephemeral_storage_gib: int = 20
    environment: tuple[tuple[str, str], ...] = ()
    task_role_policy_arns: tuple[str, ...] = ()
    repository_credentials_arn: str | None = None  # private registry login (repositoryCredentials)


@dataclass(frozen=True)
class NetworkSpec:
    vpc_cidr: str = "10.42.0.0/16"
    availability_zones: int = 2
    nat_gateways: str = "single"
    vpc_endpoints: bool = False
    vpc_id: str | None = None
    private_subnet_ids: tuple[str, ...] = ()
    public_subnet_ids: tuple[str, ...] = ()
    http_proxy: str | None = None  # http(s)://host[:port] for HTTP(S)_PROXY; None: no proxy
    no_proxy: tuple[str, ...] = ()  # added to the fixed bypass list (config/egress.py)
    layout: SubnetLayout | None = None  # planned subnets of a new VPC; None for an existing VPC

    @property
    def uses_existing_vpc(self) -> bool:
        return self.vpc_id is not None


@dataclass(frozen=True)
class EcsSpec:
    runner_version: str = "19.3.0"
    runner_sha256: str | None = None  # None: checked against the release's published release.sha256
    driver_version: str = "v0.5.1"
    driver_sha256: str | None = None  # None: a published checksum file if any, else only logged
    max_jobs_per_manager: int = 200
    manager_instance_type: str | None = None  # None: sized per manager (components/ecs/sizing.py)
    manager_ami_parameter: str = (
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    )
    check_interval: int = 3
    container_insights: bool = False
    platform_version: str = "1.4.0"
    ssh_username: str = "root"
    job_timeout_seconds: int = 3600
    task_definitions: tuple[TaskDefinitionSpec, ...] = (
        TaskDefinitionSpec(name="debian", image=DEFAULT_ECS_JOB_IMAGE),
    )


@dataclass(frozen=True)
class EksSpec:
    kubernetes_version: str = "1.35"
    karpenter_version: str = "1.14.1"
    runner_chart_version: str = "0.92.0"
    cluster_log_types: tuple[str, ...] = ("api", "audit", "authenticator")
    admin_role_arns: tuple[str, ...] = ()
    poll_timeout_seconds: int = 600
    check_interval: int = 3
    manager_placement: str = "fargate"
    helper_cpu: int = 128
    helper_memory: int = 256
    spot_cpu_limit: int = 64
    privileged_cpu_limit: int = 32
    system_cpu_limit: int = 8
    instance_categories: tuple[str, ...] = ("c", "m", "r")
    service_cpu: int = 256  # CPU units of each `services:` container of a job pod
    service_memory: int = 512  # MiB of each `services:` container
    default_job_image: str = (
        "public.ecr.aws/docker/library/debian:bookworm-slim"  # for jobs without `image:`
    )
    endpoint_access: str = "public"  # "public" (public + private endpoint) or "private" only
    # Who may reach the public endpoint; the parser fills in 0.0.0.0/0 (with a warning) when
    # the endpoint is public and nothing is set, and leaves it empty when it is private.
    public_access_cidrs: tuple[str, ...] = ()
    # Who may reach the API (443) through the cluster security group: the private endpoint's
    # only way in from outside that group.
    private_access_cidrs: tuple[str, ...] = ()
    private_access_security_group_ids: tuple[str, ...] = ()
    node_ami_alias: str = "al2023@v20260930"  # Karpenter EC2NodeClass AMI alias, pinned by default
    job_timeout_seconds: int = 3600  # how long a stopping manager or draining node waits for jobs
    # The stack file's eks.existingCluster / eks.karpenter; the stack program turns them into
    # EksFargateRunnerArgs.existing_cluster, which is what the fleet reads.
    existing_cluster: str | None = None
    karpenter: str = "install"


# How the fleet gets Karpenter on a cluster it joins: its own release, or the cluster's own
# Karpenter v1 (only NodePools, EC2NodeClasses and node roles are added).
KARPENTER_INSTALL = "install"
KARPENTER_EXISTING = "existing"
KARPENTER_MODES = (KARPENTER_INSTALL, KARPENTER_EXISTING)


@dataclass(frozen=True)
class ExistingCluster:
    """An EKS cluster the fleet joins instead of creating one (docs/bring-your-own.md)."""

    name: str  # the cluster's name, as `aws eks describe-cluster --name` takes it
    karpenter: str = KARPENTER_INSTALL  # install | existing (the cluster runs Karpenter v1)


@dataclass(frozen=True)
class ImagesSpec:
    pull_through_cache: bool = True
    repository_prefix: str | None = None  # None: derived from the stack name
    docker_hub_credential_arn: str | None = None
    gitlab_credential_arn: str | None = None
    helper_image: str | None = None  # EKS job pods' helper; None: gitlab-runner's default


@dataclass(frozen=True)
class PreflightSpec:
    check_quotas: bool = True
    fail_on_quota: bool = False


@dataclass(frozen=True)
class ObservabilitySpec:
    enabled: bool = True


@dataclass(frozen=True)
class AlertsSpec:
    email: str | None = None
    sns_topic_arn: str | None = None
    fargate_quota_percent: int = 80
    saturated_minutes: int = 15
    not_polling_minutes: int = 5
    job_start_failures: int = 3


@dataclass(frozen=True)
class EcsFleetSpec:
    """The plain values an ECS fleet is built from: they decide how many resources exist and
    what they are called (the runners, the catalogue, the managers' sizes)."""

    gitlab_url: str
    runners: tuple[RunnerSpec, ...]
    ecs: EcsSpec = EcsSpec()
    log_retention_days: int = 30
    observability: ObservabilitySpec = ObservabilitySpec()
    ca_bundle: str | None = None  # PEM certificates the runners trust for GitLab (a private CA)
    # HTTP(S)_PROXY / NO_PROXY for the managers and the jobs (the stack program's egress.py
    # derives them from network.httpProxy and network.noProxy); empty: no proxy.
    proxy_environment: tuple[tuple[str, str], ...] = ()

    def with_default_task_definitions(self) -> EcsFleetSpec:
        """Runners without a taskDefinition use the catalogue's first entry."""
        first = self.ecs.task_definitions[0].name if self.ecs.task_definitions else ""
        runners = tuple(
            r if r.task_definition else replace(r, task_definition=first) for r in self.runners
        )
        return replace(self, runners=runners)


@dataclass(frozen=True)
class EksFleetSpec:
    """The plain values an EKS fleet is built from (cluster, Karpenter, one chart per runner)."""

    gitlab_url: str
    runners: tuple[RunnerSpec, ...]
    eks: EksSpec = EksSpec()
    log_retention_days: int = 30
    observability: ObservabilitySpec = ObservabilitySpec()
    ca_bundle: str | None = None  # PEM certificates the runners trust for GitLab (a private CA)
    # HTTP(S)_PROXY / NO_PROXY for the managers and the jobs (the stack program's egress.py
    # derives them from network.httpProxy and network.noProxy); empty: no proxy.
    proxy_environment: tuple[tuple[str, str], ...] = ()
    helper_image: str | None = None  # job pods' helper; None: gitlab-runner's default
    # Before the names of the cluster-scoped Karpenter objects (NodePools, EC2NodeClasses):
    # "" on a cluster of the fleet's own; on one it joins, the fleet sets its name prefix, so
    # they cannot collide with the cluster's own (its Karpenter's `default` EC2NodeClass).
    pool_prefix: str = ""

    @property
    def total_concurrency(self) -> int:
        return sum(r.concurrency for r in self.runners)
