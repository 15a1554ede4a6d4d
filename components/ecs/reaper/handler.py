"""Task reaper: stops CI job tasks that no runner manager will ever stop.

Zipped with decisions.py (the pure part) as the package `reaper` of a Lambda function
(Python 3.12): standard library and boto3 only, no other project imports.

Why it exists. GitLab's Fargate driver stops a job's task only in its `cleanup` stage. A runner
manager that dies, is replaced or restarts mid-job leaves the task running: it costs money until
someone notices, ECS refuses to delete a cluster that still has tasks
(ClusterContainsTasksException) and the task's ENI blocks deleting its subnet and security group.

Who owns a task? The driver's RunTask sets the cluster, the task definition, ONE subnet and
ONE security group from the runner's fargate.toml, and no `startedBy`, tags or group of ours
(driver source aws/fargate.go, awsFargate.RunTask). So a task names its subnet, and:

* a manager can only start tasks after its instance launched (EC2 `LaunchTime`), only in
  the subnets of its driver configs (its instance's `TASK_SUBNETS_TAG`; with two or more
  managers each uses one subnet, components/ecs/sizing.py shard_subnet), and
* a manager never adopts another manager's jobs: a new or restarted gitlab-runner process
  starts with no jobs, so every task it did not start itself is nobody's.

Hence a task created before the OLDEST live manager that may own it (one whose subnets hold
the task's subnet, or that names none) launched belongs to no live manager. The managers are
the stack's Auto Scaling groups, found by their tag (`REAPER_MANAGER_GROUP_TAG`), not by
name: a group that has left the program but still drains keeps its tag until deleted, so its
manager still counts. `autoscaling:DescribeAutoScalingGroups` (tag filter) lists their
instances, `ec2:DescribeInstances` gives each one's `LaunchTime`, state and tags; an
instance is live while its EC2 state is `pending` or `running` (that includes an instance
held in `Terminating:Wait` by a lifecycle hook while it drains).
A gitlab-runner restart on the same instance is invisible to this rule; the time limit covers it.

Decision rules (`decide`), for each task in the stack's clusters:

1. desired or last status STOPPED: ignored (ECS is already stopping it; no decision).
2. a service's task (`startedBy` "ecs-svc/...", group "service:..."): kept, not a CI job.
3. younger than `grace_seconds` (from `createdAt`): kept. Covers a manager that has just
   booted but is not yet visible in the Auto Scaling API, and clock skew.
4. older than `job_timeout_seconds + margin_seconds`: stopped ("over-time"). GitLab's job
   timeout starts before the task is created, so the job has certainly timed out and its
   cleanup stage had `margin_seconds` to stop the task itself.
5. when the managers are known: no live manager that may own it, or created more than
   `clock_skew_seconds` before the oldest of them launched: stopped ("orphaned").
   When they are not known (no tag or group configured, no group found), this rule is
   skipped: a wrong tag or group name must not kill running jobs.
6. otherwise kept.

Events:

* `{"action": "reap"}`: the EventBridge Scheduler run (`autoscaling_group_names`: by name).
* `aws.lambda_.Invocation(lifecycle_scope="CRUD")` input, which gains
  `"tf": {"action": "create" | "update" | "delete", "prev_input": ...}`: on `delete` (during
  `pulumi destroy`) scale the manager groups it names to zero and wait until their managers
  take no more jobs (managers.py), then stop EVERY task of the clusters and wait until all are
  STOPPED, bounded by the remaining Lambda time minus a safety margin; fail loudly if they do
  not stop in time (the destroy then stops with this message instead of a later
  ClusterContainsTasksException). A delete during a switch to `mode: eks` (the topology
  marker says so, teardown.py) only retires the managers: their jobs run to their end while
  the groups' deletes wait for them. On create and update: nothing to do.
* `{"action": "drain"}`: the same drain by hand (for example before a manual teardown); with
  `autoscaling_group_names` it retires those groups first, and they stay at zero until
  `pulumi up --refresh` (a plain `pulumi up` compares with its recorded state, which still
  says one manager, so it changes nothing).

Environment (event keys `clusters` / `autoscaling_group_names` override the first two):

* `REAPER_CLUSTERS`: comma-separated cluster ARNs (or names) of the stack. Required.
* `REAPER_MANAGER_GROUP_TAG`: `key=value` every manager group carries (reap finds them by it).
* `REAPER_AUTOSCALING_GROUPS`: comma-separated group names, used when no tag is set.
  Without either, only the time rule applies.
* `REAPER_JOB_TIMEOUT_SECONDS` (default 3600): the longest job the runners accept.
* `REAPER_MARGIN_SECONDS` (default 900): extra time for the job's cleanup stage.
* `REAPER_GRACE_SECONDS` (default 300): minimum task age before any reaping.
* `REAPER_CLOCK_SKEW_SECONDS` (default 60): tolerance between ECS and EC2 timestamps.
* `REAPER_DRY_RUN` (default false): log decisions, stop nothing (reap only).
* `REAPER_POLL_SECONDS` (default 10): drain polling interval.
* `REAPER_DRAIN_SAFETY_SECONDS` (default 60): drain stops waiting this long before the
  Lambda timeout. `REAPER_DRAIN_TIMEOUT_SECONDS` (default 840) bounds it without a context.
* `REAPER_TOPOLOGY_PARAMETER`: the topology marker's SSM parameter name (teardown.py).
* `REAPER_SETTLE_SECONDS` (default 15): after the managers are retiring, time for their
  drain service to stop gitlab-runner before the drain stops the tasks.

Every decision is logged as one JSON line (task, cluster, decision, reason, age_seconds).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .decisions import (
    DEFAULT_GRACE_SECONDS,
    KEEP,
    STOP,
    STOPPED,
    Decision,
    LiveManager,
    TaskInfo,
    decide,
)
from .instances import describe_live_managers
from .managers import DEFAULT_RETIRE_WAIT_SECONDS, retire_managers
from .settings import DEFAULT_MARGIN_SECONDS, Settings
from .start_wait import emf_lines, start_waits
from .teardown import DESTROY, SWITCH, teardown_kind

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "DEFAULT_MARGIN_SECONDS",
    "KEEP",
    "STOP",
    "STOPPED",
    "Decision",
    "LiveManager",
    "Settings",
    "TaskInfo",
    "decide",
    "handler",
]

DESCRIBE_TASKS_BATCH = 100  # DescribeTasks accepts at most 100 tasks per call
STOP_REASON_PREFIX = "gitlab-runner task reaper"
STOP_REASON_LIMIT = 255  # StopTask's `reason` is at most 255 characters


# Throttled ECS/EC2/Auto Scaling calls back off and retry instead of failing the run.
BOTO_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})


# --------------------------------------------------------------------------------------------
# Settings and logging.
# --------------------------------------------------------------------------------------------


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


def _groups(autoscaling: Any, settings: Settings) -> list[dict[str, Any]] | None:
    """The manager groups: those carrying the stack's tag (a group that has left the program
    but still drains is found too), else the named ones; None when none is found."""
    paginator = autoscaling.get_paginator("describe_auto_scaling_groups")
    if settings.manager_group_tag is not None:
        key, value = settings.manager_group_tag
        query: dict[str, Any] = {"Filters": [{"Name": f"tag:{key}", "Values": [value]}]}
    elif settings.autoscaling_groups:
        query = {"AutoScalingGroupNames": list(settings.autoscaling_groups)}
    else:
        return None
    groups = [g for page in paginator.paginate(**query) for g in page["AutoScalingGroups"]]
    missing = set(settings.autoscaling_groups) - {g["AutoScalingGroupName"] for g in groups}
    if not groups or (settings.manager_group_tag is None and missing):
        log("managers-unknown", tag=settings.manager_group_tag, missing_groups=sorted(missing))
        return None
    return groups


def live_managers(autoscaling: Any, ec2: Any, settings: Settings) -> list[LiveManager] | None:
    """Each pending/running instance of the manager groups; None when not knowable."""
    groups = _groups(autoscaling, settings)
    if groups is None:
        return None
    instance_ids = sorted({i["InstanceId"] for g in groups for i in g.get("Instances", [])})
    try:
        managers = describe_live_managers(ec2, instance_ids)
    except ClientError as error:
        # The group and EC2 disagree for a moment (an instance just launched or long gone):
        # skip the orphan rule for this run rather than guess.
        if error.response.get("Error", {}).get("Code") != "InvalidInstanceID.NotFound":
            raise
        log("managers-unknown", error=str(error))
        return None
    names = [g["AutoScalingGroupName"] for g in groups]
    log("managers", groups=names, live=len(managers), managers=managers)
    return managers


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
    managers = live_managers(autoscaling, ec2, settings)
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


def _retire(settings: Settings, autoscaling: Any, deadline: float) -> dict[str, Any]:
    return retire_managers(
        autoscaling,
        settings.autoscaling_groups,
        log,
        time.monotonic,
        time.sleep,
        settings.poll_seconds,
        # Never more than half the time left: stopping the tasks needs the rest.
        wait_seconds=min(DEFAULT_RETIRE_WAIT_SECONDS, max(0.0, deadline - time.monotonic()) / 2),
        settle_seconds=settings.settle_seconds,
    )


def drain(settings: Settings, ecs: Any, deadline: float, autoscaling: Any = None) -> dict[str, Any]:
    """Retire the managers (when their groups are known), then stop every task of the
    clusters and wait until all are STOPPED (or the deadline)."""
    if settings.autoscaling_groups and autoscaling is not None:
        _retire(settings, autoscaling, deadline)
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
    if isinstance(lifecycle, Mapping):
        kind = teardown_kind(_client("ssm"), settings.topology_parameter)
        log("teardown", kind=kind, marker=settings.topology_parameter)
        if kind != DESTROY:
            # A switch or an update: no task is stopped; a switch retires the managers and
            # their groups' deletes wait for the running jobs.
            retired = None
            if kind == SWITCH and settings.autoscaling_groups:
                retired = _retire(
                    settings, _client("autoscaling"), _drain_deadline(settings, context)
                )
            return {"action": "drain", "teardown": kind, "stopped": [], "retired": retired}
    ecs = _client("ecs")
    if action == "drain":
        return drain(settings, ecs, _drain_deadline(settings, context), _client("autoscaling"))
    if action == "reap":
        return reap(settings, ecs, _client("autoscaling"), _client("ec2"))
    raise ValueError(f"unknown action {action!r}: expected 'reap' or 'drain'")
