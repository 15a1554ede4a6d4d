"""Preflight at preview: what will stop this stack from running its configured concurrency.

The seeds' experiment hung beyond 400 jobs without saying why. Before anything is deployed,
this compares what the runners need at full concurrency with the account's vCPU quotas
(Fargate on-demand and Spot, EC2 on-demand and Spot for Karpenter lanes), the Karpenter
NodePool limits, and the free IPs of an existing VPC's subnets, and says which one binds.

The `*_needs` / `*_findings` functions are pure (tested directly and reused by the capacity
model); `run_preflight` reads the quotas and subnets through invokes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi_aws as aws

from components.config import ConfigError, StackConfig
from components.domain.eks_sizing import system_fargate_pods
from components.domain.fargate_sizes import FARGATE_SIZES
from components.domain.subnets import capacity_shortfall, ecs_load_per_subnet, jobs_for_free_ips

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
    if config.mode == "ecs":
        load = ecs_load_per_subnet(concurrencies, len(subnets), cap)
        subnet = next(s for s, n, f in zip(subnets, load, fits, strict=True) if n > f)
        where = f"subnet {subnet} ({free_ips[subnet]} free IPs)"
    else:
        where = f"subnets {', '.join(subnets)} ({sum(free_ips[s] for s in subnets)} free IPs)"
    return [
        f"network: {where} can hold {holds} jobs (one IP per task/pod, with headroom) but the "
        f"runners need {needed}: jobs beyond that fail to get an IP; list more or larger "
        "subnets in network.privateSubnetIds, or lower concurrency"
    ]


def _quota_value(code: str) -> float | str:
    """The applied quota, or why it could not be read."""
    service, _ = QUOTAS[code]
    try:
        return aws.servicequotas.get_service_quota(service_code=service, quota_code=code).value
    except Exception as error:
        # Any failure (no permission, quota unknown in this region): a read-only check must
        # not stop the preview, so it becomes a warning.
        return str(error).splitlines()[0] if str(error) else type(error).__name__


def run_preflight(config: StackConfig, warn: Callable[[str], None]) -> None:
    """Read quotas and subnet free IPs, warn about each shortfall (or fail on quota ones)."""
    for finding in nodepool_findings(config):
        warn(finding)
    if config.network.uses_existing_vpc:
        free = {
            s: aws.ec2.get_subnet(id=s).available_ip_address_count for s in task_subnets(config)
        }
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
