"""Preflight at preview: what will stop this stack from running its configured concurrency.

The seeds' experiment hung beyond 400 jobs without saying why. Before anything is deployed,
this compares what the runners need at full concurrency with the account's vCPU quotas
(Fargate on-demand and Spot, EC2 on-demand and Spot for Karpenter lanes), the Karpenter
NodePool limits, and the free IPs of an existing VPC's subnets, and says which one binds.

The `*_needs` / `*_findings` functions are pure (tested directly and reused by the capacity
model); `run_preflight` reads the quotas and subnets through invokes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import pulumi_aws as aws

from components.config import ConfigError, StackConfig
from components.domain.eks_sizing import system_fargate_pods
from components.domain.fargate_sizes import FARGATE_SIZES
from components.domain.manager_sizing import instance_vcpus
from components.domain.subnets import capacity_shortfall, ecs_load_per_subnet, jobs_for_free_ips
from components.domain.versions import ami_parameter
from components.ecs.sizing import plan_shards, shard_instance_types
from components.existing_network import check_existing_network, read_subnets
from components.preflight_cluster import cluster_problems, read_cluster

FARGATE_ON_DEMAND = "L-3032A538"
FARGATE_SPOT = "L-36FBB829"
EC2_ON_DEMAND = "L-1216C47A"
EC2_SPOT = "L-34B43A08"
# quota code -> (service code, name in the Service Quotas console)
QUOTAS: dict[str, tuple[str, str]] = {
    FARGATE_ON_DEMAND: ("fargate", "Fargate On-Demand vCPU resource count"),
    FARGATE_SPOT: ("fargate", "Fargate Spot vCPU resource count"),
    EC2_ON_DEMAND: ("ec2", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
    EC2_SPOT: ("ec2", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
}
# What AWS applies to a new account (Service Quotas console "AWS default quota value"): Fargate
# 6 vCPU (FACTS.md 6) and EC2 standard 5 vCPU. Accounts differ, so preflight reads the applied
# values; the offline plan answers with these, and the capacity estimate starts from them.
NEW_ACCOUNT_QUOTAS = {FARGATE_ON_DEMAND: 6.0, FARGATE_SPOT: 6.0, EC2_ON_DEMAND: 5.0, EC2_SPOT: 5.0}
ECS_LANE_QUOTA = {"fargate": FARGATE_ON_DEMAND, "spot": FARGATE_SPOT}
EKS_LANE_QUOTA = {"fargate": FARGATE_ON_DEMAND, "spot": EC2_SPOT, "privileged": EC2_ON_DEMAND}


FAIL_ON_QUOTA = "preflight.failOnQuota"


class QuotaError(ConfigError):
    """Quotas below the configured concurrency with preflight.failOnQuota. A ConfigError, so
    `pulumi preview` prints it without a traceback and the offline plan exits 2 with it. Each
    problem starts with the key that made the finding an error, also where the plan lists it
    among the stack file's own problems."""

    def __init__(self, findings: list[str]):
        super().__init__([f"{FAIL_ON_QUOTA}: {f}" for f in findings])
        lines = "\n".join(f"  - {p}" for p in self.problems)
        self.args = (
            f"preflight: quotas too low (set {FAIL_ON_QUOTA} false to deploy with warnings "
            f"instead):\n{lines}",
        )


def console_link(quota_code: str) -> str:
    service = QUOTAS[quota_code][0]
    return (
        f"https://console.aws.amazon.com/servicequotas/home/services/{service}/quotas/{quota_code}"
    )


def fargate_vcpu(cpu_units: int) -> float:
    """vCPU of the smallest Fargate size holding `cpu_units` (Fargate rounds pods up)."""
    row = min((c for c in FARGATE_SIZES if c >= cpu_units), default=max(FARGATE_SIZES))
    return row / 1024


