"""The stack's CloudWatch dashboard body, a pure function of a FleetView.

Every metric it shows is a catalogue metric; widgets that break a metric down by a value
only known at run time (failure reason, HTTP status) use SEARCH over the declared dimension
set, which monitoring tests parse back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.observability.catalogue import (
    API_STATUSES,
    AUTOSCALING_NAMESPACE,
    CLUSTER,
    FAILED_JOBS,
    FAILURE_REASON,
    FEEDS,
    GROUP_METRICS,
    JOBS,
    JOBS_TOTAL,
    LIMIT,
    REQUEST_CONCURRENCY_EXCEEDED,
    RUNNER,
    START_FAILURE_REASONS,
    START_WAIT,
    STATUS,
    TASKS_NOT_STARTED,
    TOKEN,
    USAGE_METRIC,
    USAGE_NAMESPACE,
    MetricRef,
    fargate_usage_dimensions,
    runner_metric,
)
from components.observability.fleet import FleetView

WIDTH = 12  # two widgets a row on the dashboard's 24-column grid
START_WAIT_TITLES = {
    "ecs": "Job start wait, RunTask to running (s)",
    "eks": "Job start wait, pod created to Ready (s)",
}
HEIGHT = 6
SUMMARY_PERIOD = 300


def metric_entry(ref: MetricRef, **options: Any) -> list[Any]:
    """A `metrics` array entry: namespace, name, dimension pairs, then the rendering options."""
    flat = [part for pair in ref.dimensions for part in pair]
    return [ref.namespace, ref.name, *flat, {"stat": ref.stat, "period": ref.period, **options}]


def search(namespace: str, dimensions: Sequence[str], name: str, stat: str, period: int) -> str:
    schema = ",".join([f'"{namespace}"', *dimensions])
    return f"SEARCH('{{{schema}}} MetricName=\"{name}\"', '{stat}', {period})"


def _metric_widget(title: str, metrics: list[list[Any]], region: str, **extra: Any) -> dict:
    return {
        "type": "metric",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stacked": False,
            "metrics": metrics,
            **extra,
        },
    }


def _runner_load(view: FleetView) -> dict:
    metrics = []
    for r in view.runners:
        metrics.append(
            metric_entry(runner_metric(view.namespace, JOBS, **{RUNNER: r}), label=f"{r} running")
        )
        metrics.append(
            metric_entry(
                runner_metric(view.namespace, LIMIT, **{RUNNER: r}), label=f"{r} concurrency"
            )
        )
    return _metric_widget("Running jobs against each runner's concurrency", metrics, view.region)


def _per_runner(view: FleetView, title: str, name: str, period: int) -> dict:
    metrics = [
        metric_entry(MetricRef(view.namespace, name, ((RUNNER, r),), period=period), label=r)
        for r in view.runners
    ]
    return _metric_widget(title, metrics, view.region)


def _searched(view: FleetView, title: str, dims: Sequence[str], name: str) -> dict:
    expression = search(view.namespace, dims, name, "Sum", SUMMARY_PERIOD)
    return _metric_widget(title, [[{"expression": expression, "id": "e1"}]], view.region)


def _start_wait(view: FleetView) -> dict:
    """How long jobs waited to run, p50 and p90: in ECS mode per lane's cluster (RunTask to
    RUNNING), in EKS mode per runner (job pod created to Ready)."""
    ecs = view.mode == "ecs"
    dimension = CLUSTER if ecs else RUNNER
    metrics = [
        [
            {
                "expression": search(
                    view.namespace, (dimension,), START_WAIT, stat, SUMMARY_PERIOD
                ),
                "id": f"{stat}",
                "label": stat,
            }
        ]
        for stat in ("p50", "p90")
    ]
    title = START_WAIT_TITLES["ecs" if ecs else "eks"]
    return _metric_widget(title, metrics, view.region)


def _managers(view: FleetView) -> dict:
    metrics = [
        metric_entry(
            MetricRef(
                AUTOSCALING_NAMESPACE, name, (("AutoScalingGroupName", group),), stat="Minimum"
            ),
            label=f"manager {i} {name.removeprefix('Group')}",
        )
        for i, group in enumerate(view.manager_groups)
        for name in GROUP_METRICS
    ]
    return _metric_widget("Runner managers in service (Auto Scaling)", metrics, view.region)


def _start_failures(view: FleetView) -> dict:
    metrics = [
        metric_entry(
            MetricRef(
                view.namespace, FAILED_JOBS, ((FAILURE_REASON, reason),), period=SUMMARY_PERIOD
            ),
            label=reason,
        )
        for reason in START_FAILURE_REASONS
    ]
    if view.mode == "ecs":
        metrics.append(
            metric_entry(
                MetricRef(view.namespace, TASKS_NOT_STARTED, (), period=SUMMARY_PERIOD),
                label="ECS tasks stopped before running",
            )
        )
    return _metric_widget("Jobs that failed to start", metrics, view.region)


def task_events_query(log_group: str) -> str:
    """Logs Insights: why tasks stopped before running, by the reason's first part."""
    return (
        f"SOURCE '{log_group}' | parse detail.stoppedReason /^(?<reason>[^:]+)/ "
        "| stats count(*) as tasks by reason, detail.stopCode | sort tasks desc | limit 20"
    )


