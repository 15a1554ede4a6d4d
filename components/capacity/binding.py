"""The table's words for the limit that binds a runner's ramp (components/capacity/model.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.capacity.model import RunnerLoad


def binding_detail(binding: str, r: RunnerLoad, rate: float, over: int, wait: float) -> str:
    return {
        "jobPickup": f"GitLab hands out {rate:.2f} jobs/s to this runner",
        "runTaskRate": f"ECS RunTask 20 calls/s: tasks queued up to {wait:.0f} s",
        "fargateLaunchRate": f"Fargate launch bucket: pods/tasks queued up to {wait:.0f} s",
        "managerCapacity": f"{r.concurrency} job slots on the manager; the rest wait in GitLab",
        "vcpuQuota": f"Fargate vCPU quota: {over} job(s) at {r.vcpu_per_job} vCPU do not fit",
        "subnetIps": f"{over} job(s) find no free IP in subnet pool(s) "
        + ", ".join(f"'{s}'" for s, _ in r.subnets),
        "ec2PoolLimit": f"Karpenter pool '{r.pool}' CPU limit: {over} pod(s) stay Pending",
        "ec2Quota": f"EC2 vCPU quota of pool '{r.pool}': {over} pod(s) get no node",
        "pollTimeout": f"launch queue {wait:.0f} s + start > poll_timeout {r.timeout_seconds:.0f}s",
        "prepareTimeout": f"launch queue {wait:.0f} s + start > prepare {r.timeout_seconds:.0f}s",
    }[binding]