@dataclass
class QuotaNeed:
    """vCPU one quota must allow at full concurrency, and how it adds up."""

    quota_code: str
    vcpus: float = 0.0
    parts: list[str] | None = None
    # EKS: the need if every job also runs one `services:` container (eks.serviceCpu; the
    # privileged lane's size already holds one)
    vcpus_with_services: float = 0.0

    def add(self, vcpus: float, part: str, with_services: float | None = None) -> None:
        self.vcpus += vcpus
        self.vcpus_with_services += vcpus if with_services is None else with_services
        self.parts = [*(self.parts or []), part]


def _system_pods_named(pods: list[tuple[str, float, float]]) -> str:
    """What the always-on Fargate pods are, as counted: each kind once, with its count."""
    kinds = {"karpenter": "Karpenter", "metrics collector": "metrics collector"}
    names = [what for what, _, _ in pods]
    coredns = names.count("coredns")
    managers = sum(1 for what in names if what.startswith("manager "))
    parts = [kinds[what] for what in names if what in kinds]
    parts.append(f"{coredns} x CoreDNS")
    if managers:
        parts.append(f"{managers} runner manager{'s' if managers > 1 else ''}")
    return ", ".join(parts)


def _add_managers(need: QuotaNeed, config: StackConfig) -> None:
    """ECS runner managers are On-Demand EC2 instances: ceil(total / ecs.maxJobsPerManager) of
    them (ecs/sizing.py), each counting its type's vCPUs against L-1216C47A."""
    shards = plan_shards(config.runners, config.ecs.max_jobs_per_manager)
    types = shard_instance_types(shards, config.ecs.manager_instance_type)
    for kind in sorted(set(types)):
        count = types.count(kind)
        vcpus = instance_vcpus(kind)
        if vcpus is None:
            need.add(0, f"{count} x {kind} runner managers (vCPU unknown, not counted)")
            continue
        need.add(
            count * vcpus,
            f"{count} x {kind} runner managers ({vcpus} vCPU each; ecs.maxJobsPerManager "
            f"{config.ecs.max_jobs_per_manager})",
        )


def quota_needs(config: StackConfig) -> dict[str, QuotaNeed]:
    """Per quota code, the vCPU the configured runners need when every job slot is busy."""
    needs: dict[str, QuotaNeed] = {}

    def need(code: str) -> QuotaNeed:
        return needs.setdefault(code, QuotaNeed(code))

    if config.mode == "ecs":
        sizes = {t.name: t.cpu for t in config.ecs.task_definitions}
        for runner in config.runners:
            vcpu = sizes[runner.task_definition] / 1024
            need(ECS_LANE_QUOTA[runner.lane]).add(
                runner.concurrency * vcpu,
                f"{runner.name}: {runner.concurrency} x {vcpu:g} vCPU ({runner.task_definition})",
            )
        _add_managers(need(EC2_ON_DEMAND), config)
        return needs
    eks = config.eks
    system = need(FARGATE_ON_DEMAND)
    pods = system_fargate_pods(
        {r.name: r.concurrency for r in config.runners},
        eks.manager_placement == "fargate",
        metrics_collector=config.observability.enabled,
    )
    vcpu = sum(v for _, v, _ in pods)
    system.add(vcpu, f"{_system_pods_named(pods)} on Fargate: {vcpu:g} vCPU")
    for runner in config.runners:
        pod = fargate_vcpu(runner.cpu) if runner.lane == "fargate" else runner.cpu / 1024
        if runner.lane == "fargate":
            with_service = fargate_vcpu(runner.cpu + eks.service_cpu)
        elif runner.lane == "privileged":
            with_service = pod  # its size already holds the dind service (eks/job_size.py)
        else:
            with_service = (runner.cpu + eks.service_cpu) / 1024
        need(EKS_LANE_QUOTA[runner.lane]).add(
            runner.concurrency * pod,
            f"{runner.name}: {runner.concurrency} x {pod:g} vCPU pods (helper included)",
            runner.concurrency * with_service,
        )
    return needs


