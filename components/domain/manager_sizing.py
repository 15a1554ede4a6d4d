"""What one running job costs an ECS runner manager, and how many jobs an EC2 type carries.

The per-job budgets and their basis are explained in components/ecs/sizing.py, which sizes
the managers from them; they live here so the config parser can also judge a type the user
pins with `ecs.managerInstanceType`, which may be any x86_64 type, not only the sized ones.
"""

from __future__ import annotations

import math
import re

JOB_MEMORY_MIB = 48
JOB_VCPU = 0.02
BASE_MEMORY_MIB = 600
MEMORY_HEADROOM = 0.75
# The per-manager job cap (ecs.maxJobsPerManager): the largest sized type, m6i.4xlarge, carries
# more, and components/ecs/sizing.py says why no manager should run more than this.
MAX_JOBS_PER_MANAGER_LIMIT = 250

# Burstable T types (t2, t3, t3a): (vCPU, MiB, baseline share of each vCPU) per size, from the
# EC2 burstable performance instances page (t3 baselines; t2/t3a are no higher).
_BURSTABLE = {
    "nano": (2, 512, 0.05),
    "micro": (2, 1024, 0.10),
    "small": (2, 2048, 0.20),
    "medium": (2, 4096, 0.20),
    "large": (2, 8192, 0.30),
    "xlarge": (4, 16384, 0.40),
    "2xlarge": (8, 32768, 0.40),
}
# Fixed-performance families by memory per vCPU (EC2 instance types page: c 2, m 4, r 8 GiB).
MIB_PER_VCPU = {"c": 2048, "m": 4096, "r": 8192}
_TYPE = re.compile(r"(?P<family>[a-z]+)\d+[a-z]*(-flex)?\.(?P<size>[a-z0-9]+)")


def max_jobs(memory_mib: float, sustained_vcpu: float) -> int:
    """Jobs a manager carries: base + jobs x memory under the headroom, jobs x CPU under the
    sustained vCPU (half a fixed type's vCPUs, a burstable type's baseline)."""
    by_memory = (memory_mib * MEMORY_HEADROOM - BASE_MEMORY_MIB) / JOB_MEMORY_MIB
    by_cpu = sustained_vcpu / JOB_VCPU
    return max(0, math.floor(min(by_memory, by_cpu) + 1e-9))


def _vcpus(size: str) -> int | None:
    if size in ("medium", "large", "xlarge"):
        return {"medium": 1, "large": 2, "xlarge": 4}[size]
    match = re.fullmatch(r"(\d+)xlarge", size)
    return 4 * int(match[1]) if match else None


def instance_vcpus(instance_type: str) -> int | None:
    """vCPUs of an EC2 type by its size (what the On-Demand vCPU quota counts), or None."""
    match = _TYPE.fullmatch(instance_type)
    if match is None:
        return None
    if match["family"] == "t" and match["size"] in _BURSTABLE:
        return _BURSTABLE[match["size"]][0]
    return _vcpus(match["size"])


def estimated_max_jobs(instance_type: str) -> int | None:
    """Jobs an instance type carries, or None for a family this estimate does not know."""
    match = _TYPE.fullmatch(instance_type)
    if match is None:
        return None
    family, size = match["family"], match["size"]
    if family == "t" and size in _BURSTABLE:
        vcpus, memory, baseline = _BURSTABLE[size]
        return max_jobs(memory, vcpus * baseline)
    vcpus = _vcpus(size)
    if family not in MIB_PER_VCPU or vcpus is None:
        return None
    return max_jobs(vcpus * MIB_PER_VCPU[family], vcpus / 2)


def manager_shares(concurrencies: list[int], max_jobs_per_manager: int) -> list[list[int]]:
    """Each ECS manager's `limit` per runner (row: manager, column: runner).

    ceil(total / cap) managers; each runner gets concurrency // n on every manager, and its
    remainder goes one job at a time to the managers that follow the previous runner's
    remainder, so the managers' totals differ by at most one job and none exceeds the cap.
    Pure, so the config check, preflight and capacity model place jobs as ecs/sizing.py does."""
    count = max(1, math.ceil(sum(concurrencies) / max_jobs_per_manager))
    shares = [[0] * len(concurrencies) for _ in range(count)]
    offset = 0
    for runner, concurrency in enumerate(concurrencies):
        base, remainder = divmod(concurrency, count)
        extra = {(offset + j) % count for j in range(remainder)}
        offset = (offset + remainder) % count
        for manager in range(count):
            shares[manager][runner] = base + (1 if manager in extra else 0)
    return shares
