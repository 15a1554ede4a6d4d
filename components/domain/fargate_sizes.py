"""Valid AWS Fargate CPU/memory combinations (ECS tasks and EKS pods share the table)."""

from __future__ import annotations

# Fargate on EKS adds 256 MiB to every pod's requests before rounding to a size (FACTS.md 4).
EKS_FARGATE_POD_OVERHEAD_MIB = 256

# CPU units (1024 = 1 vCPU) -> allowed memory in MiB. Source: FACTS.md section 6.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def is_valid_fargate_size(cpu: int, memory: int) -> bool:
    return memory in FARGATE_SIZES.get(cpu, ())


def nearest_fargate_size(cpu: int, memory: int) -> tuple[int, int]:
    """The valid pair closest to the request: same CPU if valid, else the nearest CPU row,
    then the smallest memory in that row that holds the request (or the row's maximum)."""
    row_cpu = cpu if cpu in FARGATE_SIZES else min(FARGATE_SIZES, key=lambda c: (abs(c - cpu), c))
    memories = FARGATE_SIZES[row_cpu]
    fitting = [m for m in memories if m >= memory]
    return row_cpu, (fitting[0] if fitting else memories[-1])


def fargate_pod_size(cpu_units: int, memory_mib: int) -> tuple[int, int]:
    """The size EKS Fargate runs a pod at: the smallest valid pair holding its requests plus
    the pod overhead (FACTS.md 4). The largest size when nothing holds them."""
    memory = memory_mib + EKS_FARGATE_POD_OVERHEAD_MIB
    fitting = [
        (cpu, mem)
        for cpu, memories in sorted(FARGATE_SIZES.items())
        for mem in memories
        if cpu >= cpu_units and mem >= memory
    ]
    if not fitting:
        largest = max(FARGATE_SIZES)
        return largest, FARGATE_SIZES[largest][-1]
    return min(fitting, key=lambda size: (size[0], size[1]))
