"""The fleets as a Pulumi component package: `EcsRunnerFleet` and `EksRunnerFleet`.

Pulumi's component analyzer (pulumi/provider/experimental/analyzer.py) reads the schema from
these annotations: each `__init__` takes `args` typed by a TypedDict whose fields are plain
(they decide how many resources exist and what they are called) or `pulumi.Input[...]` (ids and
secrets that may be unknown at preview); a string right after a field is its description. This
module must not use `from __future__ import annotations` (the analyzer reads real types), and
uses no tuple, Union, Literal or bare list (unsupported there).

Each fleet maps its args onto the package's own args (components/domain/specs.py) with a pure
`*_spec` function and builds the same component the stack program builds, as its child. Integers
arrive as floats over the wire (pulumi/provider/experimental/component.py passes the decoded
struct values on as they are), so every int is converted here.
"""

from typing import NotRequired, TypedDict

import pulumi

from components.config.egress import BASE_NO_PROXY, EKS_NO_PROXY, PROXY_VARIABLES
from components.domain.specs import (
    KARPENTER_INSTALL,
    EcsFleetSpec,
    EcsSpec,
    EksFleetSpec,
    EksSpec,
    ExistingCluster,
    ObservabilitySpec,
    RunnerSpec,
    TaskDefinitionSpec,
)
from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs
from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs
from components.observability.catalogue import metrics_namespace
from components.shared.cache import BuildCache, BuildCacheArgs, bucket_prefix_for
from components.shared.network import VpcRefs


class RunnerArgs(TypedDict):
    name: str
    """The runner's name: 1-32 lowercase letters, digits or '-'. It names namespaces, log
    groups and resources, and keys `runnerTokens`."""
    tags: NotRequired[list[str]]
    """Job tags the runner is meant for (set on the runner in GitLab). Default: [name]."""
    concurrency: NotRequired[int]
    """Jobs this runner runs at once (1-2000). Default: 10."""
    lane: NotRequired[str]
    """Where its jobs run: "fargate" (on-demand, the default) or "spot" (ECS: Fargate Spot; EKS:
    EC2 Spot nodes from Karpenter); EKS only: "privileged" (Docker-in-Docker on EC2 nodes)."""
    requestConcurrency: NotRequired[int]
    """Concurrent job requests to GitLab (gitlab-runner `request_concurrency`). Default: 1."""
    taskDefinition: NotRequired[str]
    """ECS: the catalogue entry a job without FARGATE_TASK_DEFINITION uses. Default: the
    first entry of `taskDefinitions`."""
    architecture: NotRequired[str]
    """EKS: "amd64" (the default) or "arm64" (Graviton nodes; EC2 lanes only)."""
    cpu: NotRequired[int]
    """EKS: the job pod's CPU units (1024 = 1 vCPU); on the fargate lane with `memory` a
    Fargate size. Default: 1024."""
    memory: NotRequired[int]
    """EKS: the job pod's memory in MiB. Default: 2048."""


class TaskDefinitionArgs(TypedDict):
    name: str
    """The entry's name (1-32 lowercase letters, digits or '-'): jobs pick the task family
    `<namePrefix>-<name>` with FARGATE_TASK_DEFINITION."""
    image: str
    """The job image: it must run sshd and hold gitlab-runner in a container named
    `ci-coordinator` (GitLab's Fargate driver)."""
    cpu: NotRequired[int]
    """Fargate CPU units (with `memory` a valid Fargate size). Default: 1024."""
    memory: NotRequired[int]
    """Fargate memory in MiB. Default: 2048."""
    architecture: NotRequired[str]
    """"x86_64" (the default) or "arm64"."""
    ephemeralStorageGiB: NotRequired[int]
    """Task storage in GiB, 20-200. Default: 20."""


