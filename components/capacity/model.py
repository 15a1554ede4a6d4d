"""Capacity model: when do N CI jobs all run, which limit decides that, and do any time out.

Pure functions of frozen dataclasses; no cloud calls, no Pulumi, no stack config types.

Stages every job passes, in order (equations, per runner r):
  1. pickup   rate_r = share_r * min(sum_q p_i, G) with p_i = request_concurrency_i / t_req,
              for the runners i polling the same GitLab queue q; the first request goes out
              after check_interval / 2 on average, then requests follow back to back.
  2. capacity jobs that can hold a pod/task at once = min(manager slots, vCPU quota / vCPU per
              job, free subnet IPs, Karpenter pool CPU limit); the rest wait or fail.
  3. launch   RunTask calls (ECS, 1 task per call) and Fargate launches are token buckets
              (burst B, refill R/s) shared by the whole account and region.
  4. start    a launched pod/task is running start_seconds later.
  A job times out if its launch-queue wait + start_seconds > timeout (EKS poll_timeout,
  ECS prepare_exec_timeout); EKS pods over the vCPU/IP/pool limit stay Pending until then.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from components.capacity.binding import binding_detail
from components.domain.start_latency import (
    EC2_START_SECONDS,
    FARGATE_START_SECONDS,
    WARM_START_SECONDS,
)

# --- AWS limits --------------------------------------------------------------------------
# Fargate launch token bucket: burst 100, refill 20 tasks+pods/s per account and region; a
# separate bucket of the same size for Fargate Spot ECS tasks. Accounts that launch ONLY EKS
# pods get a burst of 20. Source: "AWS Fargate throttling quotas",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/throttling.html (FACTS.md 6, 8).
FARGATE_LAUNCH_BURST = 100
FARGATE_LAUNCH_BURST_EKS_ONLY = 20
FARGATE_LAUNCH_PER_SECOND = 20.0
# ECS RunTask: 20 calls/s, burst and sustained (same page). The Fargate driver's `prepare`
# stage makes one RunTask call per job (FACTS.md 1), so this is 20 tasks/s at most.
RUNTASK_BURST = 20
RUNTASK_CALLS_PER_SECOND = 20.0
# Fargate On-Demand vCPU quota L-3032A538 and Spot quota L-36FBB829: 6 vCPU on new accounts
# (Service Quotas console; FACTS.md 6). Pass the real value with --vcpu-quota.
DEFAULT_FARGATE_VCPU_QUOTA = 6.0
# --- Start latency -----------------------------------------------------------------------
# Launch to running per lane, and what the estimates assume: components/domain/start_latency.py
# (the start-wait alarm reads the same numbers).
# --- GitLab job pickup -------------------------------------------------------------------
# gitlab-runner polls every check_interval (default 3 s; runner docs "Advanced configuration",
# FACTS.md 2) but, once a request returns a job, asks again at once (FastCheckInterval, on by
# default: gitlab-org/gitlab-runner issue 3678 and MR 6081), with at most request_concurrency
# requests in flight. So with jobs pending, pickup = request_concurrency / t_req per runner.
DEFAULT_CHECK_INTERVAL = 3.0
DEFAULT_REQUEST_CONCURRENCY = 1
# SEED CALIBRATION (shared/seeds/001, "GitLab EKS Fargate Runners ... Iteration 1"):
#   1 runner,  concurrent 200, parallel 200:  "200 jobs takes just under 2 minutes"  (~115 s)
#   2 runners, same project/tags, 2 x 200:    "400 jobs takes just over 3 minutes"   (~185 s)
# Doubling runners did NOT double the rate, and the extra ~70 s cannot have been Pending pods:
# 70 s + >=40 s start exceeds the blog's poll_timeout of 90 s, so those jobs would have failed.
# So the 70 s were spent before pod creation, in a pickup rate shared by runners that poll the
# same queue (they race for the same pending jobs). Solving 200/G + L = 115, 400/G + L = 185
# gives G = 2.86 jobs/s and L = 45 s. One runner alone also reached 2.86/s, so t_req <= 0.35 s.
QUEUE_DISPATCH_PER_SECOND = 200 / 70
REQUEST_SECONDS = 0.35
# --- Runner managers ---------------------------------------------------------------------
# ECS: what the managers hold comes from components/ecs/sizing.py (the same numbers that size
# and shard them); EKS: the chart's `concurrent` per runner.

COMPUTE_FARGATE = "fargate"
COMPUTE_FARGATE_SPOT = "fargate-spot"
COMPUTE_EC2 = "ec2"
# CPU architecture of a runner's jobs: it changes their price (prices.py), not their timing.
X86_64 = "x86_64"
ARM64 = "arm64"
DT = 0.1  # simulation step, seconds


@dataclass(frozen=True)
class RunnerLoad:
    """One runner manager and the jobs it gets."""

    name: str
    jobs: int
    concurrency: int  # manager slots: EKS chart `concurrent`, ECS `[[runners]] limit`
    request_concurrency: int = DEFAULT_REQUEST_CONCURRENCY
    check_interval: float = DEFAULT_CHECK_INTERVAL
    queue: str = ""  # runners with the same key compete for the same pending jobs
    vcpu_per_job: float = 1.0  # Fargate pod/task size (requests rounded up; FACTS.md 4)
    memory_gib_per_job: float = 2.0
    compute: str = COMPUTE_FARGATE  # fargate | fargate-spot (ECS) | ec2 (EKS Karpenter lanes)
    pool: str = ""  # ec2: Karpenter NodePool name
    architecture: str = X86_64  # x86_64 | arm64 (ECS: the task definition; EKS: the nodes)
    timeout_seconds: float = 600.0  # EKS poll_timeout; ECS prepare_exec_timeout
    # IP pools and the share of the runner's jobs each takes: each pod/task takes one IP
    # (FACTS.md 4); ECS spreads a runner over its managers' subnets, EKS over one pool
    subnets: tuple[tuple[str, float], ...] = (("private", 1.0),)
    job_seconds: float | None = None  # None: jobs outlast the start window (all N at once)
    warm_jobs: int = 0  # ec2: jobs whose pod finds room on a running node (pause pods)


@dataclass(frozen=True)
class StackLimits:
    mode: str  # "ecs" | "eks"
    fargate_vcpu_quota: float = DEFAULT_FARGATE_VCPU_QUOTA
    fargate_spot_vcpu_quota: float = DEFAULT_FARGATE_VCPU_QUOTA
    system_pods_vcpu: float = 0.0  # EKS: already taken from fargate_vcpu_quota (jobs' share)
    launch_burst: int | None = None  # None: 100 (ECS) or 20 (EKS-only accounts)
    launch_per_second: float = FARGATE_LAUNCH_PER_SECOND
    runtask_per_second: float = RUNTASK_CALLS_PER_SECOND
    start_seconds: float = FARGATE_START_SECONDS
    ec2_start_seconds: float = EC2_START_SECONDS
    warm_start_seconds: float = WARM_START_SECONDS
    queue_dispatch_per_second: float = QUEUE_DISPATCH_PER_SECOND
    request_seconds: float = REQUEST_SECONDS
    subnet_ips: tuple[tuple[str, int], ...] = ()  # free IPs per pool; empty: not checked
    manager_job_capacity: int | None = None  # ECS: jobs the one manager instance can hold
    ec2_pool_vcpu: tuple[tuple[str, float], ...] = ()  # EKS Karpenter NodePool CPU limits
    # EKS: the EC2 vCPU quota each Karpenter pool's nodes count against (spot: L-34B43A08,
    # privileged: L-1216C47A), counted in job pods' vCPU as preflight counts it (a node has at
    # least that much, so this is the most that can run, not a promise).
    ec2_quota_vcpu: tuple[tuple[str, float], ...] = ()

    @property
    def burst(self) -> int:
        if self.launch_burst is not None:
            return self.launch_burst
        return FARGATE_LAUNCH_BURST if self.mode == "ecs" else FARGATE_LAUNCH_BURST_EKS_ONLY


@dataclass(frozen=True)
class RunnerEstimate:
    name: str
    jobs: int
    start_all_seconds: float | None  # None: some jobs never start in this burst
    binding_limit: str
    detail: str
    pickup_seconds: float
    launch_wait_seconds: float  # longest wait of one pod/task in the launch buckets
    jobs_timed_out: int  # waited past the timeout (EKS Pending pods, ECS prepare)
    jobs_refused: int  # ECS: RunTask refused (quota/IPs), the job fails at once
    jobs_waiting: int  # held in GitLab's queue for a free manager slot (not a failure)
    peak_running: int
    ips_used: int
    vcpu_needed: float
    warm_jobs: int = 0  # of the first wave, started on warm capacity
    warm_started_seconds: float | None = None  # when the warm ones have all started


@dataclass(frozen=True)
class StackEstimate:
    mode: str
    jobs: int
    start_all_seconds: float | None
    binding_limit: str
    detail: str
    runners: tuple[RunnerEstimate, ...]
    jobs_timed_out: int
    jobs_refused: int
    jobs_waiting: int
    ips_used: int
    vcpu_needed: float
    limits: dict[str, float | None] = field(default_factory=dict)


def pickup_rates(loads: Iterable[RunnerLoad], limits: StackLimits) -> dict[str, float]:
    """Jobs/s each runner takes while jobs are pending (stage 1)."""
    loads = list(loads)
    own = {r.name: r.request_concurrency / limits.request_seconds for r in loads}
    rates = {}
    for queue in {r.queue for r in loads}:
        members = [r for r in loads if r.queue == queue]
        total = sum(own[r.name] for r in members)
        shared = min(total, limits.queue_dispatch_per_second)
        for r in members:
            rates[r.name] = shared * own[r.name] / total
    return rates


def _share(cap: float, demand: dict[str, int]) -> dict[str, int]:
    """Split a shared capacity over runners in proportion to their demand."""
    total = sum(demand.values())
    if total <= cap:
        return dict(demand)
    return {name: math.floor(cap * d / total) for name, d in demand.items()}


def _capacity(
    loads: list[RunnerLoad], limits: StackLimits, peak: dict[str, int]
) -> dict[str, tuple[int, str]]:
    """Stage 2: jobs each runner can have running at once, and the limit that caps them."""
    allowed = {r.name: (peak[r.name], "") for r in loads}

    def apply(name: str, caps: dict[str, int]) -> None:
        for runner, cap in caps.items():
            if cap < allowed[runner][0]:
                allowed[runner] = (cap, name)

    apply("managerCapacity", {r.name: min(peak[r.name], r.concurrency) for r in loads})
    if limits.mode == "ecs" and limits.manager_job_capacity is not None:
        apply("managerCapacity", _share(limits.manager_job_capacity, peak))
    quotas = {
        COMPUTE_FARGATE: limits.fargate_vcpu_quota,
        COMPUTE_FARGATE_SPOT: limits.fargate_spot_vcpu_quota,
    }
    for compute, quota in quotas.items():
        members = [r for r in loads if r.compute == compute]
        if members:
            vcpu = {r.name: peak[r.name] * r.vcpu_per_job for r in members}
            if sum(vcpu.values()) > quota:
                scale = quota / sum(vcpu.values())
                apply(
                    "vcpuQuota",
                    {n: math.floor(v * scale / _vcpu(loads, n)) for n, v in vcpu.items()},
                )
    for name, pools in (
        ("ec2PoolLimit", limits.ec2_pool_vcpu),
        ("ec2Quota", limits.ec2_quota_vcpu),
    ):
        for pool, cpu in pools:
            members = [r for r in loads if r.compute == COMPUTE_EC2 and r.pool == pool]
            vcpu = {r.name: peak[r.name] * r.vcpu_per_job for r in members}
            if members and sum(vcpu.values()) > cpu:
                scale = cpu / sum(vcpu.values())
                apply(name, {n: math.floor(v * scale / _vcpu(loads, n)) for n, v in vcpu.items()})
    for subnet, free in limits.subnet_ips:
        part = {r.name: f for r in loads for s, f in r.subnets if s == subnet and f}
        demand = sum(peak[n] * f for n, f in part.items())
        if demand > free:
            # The runner's jobs placed in this pool shrink with it; its other pools are apart.
            scale = free / demand
            apply(
                "subnetIps",
                {n: math.floor(peak[n] * (1 - f * (1 - scale))) for n, f in part.items()},
            )
    return allowed


def _vcpu(loads: list[RunnerLoad], name: str) -> float:
    return next(r.vcpu_per_job for r in loads if r.name == name)


@dataclass
class _Bucket:
    """A fluid token bucket with one backlog per runner, served in proportion to backlog."""

    burst: float
    rate: float
    tokens: float = 0.0
    backlog: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def step(self, arrivals: dict[str, float], dt: float) -> dict[str, float]:
        for name, count in arrivals.items():
            self.backlog[name] = self.backlog.get(name, 0.0) + count
        self.tokens = min(self.burst, self.tokens + self.rate * dt)
        waiting = sum(self.backlog.values())
        out_total = min(waiting, self.tokens)
        self.tokens -= out_total
        out = {}
        for name, count in self.backlog.items():
            out[name] = out_total * count / waiting if waiting > 0 else 0.0
            self.backlog[name] = count - out[name]
        return out


def _launch(
    loads: list[RunnerLoad], limits: StackLimits, starts: dict[str, int], rates: dict[str, float]
) -> dict[str, tuple[float, float, float, float]]:
    """Stage 3: simulate the launch buckets. Per runner: (last launch time, longest wait,
    longest wait from RunTask alone, launches that waited past timeout - start latency)."""
    t0 = {r.name: r.check_interval / 2 for r in loads}
    end = {r.name: t0[r.name] + starts[r.name] / rates[r.name] for r in loads}
    fargate = [r for r in loads if r.compute != COMPUTE_EC2 and starts[r.name] > 0]
    runtask = _Bucket(RUNTASK_BURST, limits.runtask_per_second) if limits.mode == "ecs" else None
    buckets = {
        COMPUTE_FARGATE: _Bucket(limits.burst, limits.launch_per_second),
        COMPUTE_FARGATE_SPOT: _Bucket(FARGATE_LAUNCH_BURST, limits.launch_per_second),
    }
    created = {r.name: 0.0 for r in loads}
    after_runtask = {r.name: 0.0 for r in loads}
    launched = {r.name: 0.0 for r in loads}
    result = {r.name: [end[r.name], 0.0, 0.0, 0.0] for r in loads}
    horizon = (
        max(end.values(), default=0.0)
        + sum(starts.values()) / min(limits.launch_per_second, limits.runtask_per_second)
        + 2 * DT
    )
    t = 0.0
    while fargate and t < horizon:
        t += DT
        arrivals = {}
        for r in fargate:
            now = min(starts[r.name], max(0.0, rates[r.name] * (t - t0[r.name])))
            arrivals[r.name] = now - created[r.name]
            created[r.name] = now
        if runtask is not None:
            arrivals = runtask.step(arrivals, DT)
            for name, count in arrivals.items():
                after_runtask[name] += count
        for compute, bucket in buckets.items():
            out = bucket.step(
                {r.name: arrivals[r.name] for r in fargate if r.compute == compute}, DT
            )
            for name, count in out.items():
                if count <= 1e-9:
                    continue
                launched[name] += count
                # FIFO within a runner: the k-th job was created at t0 + k / rate.
                created_at = t0[name] + launched[name] / rates[name]
                wait = max(0.0, t - created_at - DT)
                runtask_wait = 0.0
                if runtask is not None:
                    passed = t0[name] + after_runtask[name] / rates[name]
                    runtask_wait = max(0.0, t - DT - passed)
                entry = result[name]
                entry[0] = max(entry[0], t)
                entry[1] = max(entry[1], wait)
                entry[2] = max(entry[2], min(wait, runtask_wait))
                load = next(r for r in fargate if r.name == name)
                if wait + limits.start_seconds > load.timeout_seconds:
                    entry[3] += count
    return {name: (e[0], e[1], e[2], e[3]) for name, e in result.items()}


def estimate(loads: Iterable[RunnerLoad], limits: StackLimits) -> StackEstimate:
    loads = [r for r in loads if r.jobs > 0]
    rates = pickup_rates(loads, limits)
    slots = {r.name: min(r.jobs, r.concurrency) for r in loads}
    first_wave = {r.name: min(r.jobs, slots[r.name]) for r in loads}
    peak = {}
    for r in loads:
        if r.job_seconds is None:
            peak[r.name] = first_wave[r.name]
        else:  # short jobs: only those picked within one job lifetime run at once
            alive = rates[r.name] * (limits.start_seconds + r.job_seconds)
            peak[r.name] = min(first_wave[r.name], math.ceil(alive))
    allowed = _capacity(loads, limits, peak)
    launches = _launch(loads, limits, first_wave, rates)
    estimates = []
    for r in loads:
        cap, cap_limit = allowed[r.name]
        last_launch, wait, runtask_wait, late = launches[r.name]
        start = limits.ec2_start_seconds if r.compute == COMPUTE_EC2 else limits.start_seconds
        pickup = r.check_interval / 2 + first_wave[r.name] / rates[r.name]
        # The first `warm` jobs start on warm nodes, the rest after a new node.
        warm = min(r.warm_jobs, first_wave[r.name]) if r.compute == COMPUTE_EC2 else 0
        warm_at = r.check_interval / 2 + warm / rates[r.name] + limits.warm_start_seconds
        if warm and warm == first_wave[r.name]:
            start = limits.warm_start_seconds
        over = peak[r.name] - cap
        timed_out = refused = 0
        # Long jobs hold their manager slot: the jobs beyond it wait in GitLab's queue.
        waiting = r.jobs - first_wave[r.name] if r.job_seconds is None else 0
        if cap_limit == "managerCapacity":
            waiting += max(0, over)
        elif over > 0 and limits.mode == "eks":
            timed_out = over  # Pending pods: no quota/IP/node for them before poll_timeout
        elif over > 0:
            refused = over  # RunTask refuses a task over the quota or without a free IP
        timed_out += round(late)
        # Short jobs free their manager slot: the jobs beyond `concurrency` start in waves.
        waves = math.ceil(r.jobs / r.concurrency) - 1 if r.job_seconds is not None else 0
        start_all = None
        if not (timed_out or refused or waiting):
            start_all = max(last_launch, pickup) + start + waves * (start + (r.job_seconds or 0))
        if waves:
            binding = "managerCapacity"
        elif cap_limit and over > 0:
            binding = cap_limit
        elif waiting:
            binding = "managerCapacity"
        elif late:
            binding = "pollTimeout" if limits.mode == "eks" else "prepareTimeout"
        else:
            stages = {
                "jobPickup": pickup,
                "runTaskRate": runtask_wait,
                "fargateLaunchRate": wait - runtask_wait,
            }
            binding = max(stages, key=lambda k: stages[k])
        running = min(peak[r.name], cap)
        estimates.append(
            RunnerEstimate(
                name=r.name,
                jobs=r.jobs,
                start_all_seconds=None if start_all is None else round(start_all, 1),
                binding_limit=binding,
                detail=binding_detail(binding, r, rates[r.name], over, wait),
                pickup_seconds=round(pickup, 1),
                launch_wait_seconds=round(wait, 1),
                jobs_timed_out=timed_out,
                jobs_refused=refused,
                jobs_waiting=waiting,
                peak_running=running,
                ips_used=running,
                vcpu_needed=round(peak[r.name] * r.vcpu_per_job, 2),
                warm_jobs=warm,
                warm_started_seconds=round(warm_at, 1) if warm else None,
            )
        )
    return _stack(loads, limits, tuple(estimates))


def _stack(
    loads: list[RunnerLoad], limits: StackLimits, runners: tuple[RunnerEstimate, ...]
) -> StackEstimate:
    starts = [r.start_all_seconds for r in runners]
    complete = all(s is not None for s in starts)
    worst = max(
        runners,
        key=lambda e: (
            e.jobs_timed_out + e.jobs_refused + e.jobs_waiting,
            e.start_all_seconds or 0.0,
        ),
        default=None,
    )
    return StackEstimate(
        mode=limits.mode,
        jobs=sum(r.jobs for r in loads),
        start_all_seconds=max(starts) if complete and starts else None,
        binding_limit=worst.binding_limit if worst else "none",
        detail=f"{worst.name}: {worst.detail}" if worst else "no jobs",
        runners=runners,
        jobs_timed_out=sum(e.jobs_timed_out for e in runners),
        jobs_refused=sum(e.jobs_refused for e in runners),
        jobs_waiting=sum(e.jobs_waiting for e in runners),
        ips_used=sum(e.ips_used for e in runners),
        vcpu_needed=round(sum(e.vcpu_needed for e in runners), 2),
        limits={
            "fargateVcpuQuota": limits.fargate_vcpu_quota,
            "fargateSpotVcpuQuota": limits.fargate_spot_vcpu_quota,
            "systemPodsVcpu": limits.system_pods_vcpu,
            "launchBurst": limits.burst,
            "launchPerSecond": limits.launch_per_second,
            "runTaskPerSecond": limits.runtask_per_second if limits.mode == "ecs" else None,
            "queueDispatchPerSecond": round(limits.queue_dispatch_per_second, 2),
            "startSeconds": limits.start_seconds,
            "subnetIps": float(sum(n for _, n in limits.subnet_ips)) or None,
            "managerJobCapacity": limits.manager_job_capacity,
        },
    )
