"""The task reaper's pure part: tasks in, decisions out (rules: see handler.py's docstring).

Zipped with handler.py into the Lambda package `reaper`: standard library only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STOP = "stop"
KEEP = "keep"
STOPPED = "STOPPED"
DEFAULT_GRACE_SECONDS = 300
DEFAULT_CLOCK_SKEW_SECONDS = 60


# --------------------------------------------------------------------------------------------
# Pure part: tasks in, decisions out.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskInfo:
    """The fields of one DescribeTasks entry that the decision needs."""

    arn: str
    cluster: str
    last_status: str
    desired_status: str
    created_at: datetime | None = None
    started_at: datetime | None = None
    started_by: str = ""
    group: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, task: Mapping[str, Any]) -> TaskInfo:
        return cls(
            arn=task["taskArn"],
            cluster=task.get("clusterArn", ""),
            last_status=task.get("lastStatus", ""),
            desired_status=task.get("desiredStatus", ""),
            created_at=_aware(task.get("createdAt")),
            started_at=_aware(task.get("startedAt")),
            started_by=task.get("startedBy", "") or "",
            group=task.get("group", "") or "",
            tags={t["key"]: t.get("value", "") for t in task.get("tags", []) if "key" in t},
        )

    @property
    def born(self) -> datetime | None:
        """When the task came to be: `createdAt` (set at RunTask), else `startedAt`."""
        return self.created_at or self.started_at

    @property
    def stopping(self) -> bool:
        return STOPPED in (self.desired_status, self.last_status)

    @property
    def service_task(self) -> bool:
        return self.started_by.startswith("ecs-svc/") or self.group.startswith("service:")


@dataclass(frozen=True)
class Decision:
    task: str
    cluster: str
    action: str  # STOP or KEEP
    reason: str
    age_seconds: float | None

    @property
    def stop(self) -> bool:
        return self.action == STOP

    def log_fields(self) -> dict[str, Any]:
        age = None if self.age_seconds is None else round(self.age_seconds)
        return {
            "task": self.task,
            "cluster": self.cluster,
            "decision": self.action,
            "reason": self.reason,
            "age_seconds": age,
        }


def decide(
    tasks: Iterable[TaskInfo],
    live_manager_launch_times: Sequence[datetime] | None,
    now: datetime,
    job_timeout_seconds: int,
    margin_seconds: int,
    grace_seconds: int = DEFAULT_GRACE_SECONDS,
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS,
) -> list[Decision]:
    """Stop or keep each task (see the module docstring for the rules, in order).

    `live_manager_launch_times`: LaunchTime of every live manager instance; an empty sequence
    means "no live manager", None means "unknown" (the orphan rule is then skipped)."""
    now = _aware(now) or now
    limit = job_timeout_seconds + margin_seconds
    oldest_manager = min(live_manager_launch_times) if live_manager_launch_times else None
    decisions: list[Decision] = []
    for task in tasks:
        if task.stopping:
            continue

        def verdict(action: str, reason: str, age: float | None, t: TaskInfo = task) -> None:
            decisions.append(Decision(t.arn, t.cluster, action, reason, age))

        if task.service_task:
            verdict(KEEP, "service task, not a CI job", None)
            continue
        born = task.born
        if born is None:
            verdict(KEEP, "no createdAt/startedAt: age unknown", None)
            continue
        age = (now - born).total_seconds()
        if age < grace_seconds:
            verdict(KEEP, f"within grace ({grace_seconds}s)", age)
        elif age > limit:
            verdict(STOP, f"over-time: older than job timeout + margin ({limit}s)", age)
        elif live_manager_launch_times is None:
            verdict(KEEP, "within job timeout; managers unknown", age)
        elif oldest_manager is None:
            verdict(STOP, "orphaned: no live runner manager", age)
        elif (oldest_manager - born).total_seconds() > clock_skew_seconds:
            verdict(STOP, "orphaned: created before every live runner manager launched", age)
        else:
            verdict(KEEP, "within job timeout; a live runner manager may own it", age)
    return decisions


def _aware(value: Any) -> datetime | None:
    """boto3 returns aware datetimes; accept naive UTC ones and ISO strings too."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