# The two args types spell out their shared fields: the analyzer reads a field's description
# from the source of the class that declares it, so inherited fields would lose theirs.
class EcsRunnerFleetArgs(TypedDict):
    namePrefix: str
    """Physical names (clusters, task families, log groups, roles' path) start with it: unique
    per account and region, e.g. "ci-runners"."""
    gitlabUrl: NotRequired[str]
    """HTTPS URL of the GitLab instance the runners serve. Default: https://gitlab.com."""
    runners: list[RunnerArgs]
    """The runners, each with its own GitLab runner token in `runnerTokens`."""
    runnerTokens: pulumi.Input[dict[str, str]]
    """Runner name -> glrt- authentication token (from GitLab, or a gitlab.UserRunner's
    token). Pass it as a secret: it is kept secret here either way."""
    vpcId: pulumi.Input[str]
    """The VPC the fleet runs in."""
    privateSubnetIds: pulumi.Input[list[str]]
    """Private subnets of that VPC with egress to GitLab, the registries and the AWS APIs
    (NAT or VPC endpoints), one per zone the fleet should use."""
    buildCache: NotRequired[bool]
    """Create an S3 bucket for `cache:` in pipelines (the managers presign its URLs).
    Default: true."""
    observability: NotRequired[bool]
    """Scrape the runners' metrics into CloudWatch. Default: true."""
    logRetentionDays: NotRequired[int]
    """CloudWatch Logs retention in days (0: forever). Default: 30."""
    tags: NotRequired[dict[str, str]]
    """AWS tags for every resource the fleet creates."""
    caBundle: NotRequired[str]
    """PEM certificates of the CA that signed the GitLab server's certificate (a private CA):
    the managers, helpers and jobs trust it."""
    httpProxy: NotRequired[str]
    """HTTP(S) proxy for everything that leaves the VPC (http(s)://host[:port], no user or
    password): managers, helpers and jobs get HTTP_PROXY, HTTPS_PROXY and NO_PROXY."""
    noProxy: NotRequired[list[str]]
    """More destinations that bypass `httpProxy` (host names, .domain suffixes, IPs or CIDR
    blocks). Always bypassed: localhost, 127.0.0.1, .amazonaws.com and the EC2 and ECS
    metadata addresses (EKS: also .svc, .cluster.local and the service ranges)."""
    taskDefinitions: NotRequired[list[TaskDefinitionArgs]]
    """The job task definitions jobs choose from. Default: one Debian entry."""
    maxJobsPerManager: NotRequired[int]
    """Jobs per runner manager (one EC2 Auto Scaling group each). Default: 200."""
    runnerVersion: NotRequired[str]
    """gitlab-runner release on the managers, e.g. "18.9.0"."""
    jobTimeoutSeconds: NotRequired[int]
    """The longest job: what a stopping manager waits for. Default: 3600."""


class ExistingClusterArgs(TypedDict):
    name: str
    """The EKS cluster the fleet joins, as `aws eks list-clusters` shows it (`clusterName`
    must be the same): the fleet adds its Fargate profiles, runners and Karpenter lanes to it
    and creates no cluster (docs/bring-your-own.md)."""
    karpenter: NotRequired[str]
    """"install" (the default: the fleet installs Karpenter for its EC2 lanes) or "existing"
    (the cluster runs Karpenter v1: only NodePools, EC2NodeClasses and node roles are added)."""


