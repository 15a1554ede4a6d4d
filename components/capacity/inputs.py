"""The capacity model's inputs from a parsed stack configuration: runners, limits, always-on
parts. Knows the project's config types so that model.py does not."""

from __future__ import annotations

from dataclasses import dataclass

from components.capacity import model, prices
from components.config import StackConfig
from components.domain.eks_sizing import system_fargate_pods
from components.domain.manager_sizing import manager_shares
from components.domain.subnets import jobs_per_subnet
from components.ecs.manager_files import PREPARE_EXEC_TIMEOUT_SECONDS
from components.ecs.sizing import managers_job_capacity, plan_shards, shard_instance_types
from components.preflight import (
    EC2_ON_DEMAND,
    EC2_SPOT,
    EKS_LANE_QUOTA,
    NEW_ACCOUNT_QUOTAS,
    fargate_vcpu,
)
from components.shared import network

INTERFACE_ENDPOINT_SERVICES = len(network.INTERFACE_ENDPOINT_SERVICES)
ECS_PREPARE_EXEC_TIMEOUT_SECONDS = PREPARE_EXEC_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Inputs:
    loads: tuple[model.RunnerLoad, ...]
    limits: model.StackLimits
    always_on: prices.AlwaysOn
    region: str
    per_runner: bool = False  # every runner got all the jobs instead of a share
    job_seconds: float | None = None  # None: jobs outlast the start window


def split_jobs(jobs: int, weights: dict[str, int]) -> dict[str, int]:
    """N jobs over runners in proportion to weight, largest remainder first."""
    total = sum(weights.values())
    exact = {name: jobs * w / total for name, w in weights.items()}
    shares = {name: int(v) for name, v in exact.items()}
    left = jobs - sum(shares.values())
    for name in sorted(exact, key=lambda n: shares[n] - exact[n])[:left]:
        shares[name] += 1
    return shares