def _task_reasons(view: FleetView, log_group: str) -> dict:
    return {
        "type": "log",
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": "Why ECS tasks stopped before running",
            "region": view.region,
            "view": "table",
            "query": task_events_query(log_group),
        },
    }


def _fargate_quota(view: FleetView) -> dict:
    metrics: list[list[Any]] = []
    for i, fargate_class in enumerate(view.fargate_classes):
        usage = MetricRef(
            USAGE_NAMESPACE,
            USAGE_METRIC,
            tuple(sorted(fargate_usage_dimensions(fargate_class).items())),
            stat="Maximum",
        )
        metrics.append(metric_entry(usage, id=f"vcpu{i}", label=f"{fargate_class} vCPU in use"))
        metrics.append(
            [
                {
                    "expression": f"SERVICE_QUOTA(vcpu{i})",
                    "id": f"quota{i}",
                    "label": f"{fargate_class} quota",
                }
            ]
        )
    return _metric_widget("Fargate vCPU in use against the quota", metrics, view.region)


def _alarms(alarm_arns: Sequence[str]) -> dict:
    return {
        "type": "alarm",
        "width": 24,
        "height": 4,
        "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)},
    }


def dashboard_body(view: FleetView, alarm_arns: Sequence[str]) -> dict[str, Any]:
    widgets = [
        _alarms(alarm_arns),
        _runner_load(view),
        _per_runner(view, "Runners polling GitLab (worker feeds a minute)", FEEDS, 60),
        _per_runner(view, "Jobs handled (per 5 minutes)", JOBS_TOTAL, SUMMARY_PERIOD),
        _searched(view, "Failed jobs by runner and reason", (RUNNER, FAILURE_REASON), FAILED_JOBS),
        _searched(
            view, "GitLab API throttling (429) and server errors (5xx)", (STATUS,), API_STATUSES
        ),
        _start_failures(view),
        _searched(
            view,
            "Job requests over request_concurrency (by runner token)",
            (TOKEN,),
            REQUEST_CONCURRENCY_EXCEEDED,
        ),
    ]
    if view.task_events_log_group is not None:  # ECS mode (FleetView checks)
        widgets += [
            _start_wait(view),
            _task_reasons(view, view.task_events_log_group),
            _managers(view),
        ]
    elif view.runner_start_seconds:  # EKS mode: the start-wait sampler's metric
        widgets.append(_start_wait(view))
    widgets.append(_fargate_quota(view))
    # Lay out in reading order: full-width widgets take a row, others pair up.
    x = y = row = 0
    for widget in widgets:
        if x + widget["width"] > 24:
            x, y, row = 0, y + row, 0
        widget["x"], widget["y"] = x, y
        x += widget["width"]
        row = max(row, widget["height"])
    return {"widgets": widgets}
