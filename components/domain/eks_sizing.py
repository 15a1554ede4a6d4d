"""How EKS mode scales with concurrency: manager pod size, job pickup, CoreDNS, poll timeout.

Pure arithmetic on plain numbers (no config import), so the config parser and the EKS
components share one rule each; docs/eks-operations.md ("Sizing") explains the sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from components.domain.fargate_sizes import fargate_pod_size

# gitlab-runner 18.x: with FF_USE_ADAPTIVE_REQUEST_CONCURRENCY (on by default since 18.x, see
# tests/upstream/gitlab-runner-config.json) `request_concurrency` is the ceiling the runner
# adapts to, so a higher ceiling costs nothing while jobs are scarce.
JOBS_PER_REQUEST = 25
MAX_REQUEST_CONCURRENCY = 20

# Manager pod (requests = limits; Fargate sizes the pod from them plus 256 MiB). The base fits
# a manager with a handful of jobs; each running job adds an API watch, a log stream and
# trace buffers in the manager process.
MANAGER_BASE_CPU_M = 500
MANAGER_BASE_MEMORY_MIB = 768
MANAGER_CPU_M_PER_JOB = 5
MANAGER_MEMORY_MIB_PER_JOB = 4
# 4 vCPU / 8 GiB requests still fit one Fargate pod (4 vCPU / up to 30 GB) and any EC2 lane.
MANAGER_MAX_CPU_M = 4000
MANAGER_MAX_MEMORY_MIB = 8192

# CoreDNS on Fargate: every replica is its own Fargate pod with its own ENI, and the VPC
# resolver answers at most 1024 packets/s per ENI. One replica per 100 concurrent jobs keeps
# each replica's upstream traffic around 10 packets/s per job, two at least for availability.
JOBS_PER_COREDNS_REPLICA = 100
# (vCPU, GiB) Fargate runs them at: CoreDNS requests 100m/70Mi -> 0.25 vCPU / 0.5 GB; the
# Karpenter controller requests 1 CPU / 1Gi (karpenter.CONTROLLER_RESOURCES) -> 1 vCPU / 2 GB.
COREDNS_POD = (0.25, 0.5)
KARPENTER_CONTROLLER_POD = (1.0, 2.0)
# The metrics collector (observability.enabled) requests 250m/512Mi -> 0.25 vCPU / 1 GB.
METRICS_COLLECTOR_POD = (0.25, 1.0)
MIN_COREDNS_REPLICAS = 2
MAX_COREDNS_REPLICAS = 10

# Fargate launches EKS pods at 20/s sustained (FACTS 8: the burst may be as low as 20), and a
# pod then needs about two minutes to pull its image and start.
FARGATE_PODS_PER_SECOND = 20
FARGATE_POD_START_SECONDS = 120


@dataclass(frozen=True)
class ManagerSize:
    cpu_m: int
    memory_mib: int

    def resources(self) -> dict[str, dict[str, str]]:
        """Kubernetes resources, requests equal to limits."""
        amount = {"cpu": f"{self.cpu_m}m", "memory": f"{self.memory_mib}Mi"}
        return {"requests": dict(amount), "limits": dict(amount)}

    def on_fargate(self) -> tuple[float, float]:
        """(vCPU, GiB) of the Fargate pod that runs these requests: what preflight counts
        against the quota and the capacity estimate prices."""
        cpu, memory = fargate_pod_size(math.ceil(self.cpu_m * 1024 / 1000), self.memory_mib)
        return cpu / 1024, memory / 1024

    def describe(self) -> str:
        """The size as the docs state it: requested, then as Fargate runs and bills it."""
        vcpu, gib = self.on_fargate()
        pod = f"a {vcpu:g} vCPU / {gib:g} GB Fargate pod"
        return f"{self.cpu_m}m / {self.memory_mib}Mi requested, {pod}"


def manager_size(concurrency: int) -> ManagerSize:
    """The manager pod grows linearly with the jobs it runs at once, up to one large pod."""
    return ManagerSize(
        cpu_m=min(MANAGER_BASE_CPU_M + MANAGER_CPU_M_PER_JOB * concurrency, MANAGER_MAX_CPU_M),
        memory_mib=min(
            MANAGER_BASE_MEMORY_MIB + MANAGER_MEMORY_MIB_PER_JOB * concurrency,
            MANAGER_MAX_MEMORY_MIB,
        ),
    )


def request_concurrency_for(concurrency: int) -> int:
    """Parallel job requests for a runner that sets none: 1 per 25 jobs, 1 to 20."""
    return max(1, min(math.ceil(concurrency / JOBS_PER_REQUEST), MAX_REQUEST_CONCURRENCY))


def coredns_replicas(total_concurrency: int) -> int:
    """CoreDNS replicas for the job pods of all runners together."""
    wanted = math.ceil(total_concurrency / JOBS_PER_COREDNS_REPLICA)
    return max(MIN_COREDNS_REPLICAS, min(wanted, MAX_COREDNS_REPLICAS))


def minimum_poll_timeout(fargate_concurrency: int) -> int:
    """Seconds the last of a full burst of Fargate job pods may wait before it runs: queued
    behind the others at the launch rate, then its own start."""
    return math.ceil(fargate_concurrency / FARGATE_PODS_PER_SECOND) + FARGATE_POD_START_SECONDS


def system_fargate_pods(
    runner_concurrency: Mapping[str, int],
    managers_on_fargate: bool,
    metrics_collector: bool = False,
) -> list[tuple[str, float, float]]:
    """EKS pods on Fargate besides jobs, as (what, vCPU, GiB) at the size Fargate runs them:
    the Karpenter controller, the CoreDNS replicas, the metrics collector and, on Fargate,
    each runner manager. Preflight counts their vCPU against the quota and the capacity model
    prices them."""
    pods = [("karpenter", *KARPENTER_CONTROLLER_POD)]
    if metrics_collector:
        pods.append(("metrics collector", *METRICS_COLLECTOR_POD))
    pods += [("coredns", *COREDNS_POD)] * coredns_replicas(sum(runner_concurrency.values()))
    for name, concurrency in runner_concurrency.items() if managers_on_fargate else ():
        pods.append((f"manager {name}", *manager_size(concurrency).on_fargate()))
    return pods
