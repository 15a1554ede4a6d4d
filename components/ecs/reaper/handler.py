"""Task reaper: stops CI job tasks that no runner manager will ever stop.

Zipped with decisions.py (the pure part) as the package `reaper` of a Lambda function
(Python 3.12): standard library and boto3 only, no other project imports.

Why it exists. GitLab's Fargate driver stops a job's task only in its `cleanup` stage. A runner
manager that dies, is replaced or restarts mid-job leaves the task running: it costs money until
someone notices, ECS refuses to delete a cluster that still has tasks
(ClusterContainsTasksException) and the task's ENI blocks deleting its subnet and security group.

Who owns a task? The driver calls RunTask without `startedBy`, tags or a group we control, so
a task does not name the manager that started it. What we do know:

* a manager can only start tasks after its instance launched (EC2 `LaunchTime`), and
* a manager never adopts another manager's jobs: a new or restarted gitlab-runner process
  starts with no jobs, so every task it did not start itself is nobody's.

Hence a task created before the OLDEST live manager launched cannot belong to any live manager.
"Live managers" come from the stack's Auto Scaling group: `autoscaling:DescribeAutoScalingGroups`
lists the group's instance ids (it carries no launch time), `ec2:DescribeInstances` gives each
one's `LaunchTime` and state; an instance is live while its EC2 state is `pending` or `running`
(that includes an instance held in `Terminating:Wait` by a lifecycle hook while it drains).
A gitlab-runner restart on the same instance is invisible to this rule; the time limit covers it.

Decision rules (`decide`), for each task in the stack's clusters:

1. desired or last status STOPPED: ignored (ECS is already stopping it; no decision).
2. a service's task (`startedBy` "ecs-svc/...", group "service:..."): kept, not a CI job.
3. younger than `grace_seconds` (from `createdAt`): kept. Covers a manager that has just
   booted but is not yet visible in the Auto Scaling API, and clock skew.
4. older than `job_timeout_seconds + margin_seconds`: stopped ("over-time"). GitLab's job
   timeout starts before the task is created, so the job has certainly timed out and its
   cleanup stage had `margin_seconds` to stop the task itself.
5. when the managers are known: no live manager at all, or created more than
   `clock_skew_seconds` before the oldest live manager launched: stopped ("orphaned").
   When they are not known (no group configured, or a configured group was not found), this
   rule is skipped: a wrong group name must not kill running jobs.
6. otherwise kept.

Events:

* `{"action": "reap", "autoscaling_group_names": [...]}`: the EventBridge Scheduler run.
* `aws.lambda_.Invocation(lifecycle_scope="CRUD")` input, which gains
  `"tf": {"action": "create" | "update" | "delete", "prev_input": ...}`: on `delete` (during
  `pulumi destroy`) scale the manager groups it names to zero and wait until their managers
  take no more jobs (managers.py), then stop EVERY task of the clusters and wait until all are
  STOPPED, bounded by the remaining Lambda time minus a safety margin; fail loudly if they do
  not stop in time (the destroy then stops with this message instead of a later
  ClusterContainsTasksException). On create and update: nothing to do.
* `{"action": "drain"}`: the same drain by hand (for example before a manual teardown); with
  `autoscaling_group_names` it retires those groups first, and they stay at zero until
  `pulumi up --refresh` (a plain `pulumi up` compares with its recorded state, which still
  says one manager, so it changes nothing).

Environment (event keys `clusters` / `autoscaling_group_names` override the first two):

* `REAPER_CLUSTERS`: comma-separated cluster ARNs (or names) of the stack. Required.
* `REAPER_AUTOSCALING_GROUPS`: comma-separated Auto Scaling group names of the managers.
  Optional; without it only the time rule applies.
* `REAPER_JOB_TIMEOUT_SECONDS` (default 3600): the longest job the runners accept.
* `REAPER_MARGIN_SECONDS` (default 900): extra time for the job's cleanup stage.
* `REAPER_GRACE_SECONDS` (default 300): minimum task age before any reaping.
* `REAPER_CLOCK_SKEW_SECONDS` (default 60): tolerance between ECS and EC2 timestamps.
* `REAPER_DRY_RUN` (default false): log decisions, stop nothing (reap only).
* `REAPER_POLL_SECONDS` (default 10): drain polling interval.
* `REAPER_DRAIN_SAFETY_SECONDS` (default 60): drain stops waiting this long before the
  Lambda timeout. `REAPER_DRAIN_TIMEOUT_SECONDS` (default 840) bounds it without a context.
* `REAPER_SETTLE_SECONDS` (default 15): after the managers are retiring, time for their
  drain service to stop gitlab-runner before the drain stops the tasks.

Every decision is logged as one JSON line (task, cluster, decision, reason, age_seconds).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .decisions import (
    DEFAULT_CLOCK_SKEW_SECONDS,
    DEFAULT_GRACE_SECONDS,
    KEEP,
    STOP,
    STOPPED,
    Decision,
    TaskInfo,
    _aware,
    decide,
)
from .managers import DEFAULT_RETIRE_WAIT_SECONDS, DEFAULT_SETTLE_SECONDS, retire_managers
from .start_wait import emf_lines, start_waits

__all__ = ["KEEP", "STOP", "STOPPED", "Decision", "TaskInfo", "decide", "handler"]

LIVE_INSTANCE_STATES = frozenset({"pending", "running"})
DESCRIBE_TASKS_BATCH = 100  # DescribeTasks accepts at most 100 tasks per call
DESCRIBE_INSTANCES_BATCH = 100
STOP_REASON_PREFIX = "gitlab-runner task reaper"
STOP_REASON_LIMIT = 255  # StopTask's `reason` is at most 255 characters

DEFAULT_JOB_TIMEOUT_SECONDS = 3600
DEFAULT_MARGIN_SECONDS = 900
DEFAULT_POLL_SECONDS = 10
DEFAULT_DRAIN_SAFETY_SECONDS = 60
DEFAULT_DRAIN_TIMEOUT_SECONDS = 840  # 14 of Lambda's 15 minutes

# Throttled ECS/EC2/Auto Scaling calls back off and retry instead of failing the run.
BOTO_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})


# --------------------------------------------------------------------------------------------
# Settings and logging.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    clusters: tuple[str, ...]
    autoscaling_groups: tuple[str, ...]
    job_timeout_seconds: int
    margin_seconds: int
    grace_seconds: int
    clock_skew_seconds: int
    dry_run: bool
    poll_seconds: float
    drain_safety_seconds: int
    drain_timeout_seconds: int
    settle_seconds: int
    metrics_namespace: str = ""  # JobStartWaitSeconds goes there (start_wait.py); "" = none
    interval_seconds: int = 300  # the reap schedule's period: the start-wait window

    @classmethod
    def load(cls, event: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
        previous = (event.get("tf") or {}).get("prev_input") or {}
        clusters = _names(
            event.get("clusters") or previous.get("clusters") or env.get("REAPER_CLUSTERS")
        )
        if not clusters:
            raise ValueError("no clusters: set REAPER_CLUSTERS or the event's `clusters`")
        groups = _names(
            event.get("autoscaling_group_names") or env.get("REAPER_AUTOSCALING_GROUPS")
        )
        return cls(
            clusters=clusters,
            autoscaling_groups=groups,
            job_timeout_seconds=_int(
                env, "REAPER_JOB_TIMEOUT_SECONDS", DEFAULT_JOB_TIMEOUT_SECONDS
            ),
            margin_seconds=_int(env, "REAPER_MARGIN_SECONDS", DEFAULT_MARGIN_SECONDS),
            grace_seconds=_int(env, "REAPER_GRACE_SECONDS", DEFAULT_GRACE_SECONDS),
            clock_skew_seconds=_int(env, "REAPER_CLOCK_SKEW_SECONDS", DEFAULT_CLOCK_SKEW_SECONDS),
            dry_run=env.get("REAPER_DRY_RUN", "").strip().lower() in {"1", "true", "yes"},
            poll_seconds=float(env.get("REAPER_POLL_SECONDS", DEFAULT_POLL_SECONDS)),
            drain_safety_seconds=_int(
                env, "REAPER_DRAIN_SAFETY_SECONDS", DEFAULT_DRAIN_SAFETY_SECONDS
            ),
            drain_timeout_seconds=_int(
                env, "REAPER_DRAIN_TIMEOUT_SECONDS", DEFAULT_DRAIN_TIMEOUT_SECONDS
            ),
            settle_seconds=_int(env, "REAPER_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS),
            metrics_namespace=env.get("REAPER_METRICS_NAMESPACE", "").strip(),
            interval_seconds=_int(env, "REAPER_INTERVAL_SECONDS", 300),
        )


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    value = int(raw) if raw else default
    if value < 0:
        raise ValueError(f"{key} must not be negative: {value}")
    return value


def log(event: str, **fields: Any) -> None:
    """One JSON object per line: CloudWatch Logs Insights can filter on every field."""
    print(json.dumps({"event": event, **fields}, default=str, sort_keys=True), flush=True)


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------
# AWS side.
# --------------------------------------------------------------------------------------------


def _client(service: str) -> Any:
    return boto3.client(service, config=BOTO_CONFIG)


def _task_arns(ecs: Any, cluster: str, desired_status: str) -> Iterator[str]:
    paginator = ecs.get_paginator("list_tasks")
    for page in paginator.paginate(cluster=cluster, desiredStatus=desired_status):
        yield from page.get("taskArns", [])


def _describe(ecs: Any, cluster: str, arns: Sequence[str]) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    for start in range(0, len(arns), DESCRIBE_TASKS_BATCH):
        batch = list(arns[start : start + DESCRIBE_TASKS_BATCH])
        response = ecs.describe_tasks(cluster=cluster, tasks=batch, include=["TAGS"])
        tasks.extend(response.get("tasks", []))
    return tasks


def _cluster_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ClusterNotFoundException"


def active_tasks(ecs: Any, clusters: Sequence[str]) -> list[TaskInfo]:
    """Every task the clusters still want RUNNING (PROVISIONING, PENDING or RUNNING), once
    each even if a cluster is listed twice (by name and by ARN)."""
    found: dict[str, TaskInfo] = {}
    for cluster in clusters:
        try:
            arns = list(_task_arns(ecs, cluster, "RUNNING"))
            for raw in _describe(ecs, cluster, arns):
                info = TaskInfo.from_api(raw)
                found.setdefault(info.arn, info)
        except ClientError as error:
            if not _cluster_missing(error):
                raise
            log("cluster-missing", cluster=cluster)
    return list(found.values())


def live_manager_launch_times(
    autoscaling: Any, ec2: Any, group_names: Sequence[str]
) -> list[datetime] | None:
    """LaunchTime of each pending/running instance of the groups; None when not knowable."""
    if not group_names:
        return None
    groups: list[dict[str, Any]] = []
    paginator = autoscaling.get_paginator("describe_auto_scaling_groups")
    for page in paginator.paginate(AutoScalingGroupNames=list(group_names)):
        groups.extend(page.get("AutoScalingGroups", []))
    missing = set(group_names) - {g["AutoScalingGroupName"] for g in groups}
    if missing:
        log("managers-unknown", missing_groups=sorted(missing))
        return None
    instance_ids = sorted({i["InstanceId"] for g in groups for i in g.get("Instances", [])})
    launches: list[datetime] = []
    try:
        for start in range(0, len(instance_ids), DESCRIBE_INSTANCES_BATCH):
            batch = instance_ids[start : start + DESCRIBE_INSTANCES_BATCH]
            for page in ec2.get_paginator("describe_instances").paginate(InstanceIds=batch):
                for reservation in page.get("Reservations", []):
                    for instance in reservation.get("Instances", []):
                        launched = _aware(instance.get("LaunchTime"))
                        state = instance.get("State", {}).get("Name")
                        if launched is not None and state in LIVE_INSTANCE_STATES:
                            launches.append(launched)
    except ClientError as error:
        # The group and EC2 disagree for a moment (an instance just launched or long gone):
        # skip the orphan rule for this run rather than guess.
        if error.response.get("Error", {}).get("Code") != "InvalidInstanceID.NotFound":
            raise
        log("managers-unknown", error=str(error))
        return None
    log("managers", groups=list(group_names), live=len(launches), launch_times=launches)
    return launches


def _stop(ecs: Any, cluster: str, arn: str, reason: str) -> bool:
    try:
        ecs.stop_task(
            cluster=cluster, task=arn, reason=f"{STOP_REASON_PREFIX}: {reason}"[:STOP_REASON_LIMIT]
        )
    except ClientError as error:
        log("stop-failed", task=arn, cluster=cluster, error=str(error))
        return False
    return True


def reap(settings: Settings, ecs: Any, autoscaling: Any, ec2: Any) -> dict[str, Any]:
    tasks = active_tasks(ecs, settings.clusters)
    if settings.metrics_namespace:
        now = _now()
        waits = start_waits(tasks, now, settings.interval_seconds)
        for line in emf_lines(settings.metrics_namespace, waits, now):
            print(line, flush=True)
    managers = live_manager_launch_times(autoscaling, ec2, settings.autoscaling_groups)
    decisions = decide(
        tasks,
        managers,
        _now(),
        settings.job_timeout_seconds,
        settings.margin_seconds,
        settings.grace_seconds,
        settings.clock_skew_seconds,
    )
    stopped, failed = [], []
    for decision in decisions:
        log("decision", dry_run=settings.dry_run, **decision.log_fields())
        if decision.stop and not settings.dry_run:
            ok = _stop(ecs, decision.cluster, decision.task, decision.reason)
            (stopped if ok else failed).append(decision.task)
    result = {
        "action": "reap",
        "tasks": len(decisions),
        "stopped": stopped,
        "failed": failed,
        "dry_run": settings.dry_run,
    }
    log("reap-done", **result)
    if failed:
        # Surface in the function's Errors metric; the next scheduled run tries again.
        raise RuntimeError(f"could not stop {len(failed)} task(s): {failed}")
    return result


class DrainTimeout(RuntimeError):
    pass


def drain(settings: Settings, ecs: Any, deadline: float, autoscaling: Any = None) -> dict[str, Any]:
    """Retire the managers (when their groups are known), then stop every task of the
    clusters and wait until all are STOPPED (or the deadline)."""
    if settings.autoscaling_groups and autoscaling is not None:
        retire_managers(
            autoscaling,
            settings.autoscaling_groups,
            log,
            time.monotonic,
            time.sleep,
            settings.poll_seconds,
            # Never more than half the time left: stopping the tasks needs the rest.
            wait_seconds=min(
                DEFAULT_RETIRE_WAIT_SECONDS, max(0.0, deadline - time.monotonic()) / 2
            ),
            settle_seconds=settings.settle_seconds,
        )
    requested: set[str] = set()
    finished: set[str] = set()  # seen STOPPED: ListTasks keeps returning them for a while
    while True:
        remaining: dict[str, str] = {}  # task ARN -> last status, for tasks not yet STOPPED
        for cluster in settings.clusters:
            try:
                wanted_running = list(_task_arns(ecs, cluster, "RUNNING"))
                # Tasks already told to stop still hold their ENI until they reach STOPPED.
                stopping = list(_task_arns(ecs, cluster, STOPPED))
                arns = [a for a in dict.fromkeys(wanted_running + stopping) if a not in finished]
                tasks = _describe(ecs, cluster, arns)
            except ClientError as error:
                if not _cluster_missing(error):
                    raise
                log("cluster-missing", cluster=cluster)
                continue
            for raw in tasks:
                task = TaskInfo.from_api(raw)
                if task.last_status == STOPPED:
                    finished.add(task.arn)
                    continue
                remaining[task.arn] = task.last_status
                if task.desired_status != STOPPED and task.arn not in requested:
                    log(
                        "decision",
                        task=task.arn,
                        cluster=task.cluster or cluster,
                        decision=STOP,
                        reason="destroy drain",
                        age_seconds=_age(task),
                    )
                    if _stop(ecs, task.cluster or cluster, task.arn, "stack destroy"):
                        requested.add(task.arn)
        if not remaining:
            result = {"action": "drain", "stopped": sorted(requested)}
            log("drain-done", **result)
            return result
        if time.monotonic() >= deadline:
            log("drain-timeout", remaining=remaining)
            raise DrainTimeout(
                f"{len(remaining)} task(s) in {list(settings.clusters)} not STOPPED in time: "
                f"{sorted(remaining)}; run `pulumi destroy` again once they have stopped"
            )
        log("drain-waiting", remaining=len(remaining))
        time.sleep(max(0.0, min(settings.poll_seconds, deadline - time.monotonic())))


def _age(task: TaskInfo) -> float | None:
    born = task.born
    return None if born is None else round((_now() - born).total_seconds())


def _drain_deadline(settings: Settings, context: Any) -> float:
    budget = float(settings.drain_timeout_seconds)
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        budget = remaining_ms() / 1000 - settings.drain_safety_seconds
    return time.monotonic() + max(0.0, budget)


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    event = event or {}
    lifecycle = event.get("tf")
    if isinstance(lifecycle, Mapping):
        phase = lifecycle.get("action")
        log("lifecycle", phase=phase)
        if phase != "delete":
            return {"action": "lifecycle", "phase": phase, "status": "ok"}
        action = "drain"
    else:
        action = event.get("action", "reap")
    settings = Settings.load(event, os.environ)
    ecs = _client("ecs")
    if action == "drain":
        return drain(settings, ecs, _drain_deadline(settings, context), _client("autoscaling"))
    if action == "reap":
        return reap(settings, ecs, _client("autoscaling"), _client("ec2"))
    raise ValueError(f"unknown action {action!r}: expected 'reap' or 'drain'")
