"""How a job pod's size is split between its containers, and how far a job may raise them.

Pure functions; runner_chart.py writes the result into each runner's `runners.config`
([runners.kubernetes] keys of gitlab-runner 18.9, tests/upstream/gitlab-runner-config.json).

- fargate lane: build = the runner's size - helper - Fargate's 256 MiB per-pod overhead, so the
  pod lands exactly on the configured size; each `services:` container adds
  eks.serviceCpu/eks.serviceMemory on top (Fargate rounds up to the next valid size).
- spot lane: the same without the overhead (EC2 nodes have none).
- privileged lane (Docker-in-Docker): the dind *service* does the building, while the build
  container only runs the docker CLI. So the build container stays small and the services get
  the rest of the runner's size; a job with one service (docker:dind) is exactly that size. A
  job may raise a service's requests and limits up to the runner's whole size with the
  KUBERNETES_SERVICE_{CPU,MEMORY}_{REQUEST,LIMIT} variables; gitlab-runner refuses more
  (executors/kubernetes/overwrites.go at v18.9.0, evaluateMaxResourceOverwrite: no
  *_overwrite_max_allowed means no overwrite, a value above it fails the job).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.domain.fargate_sizes import EKS_FARGATE_POD_OVERHEAD_MIB
from components.domain.specs import EksSpec, RunnerSpec
from components.eks.placement import FARGATE

PRIVILEGED_LANE = "privileged"
# The privileged lane's build container: the job script and the docker CLI talking to dind.
DOCKER_CLI_CPU_M = 250
DOCKER_CLI_MEMORY_MIB = 512


def millicores(cpu_units: int) -> int:
    """CPU units (1024 = 1 vCPU) to Kubernetes millicores, rounded down."""
    return cpu_units * 1000 // 1024


@dataclass(frozen=True)
class JobPodSize:
    """Requests (= limits) of each container in a job pod, in millicores and MiB, and the
    most a job may raise each service to (None: jobs cannot change it)."""

    build_cpu_m: int
    build_memory_mib: int
    helper_cpu_m: int
    helper_memory_mib: int
    service_cpu_m: int
    service_memory_mib: int
    # How many `services:` containers the configured size already holds (privileged: one).
    services_in_size: int = 0
    service_max_cpu_m: int | None = None
    service_max_memory_mib: int | None = None

    @property
    def pod_cpu_m(self) -> int:
        """The pod's CPU with the services its configured size holds."""
        return self.build_cpu_m + self.helper_cpu_m + self.services_in_size * self.service_cpu_m

    @property
    def pod_memory_mib(self) -> int:
        return (
            self.build_memory_mib
            + self.helper_memory_mib
            + self.services_in_size * self.service_memory_mib
        )


def job_pod_size(runner: RunnerSpec, eks: EksSpec) -> JobPodSize:
    """Split the runner's pod size between its containers (module docstring). Any rounding of
    the helper's millicores goes to the build container (or the service, in the privileged
    lane) so the total never exceeds the configured CPU."""
    helper_cpu_m = millicores(eks.helper_cpu)
    cpu_m = millicores(runner.cpu) - helper_cpu_m
    if runner.lane == PRIVILEGED_LANE:
        memory_mib = runner.memory - eks.helper_memory
        # At most half of what is left, so the dind service is never the smaller container.
        build_cpu_m = min(DOCKER_CLI_CPU_M, cpu_m // 2)
        build_memory_mib = min(DOCKER_CLI_MEMORY_MIB, memory_mib // 2)
        return JobPodSize(
            build_cpu_m=build_cpu_m,
            build_memory_mib=build_memory_mib,
            helper_cpu_m=helper_cpu_m,
            helper_memory_mib=eks.helper_memory,
            service_cpu_m=cpu_m - build_cpu_m,
            service_memory_mib=memory_mib - build_memory_mib,
            services_in_size=1,
            service_max_cpu_m=millicores(runner.cpu),
            service_max_memory_mib=runner.memory,
        )
    overhead = EKS_FARGATE_POD_OVERHEAD_MIB if runner.lane == FARGATE else 0
    return JobPodSize(
        build_cpu_m=cpu_m,
        build_memory_mib=runner.memory - eks.helper_memory - overhead,
        helper_cpu_m=helper_cpu_m,
        helper_memory_mib=eks.helper_memory,
        service_cpu_m=millicores(eks.service_cpu),
        service_memory_mib=eks.service_memory,
    )


def _request_and_limit(prefix: str, cpu_m: int, memory_mib: int) -> dict[str, str]:
    """Requests equal to limits: Fargate sizes by requests, EC2 nodes get no surprises."""
    return {
        f"{prefix}cpu_request": f"{cpu_m}m",
        f"{prefix}cpu_limit": f"{cpu_m}m",
        f"{prefix}memory_request": f"{memory_mib}Mi",
        f"{prefix}memory_limit": f"{memory_mib}Mi",
    }


def resource_settings(size: JobPodSize) -> dict[str, str]:
    """The [runners.kubernetes] resource keys for a job pod of this size."""
    settings = {
        **_request_and_limit("", size.build_cpu_m, size.build_memory_mib),
        **_request_and_limit("helper_", size.helper_cpu_m, size.helper_memory_mib),
        **_request_and_limit("service_", size.service_cpu_m, size.service_memory_mib),
    }
    if size.service_max_cpu_m is not None:
        for kind in ("request", "limit"):
            settings[f"service_cpu_{kind}_overwrite_max_allowed"] = f"{size.service_max_cpu_m}m"
    if size.service_max_memory_mib is not None:
        for kind in ("request", "limit"):
            settings[f"service_memory_{kind}_overwrite_max_allowed"] = (
                f"{size.service_max_memory_mib}Mi"
            )
    return settings