class EksRunnerFleetArgs(TypedDict):
    namePrefix: str
    """Physical names (clusters, task families, log groups, roles' path) start with it: unique
    per account and region, e.g. "ci-runners"."""
    gitlabUrl: NotRequired[str]
    """HTTPS URL of the GitLab instance the runners serve. Default: https://gitlab.com."""
    runners: list[RunnerArgs]
    """The runners, each with its own GitLab runner token in `runnerTokens`."""
    runnerTokens: pulumi.Input[dict[str, str]]
    """Runner name -> glrt- authentication token (from GitLab, or a gitlab.UserRunner's
    token). Pass it as a secret: it is kept secret here either way."""
    vpcId: pulumi.Input[str]
    """The VPC the fleet runs in."""
    privateSubnetIds: pulumi.Input[list[str]]
    """Private subnets of that VPC with egress to GitLab, the registries and the AWS APIs
    (NAT or VPC endpoints), one per zone the fleet should use."""
    buildCache: NotRequired[bool]
    """Create an S3 bucket for `cache:` in pipelines (the managers presign its URLs).
    Default: true."""
    observability: NotRequired[bool]
    """Scrape the runners' metrics into CloudWatch. Default: true."""
    logRetentionDays: NotRequired[int]
    """CloudWatch Logs retention in days (0: forever). Default: 30."""
    tags: NotRequired[dict[str, str]]
    """AWS tags for every resource the fleet creates."""
    caBundle: NotRequired[str]
    """PEM certificates of the CA that signed the GitLab server's certificate (a private CA):
    the managers, helpers and jobs trust it."""
    httpProxy: NotRequired[str]
    """HTTP(S) proxy for everything that leaves the VPC (http(s)://host[:port], no user or
    password): managers, helpers and jobs get HTTP_PROXY, HTTPS_PROXY and NO_PROXY."""
    noProxy: NotRequired[list[str]]
    """More destinations that bypass `httpProxy` (host names, .domain suffixes, IPs or CIDR
    blocks). Always bypassed: localhost, 127.0.0.1, .amazonaws.com and the EC2 and ECS
    metadata addresses (EKS: also .svc, .cluster.local and the service ranges)."""
    clusterName: str
    """The EKS cluster's name (also Karpenter's discovery tag)."""
    kubernetesVersion: NotRequired[str]
    """EKS Kubernetes version, e.g. "1.35"."""
    adminRoleArns: NotRequired[list[str]]
    """IAM roles given cluster-admin access entries (besides the deployer)."""
    jobTimeoutSeconds: NotRequired[int]
    """The longest job: what a stopping manager or draining node waits for. Default: 3600."""
    existingCluster: NotRequired[ExistingClusterArgs]
    """An EKS cluster you already run, to join instead of creating one; `vpcId` and
    `privateSubnetIds` are then its VPC and subnets."""
    instanceCategories: NotRequired[list[str]]
    """EC2 instance categories Karpenter may launch for the spot and privileged lanes: one
    or more single lowercase letters. Default: ["c", "m", "r"]."""
    spotCpuLimit: NotRequired[int]
    """vCPU limit of the spot lane's NodePool (the brake on its EC2 bill). Default: 64."""
    privilegedCpuLimit: NotRequired[int]
    """vCPU limit of the privileged lane's NodePool. Default: 32."""


