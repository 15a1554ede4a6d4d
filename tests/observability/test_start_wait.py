"""ECS job start latency: the reaper turns its own task listing into JobStartWaitSeconds.

ECS DescribeTasks gives createdAt (RunTask accepted) and startedAt (RUNNING) per task; the
reaper runs every 5 minutes (reaper_resources.SCHEDULE_EXPRESSION), so a task that started
within the last 5 minutes is counted once. The metric goes out as embedded metric format:
a JSON log line whose `_aws.CloudWatchMetrics` names namespace, dimensions and metrics, with
up to 100 values in one metric's array (CloudWatch user guide, "Specification: Embedded
metric format")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from components.capacity.model import StackLimits
from components.config import parse_config
from components.domain.start_latency import FARGATE_START_SECONDS, start_wait_alarm_seconds
from components.ecs.reaper import handler
from components.ecs.reaper.decisions import TaskInfo
from components.ecs.reaper.start_wait import METRIC, emf_lines, start_waits
from components.observability.alarms import START_WAIT_HIGH, alarm_specs
from components.observability.catalogue import CLUSTER, START_WAIT
from components.observability.fleet import FleetView
from components.offline.mocks import Plan
from tests.observability.support import alarms, dashboard, start_wait_metric

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CLUSTER_ARN = "arn:aws:ecs:eu-west-1:123456789012:cluster/gfr-dev-fargate"


def task(arn: str, created: float | None, started: float | None) -> TaskInfo:
    """A RUNNING task created/started this many seconds before NOW."""
    return TaskInfo(
        arn=arn,
        cluster=CLUSTER_ARN,
        last_status="RUNNING",
        desired_status="RUNNING",
        created_at=None if created is None else NOW - timedelta(seconds=created),
        started_at=None if started is None else NOW - timedelta(seconds=started),
    )


def test_only_tasks_started_since_the_last_run_count_once() -> None:
    tasks = [
        task("a", created=100, started=52),  # waited 48 s, started 52 s ago
        task("b", created=700, started=400),  # started before the last run: counted then
        task("c", created=30, started=None),  # still PENDING
    ]
    assert start_waits(tasks, NOW, 300) == {"gfr-dev-fargate": [48.0]}


def test_the_emf_line_names_the_metric_the_dashboard_reads() -> None:
    values = [float(v) for v in range(150)]
    lines = [json.loads(line) for line in emf_lines("ns", {"gfr-dev-fargate": values}, NOW)]
    assert [len(doc[METRIC]) for doc in lines] == [100, 50]
    (declaration,) = lines[0]["_aws"]["CloudWatchMetrics"]
    assert declaration == {
        "Namespace": "ns",
        "Dimensions": [[CLUSTER]],
        "Metrics": [{"Name": START_WAIT, "Unit": "Seconds"}],
    }
    assert lines[0][CLUSTER] == "gfr-dev-fargate"
    assert lines[0]["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)


def test_settings_read_the_namespace_and_the_window() -> None:
    env = {
        "REAPER_METRICS_NAMESPACE": "gitlab-fargate-runners/dev",
        "REAPER_INTERVAL_SECONDS": "300",
    }
    settings = handler.Settings.load({"clusters": [CLUSTER_ARN]}, env)
    assert (settings.metrics_namespace, settings.interval_seconds) == (
        "gitlab-fargate-runners/dev",
        300,
    )
    assert handler.Settings.load({"clusters": [CLUSTER_ARN]}, {}).metrics_namespace == ""


def test_the_reaper_gets_the_stack_namespace_and_the_dashboard_shows_p50_p90(
    ecs_email_plan: Plan,
) -> None:
    (function,) = [
        r for r in ecs_email_plan.all("aws:lambda/function:Function") if "reaper" in r.name
    ]
    variables = function.inputs["environment"]["variables"]
    assert variables["REAPER_METRICS_NAMESPACE"] == "gitlab-fargate-runners/dev"
    assert variables["REAPER_INTERVAL_SECONDS"] == "300"
    (widget,) = [
        w
        for w in dashboard(ecs_email_plan)["widgets"]
        if w["properties"].get("title") == "Job start wait, RunTask to running (s)"
    ]
    expressions = [m[0]["expression"] for m in widget["properties"]["metrics"]]
    assert [e.split("', '")[1].split("'")[0] for e in expressions] == ["p50", "p90"]
    assert all(f'MetricName="{START_WAIT}"' in e and ",Cluster}" in e for e in expressions)


def test_each_used_lane_alarms_when_its_p90_is_three_times_the_estimated_start(
    ecs_email_plan: Plan,
) -> None:
    """The threshold is the capacity estimate's Fargate start (StackLimits().start_seconds,
    45 s) times START_WAIT_ALARM_FACTOR (3): a p90 of 135 s from RunTask to running is beyond
    the 40-60 s spread and large-image pulls. The metric is the reaper's, per cluster, read at
    the reaper's 5-minute cadence."""
    estimate = StackLimits(mode="ecs").start_seconds
    clusters = {r.inputs["name"]: r.name for r in ecs_email_plan.all("aws:ecs/cluster:Cluster")}
    by_lane = {
        a["name"].removeprefix("gitlab-runners-dev-").removesuffix("-start-wait"): a
        for a in alarms(ecs_email_plan)
        if a["name"].endswith("-start-wait")
    }
    assert set(by_lane) == {"fargate", "spot"}  # the dev stack has a runner on each lane
    for lane, alarm in by_lane.items():
        assert alarm["threshold"] == estimate * 3 == 135
        metric = start_wait_metric(alarm)
        (cluster,) = metric["dimensions"].values()
        assert set(metric["dimensions"]) == {CLUSTER}
        assert clusters[cluster].endswith("-cluster") and (lane == "spot") == (
            "spot" in clusters[cluster]
        )
        assert "135 s" in alarm["alarmDescription"] and "45 s" in alarm["alarmDescription"]


def test_only_the_lanes_the_runners_use_get_a_start_wait_alarm() -> None:
    config, _ = parse_config(
        {"runnerTokens": {"a": "glrt-" + "a" * 20}, "runners": [{"name": "a"}]}
    )
    view = FleetView(
        "ecs",
        "eu-west-1",
        "ns",
        "p",
        ("a",),
        ("g",),
        ("OnDemand",),
        "",
        config.alerts,
        clusters=(("fargate", "p"),),
    )
    waits = [s for s in alarm_specs(view) if s.kind == START_WAIT_HIGH]
    assert [s.key for s in waits] == ["fargate-start-wait"]
    assert waits[0].threshold == start_wait_alarm_seconds(FARGATE_START_SECONDS)
