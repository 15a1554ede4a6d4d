"""How many runner managers, each running which share of every runner, on what instance.

What one running job costs the manager (ESTIMATES, not measurements; their basis):
- Memory: the Fargate driver keeps one process per running job for the whole `run` stage
  (FACTS section 1): a statically linked Go binary holding the AWS SDK, an SSH client and the
  job's RSA key (generated with crypto/rsa in `prepare`, driver source internal/ssh/
  key_factory.go). Go CLIs of that kind sit at 20-35 MiB resident; gitlab-runner adds the job's
  goroutines, trace buffer and the custom executor's pipes, a few MiB more. Budget:
  JOB_MEMORY_MIB = 48 MiB per running job (about 35 + 25% margin).
- CPU: steady state is SSH channel encryption of the job log plus one short driver process
  per script step (~10 process starts per job); the RSA key generation in `prepare` is a
  one-off burst well under a CPU-second. Budget: JOB_VCPU = 0.02 vCPU per running job (50 jobs
  per sustained vCPU).
- Base: Amazon Linux, SSM agent, CloudWatch agent and an idle gitlab-runner: BASE_MEMORY_MIB.
A type fits `n` jobs when base + n x job memory stays under MEMORY_HEADROOM of its RAM and
n x job CPU under its sustained vCPU (a burstable type's baseline, half of a fixed type's
vCPUs, leaving room for start-up bursts when many jobs begin at once).

The per-manager cap (ecs.maxJobsPerManager, default 200, at most 250): 200 is what the largest
default type below carries by CPU; beyond it one manager's loss or drain touches too many jobs
and a burst of RunTask calls from one manager outlasts the account's burst of 100 (then 20
calls/s, FACTS section 6) long enough to slow every job's start.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.domain.manager_sizing import manager_shares, max_jobs
from components.domain.specs import RunnerSpec


@dataclass(frozen=True)
class ManagerType:
    name: str
    memory_mib: int
    sustained_vcpu: float  # burstable: baseline; fixed: half the vCPUs

    @property
    def max_jobs(self) -> int:
        return max_jobs(self.memory_mib, self.sustained_vcpu)


# Smallest first; x86_64 only (the runner and driver binaries are amd64). m6i is offered in
# every commercial region.
MANAGER_TYPES = (
    ManagerType("t3.small", 2048, 0.4),  # 2 vCPU at a 20% baseline
    ManagerType("t3.large", 8192, 0.6),  # 2 vCPU at a 30% baseline
    ManagerType("m6i.large", 8192, 1.0),
    ManagerType("m6i.xlarge", 16384, 2.0),
    ManagerType("m6i.2xlarge", 32768, 4.0),
    ManagerType("m6i.4xlarge", 65536, 8.0),
)


def manager_instance_type(jobs: int) -> str:
    """The smallest type that carries `jobs` running jobs."""
    for kind in MANAGER_TYPES:
        if kind.max_jobs >= jobs:
            return kind.name
    raise ValueError(f"no manager type carries {jobs} jobs; lower ecs.maxJobsPerManager")


@dataclass(frozen=True)
class ShardRunner:
    """One runner as one manager runs it: its share of the runner's concurrency."""

    runner: RunnerSpec
    index: int  # the runner's position in the config (picks its subnet)
    limit: int


@dataclass(frozen=True)
class Shard:
    """One runner manager: its own Auto Scaling group, config.toml and driver configs."""

    index: int
    runners: tuple[ShardRunner, ...]

    @property
    def jobs(self) -> int:
        return sum(r.limit for r in self.runners)

    def suffix(self) -> str:
        """ "" for shard 0 (today's resource names), "-<i>" for the others."""
        return "" if self.index == 0 else f"-{self.index}"


def plan_shards(runners: tuple[RunnerSpec, ...], max_jobs_per_manager: int) -> list[Shard]:
    """Split every runner's concurrency over ceil(total / cap) managers (manager_shares). A
    share of 0 leaves the runner off that manager (gitlab-runner reads `limit = 0` as
    unlimited)."""
    shares = manager_shares([r.concurrency for r in runners], max_jobs_per_manager)
    return [
        Shard(
            index=i,
            runners=tuple(
                ShardRunner(runner=runner, index=index, limit=limit)
                for index, (runner, limit) in enumerate(zip(runners, row, strict=True))
                if limit
            ),
        )
        for i, row in enumerate(shares)
    ]


def shard_subnet(
    subnets: list[str], runner_index: int, shard_index: int, shard_count: int = 1
) -> str:
    """A single manager puts runner r's tasks in subnet r mod n (its runners spread over the
    zones). With two or more managers, manager i puts all its tasks in subnet i mod n: every
    runner still spreads over the zones (it runs on every manager), and a task's subnet names
    the managers that may own it, so the reaper can tell a lost manager's tasks from those of
    another shard's older manager (components/ecs/reaper/handler.py, "Who owns a task?")."""
    if not subnets:
        raise ValueError("the network has no subnets for the job tasks")
    if shard_count > 1:
        return subnets[shard_index % len(subnets)]
    return subnets[runner_index % len(subnets)]


def shard_instance_types(shards: list[Shard], configured: str | None) -> list[str]:
    """Each manager's instance type: `ecs.managerInstanceType` when set, else sized."""
    return [configured or manager_instance_type(shard.jobs) for shard in shards]


def managers_job_capacity(shards: list[Shard], types: list[str]) -> int | None:
    """Running jobs the managers can hold together, or None when a configured type is not in
    the sizing table (its capacity is unknown)."""
    known = {kind.name: kind.max_jobs for kind in MANAGER_TYPES}
    if any(kind not in known for kind in types):
        return None
    return sum(min(s.jobs, known[kind]) for s, kind in zip(shards, types, strict=True))