def load_inputs(
    config: StackConfig,
    region: str,
    jobs: int,
    per_runner: bool = False,
    vcpu_quota: float = model.DEFAULT_FARGATE_VCPU_QUOTA,
    spot_vcpu_quota: float = model.DEFAULT_FARGATE_VCPU_QUOTA,
    job_seconds: float | None = None,
    ec2_vcpu_quota: float = NEW_ACCOUNT_QUOTAS[EC2_ON_DEMAND],
    ec2_spot_vcpu_quota: float = NEW_ACCOUNT_QUOTAS[EC2_SPOT],
) -> Inputs:
    """The ONE place that turns the project's config types into the model's inputs."""
    eks = config.mode == "eks"
    weights = {r.name: r.concurrency for r in config.runners}
    counts = {n: jobs for n in weights} if per_runner else split_jobs(jobs, weights)
    net = config.network
    private = task_subnets = net.layout.private if net.layout else ()
    task_defs = {t.name: t for t in config.ecs.task_definitions}
    shares = manager_shares(
        [r.concurrency for r in config.runners], config.ecs.max_jobs_per_manager
    )
    loads = []
    for index, r in enumerate(config.runners):
        if eks:
            # A Fargate pod counts at the size Fargate rounds it up to, as preflight counts it.
            vcpu = fargate_vcpu(r.cpu) if r.lane == "fargate" else r.cpu / 1024
            memory = r.memory / 1024
            compute = model.COMPUTE_FARGATE if r.lane == "fargate" else model.COMPUTE_EC2
            arch = model.ARM64 if r.architecture == "arm64" else model.X86_64
            subnets, timeout = (("private", 1.0),), config.eks.poll_timeout_seconds
            check = config.eks.check_interval
        else:
            td = task_defs[r.task_definition]
            vcpu, memory, arch = td.cpu / 1024, td.memory / 1024, td.architecture
            compute = model.COMPUTE_FARGATE_SPOT if r.lane == "spot" else model.COMPUTE_FARGATE
            # Where the managers put this runner's share (ecs/sizing.py shard_subnet).
            subnets = ecs_subnet_shares(index, shares, task_subnets)
            timeout, check = ECS_PREPARE_EXEC_TIMEOUT_SECONDS, config.ecs.check_interval
        loads.append(
            model.RunnerLoad(
                name=r.name,
                jobs=counts[r.name],
                concurrency=r.concurrency,
                request_concurrency=r.request_concurrency,
                check_interval=check,
                queue=",".join(sorted(r.tags)),
                vcpu_per_job=vcpu,
                memory_gib_per_job=memory,
                compute=compute,
                pool=r.lane if compute == model.COMPUTE_EC2 else "",
                architecture=arch,
                timeout_seconds=timeout,
                subnets=subnets,
                job_seconds=job_seconds,
                warm_jobs=r.warm_jobs if eks and r.lane != "fargate" else 0,
            )
        )
    # IPs jobs may take: after fixed IPs and headroom, as the config check and preflight count.
    free = lambda cidrs: sum(jobs_per_subnet(c) for c in cidrs)  # noqa: E731
    if eks:
        subnet_ips = (("private", free(private)),) if private else ()
    else:
        subnet_ips = tuple((c, free([c])) for c in task_subnets)
    shards = plan_shards(config.runners, config.ecs.max_jobs_per_manager)
    manager_types = shard_instance_types(shards, config.ecs.manager_instance_type)
    zones = len(private) if net.layout else 0
    fargate_pods: tuple[tuple[str, float, float], ...] = ()
    if eks:
        # The same pods preflight counts against the vCPU quota (components/domain/eks_sizing.py).
        fargate_pods = tuple(
            system_fargate_pods(
                {r.name: r.concurrency for r in config.runners},
                config.eks.manager_placement == "fargate",
                metrics_collector=config.observability.enabled,
            )
        )
    # EKS: the system pods take their share of the On-Demand quota first, as in preflight.
    system_vcpu = sum(vcpu for _, vcpu, _ in fargate_pods)
    limits = model.StackLimits(
        mode=config.mode,
        fargate_vcpu_quota=max(0.0, vcpu_quota - system_vcpu),
        system_pods_vcpu=system_vcpu,
        fargate_spot_vcpu_quota=spot_vcpu_quota,
        subnet_ips=subnet_ips,
        manager_job_capacity=None if eks else managers_job_capacity(shards, manager_types),
        ec2_pool_vcpu=(
            ("spot", config.eks.spot_cpu_limit),
            ("privileged", config.eks.privileged_cpu_limit),
        )
        if eks
        else (),
        # Which quota a pool's nodes count against: preflight's own lane -> quota map.
        ec2_quota_vcpu=tuple(
            (lane, {EC2_SPOT: ec2_spot_vcpu_quota, EC2_ON_DEMAND: ec2_vcpu_quota}[code])
            for lane, code in EKS_LANE_QUOTA.items()
            if code in (EC2_SPOT, EC2_ON_DEMAND)
        )
        if eks
        else (),
    )
    always_on = prices.AlwaysOn(
        nat_gateways=0 if not net.layout else (1 if net.nat_gateways == "single" else zones),
        interface_endpoints=INTERFACE_ENDPOINT_SERVICES * zones if net.vpc_endpoints else 0,
        eks_clusters=1 if eks else 0,
        manager_instance_types=() if eks else tuple(manager_types),
        fargate_pods=fargate_pods,
        warm_jobs=tuple(
            (
                load.name,
                load.warm_jobs,
                load.vcpu_per_job,
                load.memory_gib_per_job,
                load.architecture,
                load.pool == "spot",
            )
            for load in loads
            if load.warm_jobs
        ),
    )
    return Inputs(tuple(loads), limits, always_on, region, per_runner, job_seconds)


def ecs_subnet_shares(
    runner: int, shares: list[list[int]], subnets: tuple[str, ...]
) -> tuple[tuple[str, float], ...]:
    """The share of runner `runner`'s jobs each subnet takes, as the managers' fargate.toml
    files say (ecs/sizing.py shard_subnet): one manager puts runner r in subnet r mod n;
    with several, manager i puts its limit of every runner in subnet i mod n."""
    if not subnets:
        return (("private", 1.0),)
    total = sum(row[runner] for row in shares) or 1
    part = dict.fromkeys(subnets, 0.0)
    for manager, row in enumerate(shares):
        where = runner if len(shares) == 1 else manager
        part[subnets[where % len(subnets)]] += row[runner] / total
    return tuple(part.items())
