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

from components.ecs.reaper import handler
from components.ecs.reaper.decisions import TaskInfo
from components.ecs.reaper.start_wait import METRIC, emf_lines, start_waits
from components.observability.catalogue import CLUSTER, START_WAIT
from components.offline.mocks import Plan
from tests.observability.support import dashboard

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