def nodepool_findings(config: StackConfig) -> list[str]:
    """EKS EC2 lanes whose Karpenter NodePool limit is below what their runners need."""
    if config.mode != "eks":
        return []
    limits = {"spot": ("spotCpuLimit", config.eks.spot_cpu_limit)}
    limits["privileged"] = ("privilegedCpuLimit", config.eks.privileged_cpu_limit)
    findings = []
    for lane, (key, limit) in limits.items():
        vcpus = sum(r.concurrency * r.cpu / 1024 for r in config.runners if r.lane == lane)
        if vcpus > limit:
            findings.append(
                f"eks.{key} is {limit} vCPU but the {lane} lane's runners need {vcpus:g} vCPU "
                f"at full concurrency: Karpenter stops adding nodes at the limit and the other "
                f"jobs stay Pending; raise eks.{key} to {math.ceil(vcpus)} (and the EC2 quota "
                "with it) or lower those runners' concurrency"
            )
    return findings


def quota_finding(need: QuotaNeed, current: float) -> str | None:
    """The warning for a quota below the need, or None."""
    if need.vcpus <= current:
        return None
    service, name = QUOTAS[need.quota_code]
    services = ""
    if need.vcpus_with_services > need.vcpus:
        services = f" ({need.vcpus_with_services:g} if every job runs one `services:` container)"
    return (
        f"quota {need.quota_code} ({service}: {name}) is {current:g} vCPU but the runners need "
        f"{need.vcpus:g} vCPU at full concurrency{services}: {'; '.join(need.parts or [])}. "
        f"Jobs beyond the quota fail to start. Request {math.ceil(need.vcpus)} at "
        f"{console_link(need.quota_code)} (or lower concurrency)"
    )


def task_subnets(config: StackConfig) -> tuple[str, ...]:
    """The subnets job tasks/pods take their IPs from."""
    return config.network.private_subnet_ids


def subnet_findings(config: StackConfig, free_ips: Mapping[str, int]) -> list[str]:
    """Existing-VPC subnets (id -> free IPs now) that cannot hold the configured jobs."""
    subnets = [s for s in task_subnets(config) if s in free_ips]
    if not subnets:
        return []
    concurrencies = [r.concurrency for r in config.runners]
    fits = [jobs_for_free_ips(free_ips[s]) for s in subnets]
    cap = config.ecs.max_jobs_per_manager
    shortfall = capacity_shortfall(config.mode, concurrencies, fits, cap)
    if shortfall is None:
        return []
    needed, holds = shortfall
    fix = "list more or larger subnets in network.privateSubnetIds, or lower concurrency"
    if config.mode == "ecs":
        load = ecs_load_per_subnet(concurrencies, len(subnets), cap)
        subnet = next(s for s, n, f in zip(subnets, load, fits, strict=True) if n > f)
        where = f"subnet {subnet} ({free_ips[subnet]} free IPs)"
        placed = (
            f"the managers place {needed} jobs in it (one manager: runner r in subnet r mod n; "
            "several: manager i in subnet i mod n)"
        )
        fix += (
            f" or ecs.maxJobsPerManager ({cap}: more managers spread each runner over more subnets)"
        )
    else:
        where = f"subnets {', '.join(subnets)} ({sum(free_ips[s] for s in subnets)} free IPs)"
        placed = f"the runners need {needed}"
    return [
        f"network: {where} can hold {holds} jobs (one IP per task/pod, with headroom) but "
        f"{placed}: jobs beyond that fail to get an IP; {fix}"
    ]


def _quota_value(code: str) -> float | str:
    """The applied quota, or why it could not be read."""
    service, _ = QUOTAS[code]
    try:
        return aws.servicequotas.get_service_quota(service_code=service, quota_code=code).value
    except Exception as error:
        # Any failure (no permission, quota unknown in this region): a read-only check must
        # not stop the preview, so it becomes a warning.
        return _first_line(error)


# The managed addons the cluster installs at the newest version EKS offers for its Kubernetes
# version: vpc-cni here (components/eks/cluster.py), coredns and kube-proxy in pulumi-eks.
CLUSTER_ADDONS = ("vpc-cni", "coredns", "kube-proxy")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def node_architectures(config: StackConfig) -> list[str]:
    """The architectures Karpenter launches nodes of: the EC2 lanes', amd64 for EC2 managers."""
    arches = {r.architecture for r in config.runners if r.lane != "fargate"}
    if config.eks.manager_placement != "fargate":
        arches.add("amd64")
    return sorted(arches)