def _int(value: object) -> int:
    """Numbers arrive as floats over the wire; an int-valued float is that int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected a whole number, got {value!r}")


def _ints(raw: dict, keys: dict[str, str]) -> dict[str, int]:
    return {field: _int(raw[key]) for key, field in keys.items() if raw.get(key) is not None}


RUNNER_INTS = {
    "concurrency": "concurrency",
    "requestConcurrency": "request_concurrency",
    "cpu": "cpu",
    "memory": "memory",
}


def runner_spec(raw: RunnerArgs) -> RunnerSpec:
    strings = {
        f: raw[k]  # type: ignore[literal-required]
        for k, f in (("lane", "lane"), ("taskDefinition", "task_definition"))
        if raw.get(k) is not None
    }
    if raw.get("architecture") is not None:
        strings["architecture"] = raw["architecture"]
    return RunnerSpec(
        name=raw["name"],
        tags=tuple(raw.get("tags") or ()),
        **_ints(dict(raw), RUNNER_INTS),
        **strings,
    )


def task_definition_spec(raw: TaskDefinitionArgs) -> TaskDefinitionSpec:
    ints = _ints(
        dict(raw),
        {"cpu": "cpu", "memory": "memory", "ephemeralStorageGiB": "ephemeral_storage_gib"},
    )
    arch = {"architecture": raw["architecture"]} if raw.get("architecture") else {}
    return TaskDefinitionSpec(name=raw["name"], image=raw["image"], **ints, **arch)


FleetArgs = EcsRunnerFleetArgs | EksRunnerFleetArgs


def proxy_environment(
    proxy: str | None, no_proxy: list[str] | None, eks: bool
) -> tuple[tuple[str, str], ...]:
    """HTTP(S)_PROXY and NO_PROXY in both cases, as the stack program's egress.py sets them
    for an existing VPC (its CIDR is not known here: put it in `noProxy`)."""
    if not proxy:
        return ()
    entries = [*BASE_NO_PROXY, *(EKS_NO_PROXY if eks else ()), *(no_proxy or ())]
    upper = tuple(
        zip(PROXY_VARIABLES, (proxy, proxy, ",".join(dict.fromkeys(entries))), strict=True)
    )
    return upper + tuple((name.lower(), value) for name, value in upper)


def _common(args: FleetArgs, eks: bool) -> dict:
    return {
        "gitlab_url": args.get("gitlabUrl") or "https://gitlab.com",
        "runners": tuple(runner_spec(r) for r in args["runners"]),
        "log_retention_days": _int(args.get("logRetentionDays", 30)),
        "observability": ObservabilitySpec(enabled=bool(args.get("observability", True))),
        "ca_bundle": args.get("caBundle") or None,
        "proxy_environment": proxy_environment(args.get("httpProxy"), args.get("noProxy"), eks=eks),
    }


def ecs_fleet_spec(args: EcsRunnerFleetArgs) -> EcsFleetSpec:
    """The package's ECS fleet settings for these args (pure: validated before construct)."""
    ecs = EcsSpec()
    catalogue = tuple(task_definition_spec(t) for t in args.get("taskDefinitions") or ())
    overrides: dict = {"task_definitions": catalogue} if catalogue else {}
    overrides.update(
        _ints(
            dict(args),
            {
                "maxJobsPerManager": "max_jobs_per_manager",
                "jobTimeoutSeconds": "job_timeout_seconds",
            },
        )
    )
    if args.get("runnerVersion"):
        overrides["runner_version"] = args["runnerVersion"]
    return EcsFleetSpec(ecs=EcsSpec(**{**ecs.__dict__, **overrides}), **_common(args, eks=False))


def eks_fleet_spec(args: EksRunnerFleetArgs) -> EksFleetSpec:
    """The package's EKS fleet settings for these args (pure: validated before construct)."""
    overrides: dict = _ints(
        dict(args),
        {
            "jobTimeoutSeconds": "job_timeout_seconds",
            "spotCpuLimit": "spot_cpu_limit",
            "privilegedCpuLimit": "privileged_cpu_limit",
        },
    )
    if args.get("instanceCategories"):
        overrides["instance_categories"] = tuple(args["instanceCategories"])
    if args.get("kubernetesVersion"):
        overrides["kubernetes_version"] = args["kubernetesVersion"]
    if args.get("adminRoleArns"):
        overrides["admin_role_arns"] = tuple(args["adminRoleArns"])
    return EksFleetSpec(
        eks=EksSpec(**{**EksSpec().__dict__, **overrides}), **_common(args, eks=True)
    )


def existing_cluster(args: EksRunnerFleetArgs) -> ExistingCluster | None:
    """The cluster the fleet joins, or None for a cluster of its own."""
    raw = args.get("existingCluster")
    if raw is None:
        return None
    return ExistingCluster(name=raw["name"], karpenter=raw.get("karpenter") or KARPENTER_INSTALL)


def _tokens(args: FleetArgs, runners: tuple[RunnerSpec, ...]) -> dict[str, pulumi.Output[str]]:
    """One secret Output per runner, from the map (secret whatever the caller passed)."""
    every = pulumi.Output.secret(args["runnerTokens"])
    return {r.name: every.apply(lambda t, n=r.name: t[n]) for r in runners}


