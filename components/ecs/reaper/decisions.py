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
    subnet: str = ""  # the subnet of its network interface (the driver passes exactly one)

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
            subnet=_subnet(task),
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


def _subnet(task: Mapping[str, Any]) -> str:
    """The `subnetId` detail of the task's ElasticNetworkInterface attachment (DescribeTasks)."""
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "subnetId":
                return str(detail.get("value", ""))
    return ""


@dataclass(frozen=True)
class LiveManager:
    """A pending or running manager instance: when it launched, and the subnets its driver
    configs start tasks in (its `TASK_SUBNETS_TAG`), None when it does not say (launched
    before the tag existed): such a manager may own a task in any subnet."""

    launched_at: datetime
    subnets: frozenset[str] | None = None

    def may_own(self, task: TaskInfo) -> bool:
        return self.subnets is None or not task.subnet or task.subnet in self.subnets


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
    live_managers: Sequence[LiveManager] | None,
    now: datetime,
    job_timeout_seconds: int,
    margin_seconds: int,
    grace_seconds: int = DEFAULT_GRACE_SECONDS,
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS,
) -> list[Decision]:
    """Stop or keep each task (see the module docstring for the rules, in order).

    `live_managers`: every live manager instance; an empty sequence means "no live manager",
    None means "unknown" (the orphan rule is then skipped). A task is compared with the
    managers that may own it (those whose subnets include the task's), so a lost manager's
    tasks are not kept alive by an older manager of another shard."""
    now = _aware(now) or now
    limit = job_timeout_seconds + margin_seconds
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
        elif live_managers is None:
            verdict(KEEP, "within job timeout; managers unknown", age)
        elif not live_managers:
            verdict(STOP, "orphaned: no live runner manager", age)
        elif not (owners := [m.launched_at for m in live_managers if m.may_own(task)]):
            verdict(STOP, f"orphaned: no live runner manager starts tasks in {task.subnet}", age)
        elif (min(owners) - born).total_seconds() > clock_skew_seconds:
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