def version_problems(config: StackConfig, cluster_version: str | None = None) -> list[str]:
    """What EKS and SSM say about the configured versions: an addon EKS offers no version of
    for the Kubernetes version (a new minor not yet on EKS in this region), an AMI alias whose
    SSM parameter does not exist (Karpenter would launch no node, al2023.go). On a cluster the
    fleet joins (`cluster_version`: its version) the addons are its owner's."""
    if config.mode != "eks":
        return []
    eks = config.eks
    if cluster_version is not None:
        eks = replace(eks, kubernetes_version=cluster_version)
    key = f"eks.kubernetesVersion: '{eks.kubernetes_version}'"
    problems = []
    for addon in CLUSTER_ADDONS if cluster_version is None else ():
        try:
            aws.eks.get_addon_version(
                addon_name=addon, kubernetes_version=eks.kubernetes_version, most_recent=True
            )
        except Exception as error:
            problems.append(
                f"{key}: EKS offers no version of the {addon} addon for it ({_first_line(error)}); "
                "use a version EKS offers in this region (aws eks describe-addon-versions "
                f"--addon-name {addon} --kubernetes-version {eks.kubernetes_version})"
            )
            break
    for arch in node_architectures(config):
        name = ami_parameter(eks.node_ami_alias, eks.kubernetes_version, arch)
        if name is None:
            continue
        try:
            aws.ssm.get_parameter(name=name)
        except Exception as error:
            problems.append(
                f"eks.nodeAmiAlias: '{eks.node_ami_alias}' has no {arch} AMI for Kubernetes "
                f"{eks.kubernetes_version}: SSM parameter {name} ({_first_line(error)}); Karpenter "
                "would launch no node; bump the alias with the version (aws ssm "
                f"get-parameters-by-path --path {name.rsplit('/', 2)[0]})"
            )
    return problems


def existing_cluster_version(config: StackConfig, warn: Callable[[str], None]) -> str | None:
    """eks.existingCluster's Kubernetes version, once preflight_cluster finds nothing that
    stops the fleet from joining it (else a ConfigError); None without one."""
    name = config.eks.existing_cluster
    if config.mode != "eks" or name is None:
        return None
    facts = read_cluster(name)
    if isinstance(facts, str):
        raise ConfigError(
            [
                f"eks.existingCluster: '{name}' could not be read ({facts}); check the name "
                "(aws eks list-clusters) and aws:region, and allow eks:DescribeCluster "
                "(docs/bring-your-own.md)"
            ]
        )
    problems, warnings = cluster_problems(config, facts, dt.date.today())
    if problems:
        raise ConfigError(problems, warnings)
    for warning in warnings:
        warn(warning)
    return facts.version


def run_preflight(config: StackConfig, warn: Callable[[str], None]) -> None:
    """Check the cluster the fleet joins and what AWS says about the versions (a
    ConfigError), read quotas and subnet free IPs, warn about each shortfall (or fail on
    quota ones)."""
    problems = version_problems(config, existing_cluster_version(config, warn))
    if problems:
        raise ConfigError(problems)
    for finding in nodepool_findings(config):
        warn(finding)
    if config.network.uses_existing_vpc:
        facts = read_subnets(config)
        check_existing_network(config, warn, facts)
        free = {s: facts[s].free_ips for s in task_subnets(config)}
        for finding in subnet_findings(config, free):
            warn(finding)
    if not config.preflight.check_quotas:
        return
    quota_problems = []
    for code, need in sorted(quota_needs(config).items()):
        current = _quota_value(code)
        if isinstance(current, str):
            warn(
                f"could not read quota {code} ({current}); allow servicequotas:GetServiceQuota "
                "or set preflight.checkQuotas false"
            )
            continue
        finding = quota_finding(need, current)
        if finding:
            quota_problems.append(finding)
    if quota_problems and config.preflight.fail_on_quota:
        raise QuotaError(quota_problems)
    for problem in quota_problems:
        warn(problem)
