"""Stack configuration: read once, validated as a whole, turned into frozen dataclasses.

Every problem is collected before anything is raised, so `pulumi preview` shows the user the
complete list (key, bad value, fix) instead of the first error or a provider traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

import pulumi

from components.shared.fargate_sizes import is_valid_fargate_size, nearest_fargate_size
from components.shared.subnets import SubnetLayout, layout_subnets, private_prefix_for

PROJECT = "gitlab-fargate-runners"
MODES = ("ecs", "eks")
LANES = ("fargate", "spot", "privileged")
ECS_LANES = ("fargate", "spot")
NAT_STRATEGIES = ("single", "perAz")
MANAGER_PLACEMENTS = ("fargate", "ec2")
CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
RUNNER_TOKEN_PREFIX = "glrt-"
# Fargate on EKS adds 256 MiB to every pod; the helper container needs its own share.
EKS_FARGATE_POD_OVERHEAD_MIB = 256
NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VERSION_PATTERN = re.compile(r"^\d+\.\d+\.\d+$")
DEFAULT_JOB_IMAGE = "registry.gitlab.com/tmaczukin-test-projects/fargate-driver-debian:latest"
# ECR Public avoids Docker Hub's anonymous pull limit that every pod behind one NAT shares.
DEFAULT_EKS_JOB_IMAGE = "public.ecr.aws/docker/library/debian:bookworm-slim"
DEFAULT_MANAGER_AMI_PARAMETER = (
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
)

# Every key the program reads. Keys not listed here are reported as typos.
TOP_LEVEL_KEYS = (
    "mode",
    "gitlabUrl",
    "logRetentionDays",
    "runners",
    "runnerTokens",
    "network",
    "ecs",
    "eks",
)
OBJECT_KEYS = {"runners", "runnerTokens", "network", "ecs", "eks"}
RUNNER_KEYS = (
    "name",
    "tags",
    "concurrency",
    "lane",
    "requestConcurrency",
    "taskDefinition",
    "cpu",
    "memory",
)
RUNNER_KEYS_BY_MODE = {"taskDefinition": "ecs", "cpu": "eks", "memory": "eks"}
NETWORK_KEYS = (
    "vpcCidr",
    "availabilityZones",
    "natGateways",
    "vpcEndpoints",
    "vpcId",
    "privateSubnetIds",
    "publicSubnetIds",
    "publicTaskIps",
)
NETWORK_KEYS_BY_MODE = {"publicTaskIps": "ecs"}
TASK_DEFINITION_KEYS = (
    "name",
    "image",
    "cpu",
    "memory",
    "ephemeralStorageGiB",
    "environment",
    "taskRolePolicyArns",
)
ECS_KEYS = (
    "runnerVersion",
    "driverVersion",
    "managerInstanceType",
    "managerAmiParameter",
    "checkInterval",
    "containerInsights",
    "platformVersion",
    "sshUsername",
    "jobTimeoutSeconds",
    "taskDefinitions",
)
EKS_KEYS = (
    "kubernetesVersion",
    "karpenterVersion",
    "runnerChartVersion",
    "clusterLogTypes",
    "adminRoleArns",
    "pollTimeoutSeconds",
    "checkInterval",
    "managerPlacement",
    "helperCpu",
    "helperMemory",
    "spotCpuLimit",
    "privilegedCpuLimit",
    "systemCpuLimit",
    "instanceCategories",
    "serviceCpu",
    "serviceMemory",
    "defaultJobImage",
    "publicAccessCidrs",
)


class ConfigError(pulumi.RunError):
    """All problems found in the stack configuration, one per line.

    A RunError, so `pulumi preview` prints the message without a Python traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class RunnerToken:
    """A glrt- runner authentication token; never shown by repr or str."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "[secret]"


@dataclass(frozen=True)
class RunnerSpec:
    name: str
    tags: tuple[str, ...]
    concurrency: int
    lane: str
    request_concurrency: int
    task_definition: str  # ECS: catalogue entry used when a job sets no FARGATE_TASK_DEFINITION
    cpu: int  # EKS: Fargate pod size in CPU units (1024 = 1 vCPU)
    memory: int  # EKS: Fargate pod size in MiB


@dataclass(frozen=True)
class TaskDefinitionSpec:
    name: str
    image: str
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
    public_task_ips: bool
    layout: SubnetLayout | None  # planned subnets of a new VPC; None for an existing VPC

    @property
    def uses_existing_vpc(self) -> bool:
        return self.vpc_id is not None


@dataclass(frozen=True)
class EcsSpec:
    runner_version: str
    driver_version: str
    manager_instance_type: str
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
    public_access_cidrs: tuple[str, ...]  # who may reach the public Kubernetes API endpoint


@dataclass(frozen=True)
class StackConfig:
    mode: str
    gitlab_url: str
    log_retention_days: int
    runners: tuple[RunnerSpec, ...]
    runner_tokens: tuple[tuple[str, RunnerToken], ...]
    network: NetworkSpec
    ecs: EcsSpec
    eks: EksSpec

    def token_for(self, runner_name: str) -> RunnerToken:
        return dict(self.runner_tokens)[runner_name]

    @property
    def total_concurrency(self) -> int:
        return sum(r.concurrency for r in self.runners)


DEFAULT_TASK_DEFINITIONS = [{"name": "debian", "image": DEFAULT_JOB_IMAGE}]


def _did_you_mean(key: str, known: tuple[str, ...] | list[str], otherwise: str) -> str:
    """The closest known name for a typo, else the given advice."""
    close = difflib.get_close_matches(key, known, n=1)
    return f"did you mean '{close[0]}'?" if close else otherwise


class _Reader:
    """Collects problems and warnings while reading untyped config values."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def obj(self, path: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"{path}: expected an object, got {json.dumps(value)}")
            return {}
        for key in value:
            if key not in allowed:
                hint = _did_you_mean(key, allowed, f"known keys: {', '.join(allowed)}")
                self.problem(f"{path}.{key}: unknown key; {hint}")
        return {k: v for k, v in value.items() if k in allowed}

    def integer(
        self, path: str, value: Any, default: int, minimum: int, maximum: int | None = None
    ) -> int:
        if value is None:
            return default
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{path}: expected a whole number, got {json.dumps(value)}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.problem(f"{path}: {value} is out of range; use a value {bound}")
            return default
        return value

    def boolean(self, path: str, value: Any, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.problem(f"{path}: expected true or false, got {json.dumps(value)}")
            return default
        return value

    def string(
        self,
        path: str,
        value: Any,
        default: str,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
    ) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{path}: expected a non-empty string, got {json.dumps(value)}")
            return default
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(f"{path}: '{value}' is not valid; {hint}")
            return default
        return value

    def choice(self, path: str, value: Any, default: str, choices: tuple[str, ...]) -> str:
        if value is None:
            return default
        if value not in choices:
            self.problem(f"{path}: '{value}' is not one of {' | '.join(choices)}; pick one of them")
            return default
        return value

    def strings(
        self,
        path: str,
        value: Any,
        default: tuple[str, ...],
        check: Callable[[str], str | None] | None = None,
    ) -> tuple[str, ...]:
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(f"{path}: expected a list of strings, got {json.dumps(value)}")
            return default
        for item in value:
            error = check(item) if check else None
            if error:
                self.problem(f"{path}: '{item}' {error}")
        return tuple(value)


def _check_subnet_id(value: str) -> str | None:
    return None if value.startswith("subnet-") else "is not a subnet id (subnet-...)"


def _check_arn(value: str) -> str | None:
    return None if value.startswith("arn:") else "is not an ARN; use the full arn:aws:... string"


def _name(r: _Reader, path: str, value: Any, example: str) -> str | None:
    """A runner or catalogue name: it becomes part of namespaces, families and resources."""
    if isinstance(value, str) and NAME_PATTERN.fullmatch(value):
        return value
    r.problem(
        f"{path}.name: {json.dumps(value)} is not a valid name; use 1-32 lowercase letters, "
        f"digits or '-', e.g. \"{example}\" (it names namespaces and resources)"
    )
    return None


def _parse_runner(r: _Reader, index: int, raw: Any, mode: str) -> RunnerSpec | None:
    path = f"runners[{index}]"
    data = r.obj(path, raw, RUNNER_KEYS)
    if not isinstance(raw, dict):
        return None
    name = _name(r, path, data.get("name"), "fargate")
    if name is None:
        name = f"runner-{index}"
    else:
        path = f"runners[{index}] ({name})"
    lanes = LANES if mode == "eks" else ECS_LANES
    lane = r.choice(f"{path}.lane", data.get("lane"), "fargate", LANES)
    if lane not in lanes:
        r.problem(
            f"{path}.lane: '{lane}' is not available in ecs mode: Fargate cannot run privileged "
            "containers (Docker-in-Docker); use lane fargate or spot, or set mode eks"
        )
    for key, key_mode in RUNNER_KEYS_BY_MODE.items():
        if key in data and key_mode != mode:
            r.warnings.append(f"{path}.{key} is ignored in {mode} mode (it is used by {key_mode})")
    cpu = r.integer(f"{path}.cpu", data.get("cpu"), 1024, 256)
    memory = r.integer(f"{path}.memory", data.get("memory"), 2048, 512)
    if mode == "eks":
        _check_fargate_size(r, path, cpu, memory)
    return RunnerSpec(
        name=name,
        tags=r.strings(f"{path}.tags", data.get("tags"), (name,)),
        concurrency=r.integer(f"{path}.concurrency", data.get("concurrency"), 10, 1, 2000),
        lane=lane,
        request_concurrency=r.integer(
            f"{path}.requestConcurrency", data.get("requestConcurrency"), 1, 1, 100
        ),
        task_definition=data.get("taskDefinition") or "",
        cpu=cpu,
        memory=memory,
    )


def _check_fargate_size(r: _Reader, path: str, cpu: int, memory: int) -> None:
    if not is_valid_fargate_size(cpu, memory):
        near_cpu, near_memory = nearest_fargate_size(cpu, memory)
        r.problem(
            f"{path}: cpu {cpu} / memory {memory} is not a valid Fargate size; the nearest valid "
            f"pair is cpu {near_cpu} / memory {near_memory} (see the Fargate size table in README)"
        )


def _parse_task_definition(r: _Reader, index: int, raw: Any) -> TaskDefinitionSpec | None:
    path = f"ecs.taskDefinitions[{index}]"
    data = r.obj(path, raw, TASK_DEFINITION_KEYS)
    if not isinstance(raw, dict):
        return None
    name = _name(r, path, data.get("name"), "debian") or f"task-{index}"
    path = f"ecs.taskDefinitions[{index}] ({name})"
    image = r.string(
        f"{path}.image",
        data.get("image"),
        "",
        re.compile(r"^\S+$"),
        "an image reference has no spaces",
    )
    if not image:
        r.problem(f'{path}.image: required; set the job image, e.g. "{DEFAULT_JOB_IMAGE}"')
    cpu = r.integer(f"{path}.cpu", data.get("cpu"), 1024, 256)
    memory = r.integer(f"{path}.memory", data.get("memory"), 2048, 512)
    _check_fargate_size(r, path, cpu, memory)
    environment = data.get("environment") or {}
    if not isinstance(environment, dict) or not all(
        isinstance(v, str) for v in environment.values()
    ):
        r.problem(f'{path}.environment: expected an object of string values, e.g. {{"TZ": "UTC"}}')
        environment = {}
    for key in environment:
        if not ENV_NAME_PATTERN.fullmatch(key):
            r.problem(f"{path}.environment.{key}: not a valid variable name; use A-Z, 0-9 and _")
        if key == "SSH_PUBLIC_KEY":
            r.problem(
                f"{path}.environment.SSH_PUBLIC_KEY: reserved; the Fargate driver injects it for "
                "every job, remove it"
            )
    return TaskDefinitionSpec(
        name=name,
        image=image,
        cpu=cpu,
        memory=memory,
        ephemeral_storage_gib=r.integer(
            f"{path}.ephemeralStorageGiB", data.get("ephemeralStorageGiB"), 20, 20, 200
        ),
        environment=tuple(sorted(environment.items())),
        task_role_policy_arns=r.strings(
            f"{path}.taskRolePolicyArns", data.get("taskRolePolicyArns"), (), _check_arn
        ),
    )


def _parse_ecs(r: _Reader, raw: Any) -> EcsSpec:
    data = r.obj("ecs", raw, ECS_KEYS)
    raw_defs = data.get("taskDefinitions", DEFAULT_TASK_DEFINITIONS)
    if not isinstance(raw_defs, list) or not raw_defs:
        r.problem(
            "ecs.taskDefinitions: expected a non-empty list of {name, image, cpu, memory}; "
            "the first entry is every runner's default"
        )
        raw_defs = DEFAULT_TASK_DEFINITIONS
    parsed = [_parse_task_definition(r, i, d) for i, d in enumerate(raw_defs)]
    task_definitions = tuple(t for t in parsed if t is not None)
    _report_duplicates(r, "ecs.taskDefinitions", [t.name for t in task_definitions])
    return EcsSpec(
        runner_version=r.string(
            "ecs.runnerVersion",
            data.get("runnerVersion"),
            "18.9.0",
            VERSION_PATTERN,
            "use a release number such as 18.9.0 (no 'v', no 'latest': pin it)",
        ),
        driver_version=r.string(
            "ecs.driverVersion",
            data.get("driverVersion"),
            "v0.4.0",
            re.compile(r"^v\d+\.\d+\.\d+$"),
            "use a driver tag such as v0.4.0 (pin it; 'latest' changes under you)",
        ),
        manager_instance_type=r.string(
            "ecs.managerInstanceType",
            data.get("managerInstanceType"),
            "t3.small",
            re.compile(r"^[a-z]+\d+[a-fh-z]*(-flex)?\.[a-z0-9]+$"),
            "use an x86_64 EC2 instance type such as t3.small (the runner and driver binaries "
            "are amd64, so Graviton types such as t4g are not supported)",
        ),
        manager_ami_parameter=r.string(
            "ecs.managerAmiParameter",
            data.get("managerAmiParameter"),
            DEFAULT_MANAGER_AMI_PARAMETER,
            re.compile(
                r"^/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-[a-z0-9.-]+-x86_64$"
            ),
            "use an Amazon Linux 2023 x86_64 parameter such as "
            f"{DEFAULT_MANAGER_AMI_PARAMETER} (the user data needs dnf, AWS CLI v2 and python3)",
        ),
        check_interval=r.integer("ecs.checkInterval", data.get("checkInterval"), 3, 1, 3600),
        container_insights=r.boolean("ecs.containerInsights", data.get("containerInsights"), False),
        platform_version=r.string(
            "ecs.platformVersion",
            data.get("platformVersion"),
            "1.4.0",
            re.compile(r"^(LATEST|1\.4\.0)$"),
            "use 1.4.0 or LATEST (1.4.0 is the current Linux version)",
        ),
        ssh_username=r.string(
            "ecs.sshUsername",
            data.get("sshUsername"),
            "root",
            re.compile(r"^[a-z_][a-z0-9_-]*$"),
            "use the user the job image's sshd accepts keys for, e.g. root",
        ),
        job_timeout_seconds=r.integer(
            "ecs.jobTimeoutSeconds", data.get("jobTimeoutSeconds"), 3600, 60, 86400
        ),
        task_definitions=task_definitions,
    )


def _parse_eks(r: _Reader, raw: Any) -> EksSpec:
    data = r.obj("eks", raw, EKS_KEYS)
    return EksSpec(
        kubernetes_version=r.string(
            "eks.kubernetesVersion",
            data.get("kubernetesVersion"),
            "1.33",
            re.compile(r"^1\.\d{2}$"),
            "use a minor version such as 1.33",
        ),
        karpenter_version=r.string(
            "eks.karpenterVersion",
            data.get("karpenterVersion"),
            "1.14.1",
            VERSION_PATTERN,
            "use a chart version without 'v', such as 1.14.1",
        ),
        runner_chart_version=r.string(
            "eks.runnerChartVersion",
            data.get("runnerChartVersion"),
            "0.86.0",
            VERSION_PATTERN,
            "use a gitlab-runner chart version such as 0.86.0",
        ),
        cluster_log_types=_choices(
            r,
            "eks.clusterLogTypes",
            data.get("clusterLogTypes"),
            ("api", "audit", "authenticator"),
            CLUSTER_LOG_TYPES,
        ),
        admin_role_arns=r.strings("eks.adminRoleArns", data.get("adminRoleArns"), (), _check_arn),
        poll_timeout_seconds=r.integer(
            "eks.pollTimeoutSeconds", data.get("pollTimeoutSeconds"), 600, 180, 3600
        ),
        check_interval=r.integer("eks.checkInterval", data.get("checkInterval"), 3, 1, 3600),
        manager_placement=r.choice(
            "eks.managerPlacement", data.get("managerPlacement"), "fargate", MANAGER_PLACEMENTS
        ),
        helper_cpu=r.integer("eks.helperCpu", data.get("helperCpu"), 128, 64, 1024),
        helper_memory=r.integer("eks.helperMemory", data.get("helperMemory"), 256, 128, 2048),
        spot_cpu_limit=r.integer("eks.spotCpuLimit", data.get("spotCpuLimit"), 64, 1),
        privileged_cpu_limit=r.integer(
            "eks.privilegedCpuLimit", data.get("privilegedCpuLimit"), 32, 1
        ),
        system_cpu_limit=r.integer("eks.systemCpuLimit", data.get("systemCpuLimit"), 8, 1),
        instance_categories=r.strings(
            "eks.instanceCategories",
            data.get("instanceCategories"),
            ("c", "m", "r"),
            lambda v: (
                None if re.fullmatch(r"[a-z]", v) else "is not an instance category (c, m, r...)"
            ),
        ),
        service_cpu=r.integer("eks.serviceCpu", data.get("serviceCpu"), 256, 64, 4096),
        service_memory=r.integer("eks.serviceMemory", data.get("serviceMemory"), 512, 128, 8192),
        default_job_image=r.string(
            "eks.defaultJobImage",
            data.get("defaultJobImage"),
            DEFAULT_EKS_JOB_IMAGE,
            re.compile(r"^\S+$"),
            "an image reference has no spaces",
        ),
        public_access_cidrs=r.strings(
            "eks.publicAccessCidrs", data.get("publicAccessCidrs"), ("0.0.0.0/0",), _check_cidr
        ),
    )


def _check_cidr(value: str) -> str | None:
    try:
        ipaddress.IPv4Network(value)
    except ValueError:
        return "is not an IPv4 CIDR; use e.g. 203.0.113.0/24"
    return None


def _choices(
    r: _Reader, path: str, value: Any, default: tuple[str, ...], allowed: tuple[str, ...]
) -> tuple[str, ...]:
    return r.strings(
        path,
        value,
        default,
        lambda v: None if v in allowed else f"is not one of {' | '.join(allowed)}",
    )


def _parse_network(r: _Reader, raw: Any, mode: str, concurrency: int) -> NetworkSpec:
    data = r.obj("network", raw, NETWORK_KEYS)
    for key, key_mode in NETWORK_KEYS_BY_MODE.items():
        if key in data and key_mode != mode:
            r.warnings.append(f"network.{key} is ignored in {mode} mode (it is used by {key_mode})")
    zones = r.integer("network.availabilityZones", data.get("availabilityZones"), 2, 2, 6)
    public_task_ips = mode == "ecs" and r.boolean(
        "network.publicTaskIps", data.get("publicTaskIps"), False
    )
    vpc_id = data.get("vpcId")
    vpc_cidr = data.get("vpcCidr") or "10.42.0.0/16"
    layout = None
    private_ids = r.strings(
        "network.privateSubnetIds",
        data.get("privateSubnetIds"),
        (),
        _check_subnet_id,
    )
    public_ids = r.strings(
        "network.publicSubnetIds",
        data.get("publicSubnetIds"),
        (),
        _check_subnet_id,
    )
    if vpc_id is not None:
        if not isinstance(vpc_id, str) or not vpc_id.startswith("vpc-"):
            r.problem(
                f"network.vpcId: {json.dumps(vpc_id)} is not a VPC id; use vpc-... or unset it"
            )
        needed = 2 if mode == "eks" else 1
        if len(private_ids) < needed:
            r.problem(
                f"network.privateSubnetIds: an existing VPC needs at least {needed} private "
                f"subnet id(s) in {mode} mode (EKS needs two AZs); got {len(private_ids)}"
            )
        if public_task_ips and not public_ids:
            r.problem(
                "network.publicSubnetIds: publicTaskIps is true, so tasks need public subnets; "
                "list them or set publicTaskIps false"
            )
        for key in ("vpcCidr", "availabilityZones", "natGateways"):
            if key in data:
                r.warnings.append(f"network.{key} is ignored because network.vpcId is set")
        if data.get("vpcEndpoints") is True:
            r.warnings.append(
                "network.vpcEndpoints with an existing VPC creates the interface endpoints only; "
                "add the S3 gateway endpoint to your own route tables"
            )
    else:
        if private_ids or public_ids:
            r.problem(
                "network.privateSubnetIds/publicSubnetIds: subnet ids need network.vpcId; set "
                "vpcId to use an existing VPC, or remove them to create a new one"
            )
        layout = _plan_layout(r, vpc_cidr, zones, concurrency, public_task_ips)
    return NetworkSpec(
        vpc_cidr=vpc_cidr,
        availability_zones=zones,
        nat_gateways=r.choice(
            "network.natGateways", data.get("natGateways"), "single", NAT_STRATEGIES
        ),
        vpc_endpoints=r.boolean("network.vpcEndpoints", data.get("vpcEndpoints"), False),
        vpc_id=vpc_id if isinstance(vpc_id, str) else None,
        private_subnet_ids=private_ids,
        public_subnet_ids=public_ids,
        public_task_ips=public_task_ips,
        layout=layout,
    )


def _plan_layout(
    r: _Reader, cidr: Any, zones: int, concurrency: int, public_task_ips: bool
) -> SubnetLayout | None:
    try:
        network = ipaddress.IPv4Network(cidr)
    except (ValueError, TypeError):
        r.problem(f"network.vpcCidr: {json.dumps(cidr)} is not an IPv4 CIDR; use e.g. 10.42.0.0/16")
        return None
    if not 16 <= network.prefixlen <= 24:
        r.problem(f"network.vpcCidr: {cidr} has prefix /{network.prefixlen}; use /16 to /24")
        return None
    private_prefix = private_prefix_for(concurrency)
    layout = layout_subnets(cidr, zones, concurrency, private_prefix if public_task_ips else None)
    if layout is None:
        r.problem(
            f"network.vpcCidr: {cidr} cannot hold {zones} private subnets of /{private_prefix} "
            f"(one IP per task/pod for a total concurrency of {concurrency}, plus headroom) and "
            f"{zones} public subnets; use a larger block such as /{max(16, private_prefix - 2)} "
            "or lower the runners' concurrency"
        )
    return layout


def _report_duplicates(r: _Reader, path: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            r.problem(f"{path}: the name '{name}' is used more than once; names must be unique")
        seen.add(name)


def _parse_tokens(
    r: _Reader, raw: Any, runner_names: list[str], tokens_are_secret: bool
) -> tuple[tuple[str, RunnerToken], ...]:
    set_cmd = "pulumi config set --secret --path 'runnerTokens.{name}' glrt-..."
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        r.problem(
            "runnerTokens: expected an object of runner name -> glrt- token; set each with "
            + set_cmd.format(name="<runner>")
        )
        return ()
    if raw and not tokens_are_secret:
        r.problem(
            "runnerTokens: stored in plain text in the stack file; remove it "
            "(pulumi config rm runnerTokens) and set each token again with --secret: "
            + set_cmd.format(name="<runner>")
        )
    tokens = []
    for name in runner_names:
        value = raw.get(name)
        if not isinstance(value, str) or not value:
            r.problem(
                f"runnerTokens.{name}: missing; create the runner in GitLab (Settings > CI/CD > "
                f"Runners > New runner) and set its token: {set_cmd.format(name=name)}"
            )
            continue
        if not value.startswith(RUNNER_TOKEN_PREFIX):
            kind = (
                "a registration token (deprecated)"
                if value.startswith("GR1348941")
                else "not a runner token"
            )
            r.problem(
                f"runnerTokens.{name}: the value (starting '{value[:4]}...') is {kind}; this "
                f"program needs the runner authentication token starting '{RUNNER_TOKEN_PREFIX}' "
                f"that GitLab shows when you create a runner: {set_cmd.format(name=name)}"
            )
            continue
        tokens.append((name, RunnerToken(value)))
    for name in raw:
        if name not in runner_names:
            hint = _did_you_mean(name, runner_names, "remove it")
            r.problem(f"runnerTokens.{name}: no runner named '{name}'; {hint}")
    return tuple(tokens)


def parse_config(
    raw: Mapping[str, Any], tokens_are_secret: bool = True
) -> tuple[StackConfig, list[str]]:
    """Validate raw (JSON-decoded) project config; returns the typed config and warnings.

    Raises ConfigError listing every problem. Never echoes a token value.
    """
    r = _Reader()
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            hint = _did_you_mean(key, TOP_LEVEL_KEYS, f"known keys: {', '.join(TOP_LEVEL_KEYS)}")
            r.problem(f"{key}: unknown configuration key; {hint}")
    mode = raw.get("mode") or "ecs"
    if mode not in MODES:
        r.problem(
            f"mode: '{mode}' is not a topology this program builds; set "
            "`pulumi config set mode ecs` (ECS Fargate driver) or `pulumi config set mode eks` "
            "(EKS on Fargate with Karpenter)"
        )
        mode = "ecs"
    gitlab_url = raw.get("gitlabUrl") or "https://gitlab.com"
    parsed_url = urlparse(gitlab_url) if isinstance(gitlab_url, str) else None
    if parsed_url is None or parsed_url.scheme != "https" or not parsed_url.hostname:
        r.problem(
            f"gitlabUrl: {json.dumps(gitlab_url)} is not an https URL; runners send their token "
            "to it, so use https://, e.g. https://gitlab.com or https://gitlab.example.com"
        )
    retention = r.integer("logRetentionDays", raw.get("logRetentionDays"), 30, 1)
    if retention not in LOG_RETENTION_DAYS:
        r.problem(
            f"logRetentionDays: {retention} is not a CloudWatch retention period; use one of "
            f"{', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
        retention = 30
    for key, key_mode in (("ecs", "ecs"), ("eks", "eks")):
        if raw.get(key) and mode != key_mode:
            for sub in raw[key] if isinstance(raw[key], dict) else ():
                r.warnings.append(f"{key}.{sub} is set but ignored in {mode} mode")

    raw_runners = raw.get("runners")
    if raw_runners is None:
        raw_runners = [{"name": "fargate"}]
    if not isinstance(raw_runners, list) or not raw_runners:
        r.problem(
            "runners: expected a non-empty list of runners, e.g. [{name: fargate, concurrency: 10}]"
        )
        raw_runners = []
    parsed_runners = [_parse_runner(r, i, item, mode) for i, item in enumerate(raw_runners)]
    runners = [x for x in parsed_runners if x is not None]
    _report_duplicates(r, "runners", [x.name for x in runners])

    ecs = _parse_ecs(r, raw.get("ecs"))
    catalogue = [t.name for t in ecs.task_definitions]
    resolved = []
    for i, runner in enumerate(runners):
        if mode == "ecs" and runner.task_definition and runner.task_definition not in catalogue:
            r.problem(
                f"runners[{i}] ({runner.name}).taskDefinition: '{runner.task_definition}' is "
                f"not in ecs.taskDefinitions; use one of {', '.join(catalogue)}"
            )
        default_td = runner.task_definition or (catalogue[0] if catalogue else "")
        resolved.append(replace(runner, task_definition=default_td))
    eks = _parse_eks(r, raw.get("eks"))
    if mode == "eks":
        for i, runner in enumerate(resolved):
            build_memory = runner.memory - eks.helper_memory - EKS_FARGATE_POD_OVERHEAD_MIB
            if runner.cpu - eks.helper_cpu < 64 or build_memory < 128:
                r.problem(
                    f"runners[{i}] ({runner.name}): cpu {runner.cpu} / memory {runner.memory} "
                    f"leaves too little for the build container once the helper "
                    f"({eks.helper_cpu} CPU, {eks.helper_memory} MiB) and the 256 MiB Fargate "
                    "overhead are taken; use at least cpu 512 / memory 1024"
                )
    total = sum(x.concurrency for x in resolved)
    network = _parse_network(r, raw.get("network"), mode, total)
    tokens = _parse_tokens(
        r, raw.get("runnerTokens"), [x.name for x in resolved], tokens_are_secret
    )
    if r.problems:
        raise ConfigError(r.problems)
    config = StackConfig(
        mode=mode,
        gitlab_url=gitlab_url.rstrip("/"),
        log_retention_days=retention,
        runners=tuple(resolved),
        runner_tokens=tokens,
        network=network,
        ecs=ecs,
        eks=eks,
    )
    return config, r.warnings


def read_raw_config(get: Callable[[str], str | None]) -> dict[str, Any]:
    """Turn Pulumi's string config values into JSON values for parse_config."""
    raw: dict[str, Any] = {}
    for key in TOP_LEVEL_KEYS:
        value = get(key)
        if value is None:
            continue
        if key in OBJECT_KEYS:
            try:
                raw[key] = json.loads(value)
            except json.JSONDecodeError:
                raw[key] = value
        else:
            raw[key] = value
    return raw


def load_stack_config(warn: Callable[[str], None] | None = None) -> StackConfig:
    """Read this stack's config through the Pulumi runtime, warn, and validate."""
    from pulumi.runtime import config as runtime_config

    cfg = pulumi.Config()
    raw = read_raw_config(cfg.get)
    prefix = f"{PROJECT}:"
    # The language host loads PULUMI_CONFIG into the runtime; read both in case it did not.
    every_key = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    for full_key, value in every_key.items():
        if full_key.startswith(prefix) and full_key[len(prefix) :] not in TOP_LEVEL_KEYS:
            raw[full_key[len(prefix) :]] = value
    tokens_key = f"{prefix}runnerTokens"
    secret = (
        runtime_config.is_config_secret(tokens_key)
        or tokens_key in runtime_config.get_config_secret_keys_env()
    )
    config, warnings = parse_config(raw, tokens_are_secret=secret)
    for warning in warnings:
        (warn or pulumi.log.warn)(warning)
    return config