def _cache(name: str, args: FleetArgs, parent: pulumi.Resource) -> BuildCache | None:
    if not args.get("buildCache", True):
        return None
    return BuildCache(
        f"{name}-cache",
        BuildCacheArgs(
            expiration_days=14,
            tags=dict(args.get("tags") or {}),
            bucket_prefix=bucket_prefix_for(args["namePrefix"]),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _network(args: FleetArgs) -> VpcRefs:
    return VpcRefs(vpc_id=args["vpcId"], private_subnet_ids=args["privateSubnetIds"])


class EcsRunnerFleet(pulumi.ComponentResource):
    """GitLab runner managers on EC2 (custom executor + GitLab's AWS Fargate driver) that run
    every CI job as an ECS Fargate task, with a task definition catalogue, a task reaper and,
    by default, an S3 build cache and CloudWatch metrics."""

    clusterName: pulumi.Output[str]
    """The on-demand ECS cluster."""
    taskDefinitionFamilies: pulumi.Output[dict[str, str]]
    """Catalogue entry -> task family: what jobs set in FARGATE_TASK_DEFINITION."""
    managerAutoScalingGroupNames: pulumi.Output[list[str]]
    """One Auto Scaling group per runner manager."""
    gitlabCiExample: pulumi.Output[str]
    """A .gitlab-ci.yml that exercises the runners."""

    def __init__(
        self, name: str, args: EcsRunnerFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gitlab-fargate-runners:index:EcsRunnerFleet", name, {}, opts)
        spec = ecs_fleet_spec(args)
        cache = _cache(name, args, self)
        fleet = EcsFargateRunner(
            f"{name}-ecs",
            EcsFargateRunnerArgs(
                fleet=spec,
                network=_network(args),
                name_prefix=args["namePrefix"],
                metrics_namespace=metrics_namespace(args["namePrefix"]),
                tokens=_tokens(args, spec.runners),
                tags=dict(args.get("tags") or {}),
                cache=cache.bucket() if cache else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.clusterName = fleet.clusters["fargate"].name
        self.taskDefinitionFamilies = pulumi.Output.all(
            **{n: t.family for n, t in fleet.task_definitions.items()}
        )
        self.managerAutoScalingGroupNames = pulumi.Output.all(
            *[g.name for g in fleet.managers.groups]
        )
        self.gitlabCiExample = pulumi.Output.from_input(fleet.stack_outputs["gitlabCiExample"])
        self.register_outputs(
            {
                "clusterName": self.clusterName,
                "taskDefinitionFamilies": self.taskDefinitionFamilies,
                "managerAutoScalingGroupNames": self.managerAutoScalingGroupNames,
                "gitlabCiExample": self.gitlabCiExample,
            }
        )


class EksRunnerFleet(pulumi.ComponentResource):
    """A Fargate-backed EKS cluster with Karpenter and one gitlab-runner Helm release per
    runner (Kubernetes executor: jobs' `image:` and `services:` are honoured); EC2 lanes for
    spot, privileged (Docker-in-Docker) and arm64 jobs."""

    clusterName: pulumi.Output[str]
    """The EKS cluster."""
    kubeconfig: pulumi.Output[str]
    """A kubeconfig for the cluster (secret)."""
    gitlabCiExample: pulumi.Output[str]
    """A .gitlab-ci.yml that exercises the runners."""

    def __init__(
        self, name: str, args: EksRunnerFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gitlab-fargate-runners:index:EksRunnerFleet", name, {}, opts)
        spec = eks_fleet_spec(args)
        cache = _cache(name, args, self)
        fleet = EksFargateRunner(
            f"{name}-eks",
            EksFargateRunnerArgs(
                fleet=spec,
                network=_network(args),
                cluster_name=args["clusterName"],
                name_prefix=args["namePrefix"],
                metrics_namespace=metrics_namespace(args["namePrefix"]),
                tokens=_tokens(args, spec.runners),
                tags=dict(args.get("tags") or {}),
                cache=cache.bucket() if cache else None,
                existing_cluster=existing_cluster(args),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.clusterName = pulumi.Output.from_input(args["clusterName"])
        self.kubeconfig = pulumi.Output.secret(fleet.stack_outputs["kubeconfig"])
        self.gitlabCiExample = pulumi.Output.from_input(fleet.stack_outputs["gitlabCiExample"])
        self.register_outputs(
            {
                "clusterName": self.clusterName,
                "kubeconfig": self.kubeconfig,
                "gitlabCiExample": self.gitlabCiExample,
            }
        )
