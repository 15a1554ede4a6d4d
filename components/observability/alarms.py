"""The alarms, as pure specs: one `pulumi_aws.cloudwatch.MetricAlarm` each (monitoring.py).

Six kinds (docs/observability.md says what each means and what to do):
- manager-down: a runner that neither polls GitLab nor is full (both modes), and in ECS mode a
  manager's Auto Scaling group without an instance in service;
- job-start-failures: jobs whose task or pod never started, or that failed on the runner's side;
- runner-saturated: a runner at its concurrency for alerts.saturatedMinutes;
- fargate-quota: Fargate vCPU in use above alerts.fargateQuotaPercent of the quota;
- start-wait: the p90 wait of jobs to run far above the capacity estimate's start: in ECS
  mode per lane (RunTask to running, the reaper's metric), in EKS mode per runner (pod
  created to Ready, the start-wait sampler's metric);
  docs/observability.md#job-start-wait-above-the-estimate;
- function-errors: the ECS task reaper or the EKS start-wait sampler failing its runs (the
  start-wait alarms read no data as fine, so a broken sampler would be silent otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.domain.start_latency import FARGATE_START_SECONDS, start_wait_alarm_seconds
from components.observability.catalogue import (
    AUTOSCALING_NAMESPACE,
    CLUSTER,
    FAILED_JOBS,
    FAILURE_REASON,
    FEEDS,
    FUNCTION_NAME,
    IN_SERVICE,
    JOBS,
    LAMBDA_ERRORS,
    LAMBDA_NAMESPACE,
    LIMIT,
    RUNNER,
    START_FAILURE_REASONS,
    START_WAIT,
    TASKS_NOT_STARTED,
    USAGE_METRIC,
    USAGE_NAMESPACE,
    MetricRef,
    fargate_usage_dimensions,
    runner_metric,
)
from components.observability.fleet import FleetView

MANAGER_DOWN = "manager-down"
JOB_START_FAILURES = "job-start-failures"
RUNNER_SATURATED = "runner-saturated"
FARGATE_QUOTA = "fargate-quota"
START_WAIT_HIGH = "start-wait"
FUNCTION_ERRORS = "function-errors"
KINDS = (
    MANAGER_DOWN,
    JOB_START_FAILURES,
    RUNNER_SATURATED,
    FARGATE_QUOTA,
    START_WAIT_HIGH,
    FUNCTION_ERRORS,
)
DOCS = "docs/observability.md"
START_FAILURE_WINDOW_SECONDS = 900
QUOTA_EVALUATION_MINUTES = 5
# The reaper writes the start waits once per run, every 5 minutes (REAPER_INTERVAL_SECONDS):
# one p90 per run; two runs of three above the threshold alarm, a single slow burst does not.
# The EKS sampler writes every minute; its p90 is read over the same 5-minute periods, so the
# two modes' alarms judge the same span of starts.
START_WAIT_PERIOD_SECONDS = 300
START_WAIT_EVALUATION_PERIODS = 3
START_WAIT_DATAPOINTS = 2
# A function fails in two of three 5-minute periods: the reaper runs once a period, the
# sampler five times; one failed run (a throttle, an API blip) does not page.
FUNCTION_ERRORS_PERIOD_SECONDS = 300
FUNCTION_ERRORS_EVALUATION_PERIODS = 3
FUNCTION_ERRORS_DATAPOINTS = 2
# Both ECS lanes run their jobs on Fargate (FARGATE and FARGATE_SPOT capacity providers).
ECS_LANE_START_SECONDS = {"fargate": FARGATE_START_SECONDS, "spot": FARGATE_START_SECONDS}


@dataclass(frozen=True)
class MetricQuery:
    """One entry of an alarm's metric math: a metric or an expression over the others."""

    id: str
    metric: MetricRef | None = None
    expression: str | None = None
    label: str | None = None
    return_data: bool = False


@dataclass(frozen=True)
class AlarmSpec:
    key: str  # names the Pulumi resource and, after the stack prefix, the alarm
    kind: str
    description: str
    queries: tuple[MetricQuery, ...]
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str

    @property
    def metrics(self) -> list[MetricRef]:
        return [q.metric for q in self.queries if q.metric is not None]


def _describe(what: str, anchor: str) -> str:
    return f"{what} What to do: {DOCS}#{anchor}"


def _runner_queries(namespace: str, runner: str, **metrics: str) -> tuple[MetricQuery, ...]:
    """One query per catalogue metric of this runner, named by its id in the expression."""
    return tuple(
        MetricQuery(query_id, runner_metric(namespace, metric, **{RUNNER: runner}))
        for query_id, metric in metrics.items()
    )


def _not_polling(view: FleetView, runner: str) -> AlarmSpec:
    """Feeds stop when the runner is unhealthy (GitLab refuses it) or its process is gone; they
    also stop while every worker runs a job, so a full runner counts as polling. No data at
    all (no manager reports the runner's limit) is a manager down."""
    ns, minutes = view.namespace, view.alerts.not_polling_minutes
    return AlarmSpec(
        key=f"runner-{runner}-not-polling",
        kind=MANAGER_DOWN,
        description=_describe(
            f"Runner '{runner}' has not asked GitLab for jobs for {minutes} minutes and is not "
            "full: its manager is down, cannot reach GitLab or its token was refused.",
            "manager-down",
        ),
        queries=(
            *_runner_queries(ns, runner, feeds=FEEDS, jobs=JOBS, limit=LIMIT),
            MetricQuery(
                "polling",
                expression="IF(FILL(jobs, 0) >= limit, 1, FILL(feeds, 0))",
                label="polling (or full)",
                return_data=True,
            ),
        ),
        comparison="LessThanThreshold",
        threshold=1,
        evaluation_periods=minutes,
        datapoints_to_alarm=minutes,
        treat_missing_data="breaching",
    )


def _group_down(view: FleetView, index: int, group: str) -> AlarmSpec:
    minutes = view.alerts.not_polling_minutes
    in_service = MetricRef(
        AUTOSCALING_NAMESPACE, IN_SERVICE, (("AutoScalingGroupName", group),), stat="Minimum"
    )
    return AlarmSpec(
        key=f"manager-{index}-down",
        kind=MANAGER_DOWN,
        description=_describe(
            f"Runner manager {index} (Auto Scaling group {group}) has had no instance in "
            f"service for {minutes} minutes.",
            "manager-down",
        ),
        queries=(MetricQuery("in_service", in_service, return_data=True),),
        comparison="LessThanThreshold",
        threshold=1,
        evaluation_periods=minutes,
        datapoints_to_alarm=minutes,
        treat_missing_data="breaching",
    )


def _start_failures(view: FleetView) -> AlarmSpec:
    window = START_FAILURE_WINDOW_SECONDS
    queries = [
        MetricQuery(
            f"reason{i}",
            MetricRef(view.namespace, FAILED_JOBS, ((FAILURE_REASON, r),), period=window),
        )
        for i, r in enumerate(START_FAILURE_REASONS)
    ]
    if view.mode == "ecs":
        queries.append(
            MetricQuery("tasks", MetricRef(view.namespace, TASKS_NOT_STARTED, (), period=window))
        )
    total = " + ".join(f"FILL({q.id}, 0)" for q in queries)
    what = "ECS tasks that stopped before running, " if view.mode == "ecs" else ""
    return AlarmSpec(
        key="job-start-failures",
        kind=JOB_START_FAILURES,
        description=_describe(
            f"More than {view.alerts.job_start_failures} jobs failed to start in 15 minutes "
            f"({what}runner system failures and image pull failures).",
            "jobs-failing-to-start",
        ),
        queries=(
            *queries,
            MetricQuery(
                "failed", expression=total, label="jobs that failed to start", return_data=True
            ),
        ),
        comparison="GreaterThanThreshold",
        threshold=view.alerts.job_start_failures,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data="notBreaching",
    )


def _saturated(view: FleetView, runner: str) -> AlarmSpec:
    ns, minutes = view.namespace, view.alerts.saturated_minutes
    return AlarmSpec(
        key=f"runner-{runner}-saturated",
        kind=RUNNER_SATURATED,
        description=_describe(
            f"Runner '{runner}' has run at its concurrency for {minutes} minutes: jobs queue.",
            "runner-saturated",
        ),
        queries=(
            *_runner_queries(ns, runner, jobs=JOBS, limit=LIMIT),
            MetricQuery(
                "used",
                expression="FILL(jobs, 0) / limit",
                label="share of concurrency",
                return_data=True,
            ),
        ),
        comparison="GreaterThanOrEqualToThreshold",
        threshold=1,
        evaluation_periods=minutes,
        datapoints_to_alarm=minutes,
        treat_missing_data="notBreaching",
    )


def _fargate_quota(view: FleetView, fargate_class: str) -> AlarmSpec:
    usage = MetricRef(
        USAGE_NAMESPACE,
        USAGE_METRIC,
        tuple(sorted(fargate_usage_dimensions(fargate_class).items())),
        stat="Maximum",
    )
    percent = view.alerts.fargate_quota_percent
    return AlarmSpec(
        key=f"fargate-{fargate_class.lower()}-quota",
        kind=FARGATE_QUOTA,
        description=_describe(
            f"Fargate {fargate_class} vCPU in use is above {percent}% of the account's quota "
            "in this region: new jobs will soon fail to start.",
            "fargate-usage-against-the-quota",
        ),
        queries=(
            MetricQuery("vcpu", usage),
            MetricQuery(
                "percent",
                expression="vcpu / SERVICE_QUOTA(vcpu) * 100",
                label="% of the vCPU quota",
                return_data=True,
            ),
        ),
        comparison="GreaterThanThreshold",
        threshold=percent,
        evaluation_periods=QUOTA_EVALUATION_MINUTES,
        datapoints_to_alarm=3,
        treat_missing_data="notBreaching",
    )


def _start_wait_high(
    view: FleetView,
    key: str,
    dimension: tuple[str, str],
    estimate: float,
    waited: tuple[str, str, str],
) -> AlarmSpec:
    """p90 JobStartWaitSeconds of one cluster or runner above start_wait_alarm_seconds of the
    capacity estimate. `waited`: whose jobs, from when to when, and what the estimate is of."""
    whose, span, estimate_of = waited
    threshold = start_wait_alarm_seconds(estimate)
    wait = MetricRef(
        view.namespace,
        START_WAIT,
        (dimension,),
        stat="p90",
        period=START_WAIT_PERIOD_SECONDS,
    )
    return AlarmSpec(
        key=key,
        kind=START_WAIT_HIGH,
        description=_describe(
            f"{whose} waited more than {threshold:.0f} s {span} (p90), "
            f"{threshold / estimate:.0f} times the {estimate:.0f} s the capacity estimate "
            f"assumes{estimate_of}.",
            "job-start-wait-above-the-estimate",
        ),
        queries=(MetricQuery("wait", wait, label="p90 start wait (s)", return_data=True),),
        comparison="GreaterThanThreshold",
        threshold=threshold,
        evaluation_periods=START_WAIT_EVALUATION_PERIODS,
        datapoints_to_alarm=START_WAIT_DATAPOINTS,
        treat_missing_data="notBreaching",  # no jobs started: nothing waited
    )


def _start_wait(view: FleetView, lane: str, cluster: str) -> AlarmSpec:
    return _start_wait_high(
        view,
        f"{lane}-start-wait",
        (CLUSTER, cluster),
        ECS_LANE_START_SECONDS[lane],
        (f"Jobs on the {lane} lane (ECS cluster {cluster})", "from RunTask to running", ""),
    )


def _runner_start_wait(view: FleetView, runner: str, estimate: float) -> AlarmSpec:
    return _start_wait_high(
        view,
        f"runner-{runner}-start-wait",
        (RUNNER, runner),
        estimate,
        (f"Job pods of runner '{runner}'", "from creation to Ready", " for its lane"),
    )


def _function_errors(what: str, function: str) -> AlarmSpec:
    errors = MetricRef(
        LAMBDA_NAMESPACE,
        LAMBDA_ERRORS,
        ((FUNCTION_NAME, function),),
        period=FUNCTION_ERRORS_PERIOD_SECONDS,
    )
    return AlarmSpec(
        key=f"{what}-errors",
        kind=FUNCTION_ERRORS,
        description=_describe(
            f"The {what.replace('-', ' ')} (Lambda {function}) failed in two of the last "
            "three 5-minute periods: its work (and its metric) is not being done.",
            "scheduled-function-errors",
        ),
        queries=(MetricQuery("errors", errors, label="failed runs", return_data=True),),
        comparison="GreaterThanThreshold",
        threshold=0,
        evaluation_periods=FUNCTION_ERRORS_EVALUATION_PERIODS,
        datapoints_to_alarm=FUNCTION_ERRORS_DATAPOINTS,
        treat_missing_data="notBreaching",  # not invoked in a period: nothing failed
    )


def alarm_specs(view: FleetView) -> list[AlarmSpec]:
    """Every alarm of the stack; keys are unique (runner names are)."""
    specs = [_not_polling(view, r) for r in view.runners]
    specs += [_group_down(view, i, g) for i, g in enumerate(view.manager_groups)]
    specs.append(_start_failures(view))
    specs += [_saturated(view, r) for r in view.runners]
    specs += [_fargate_quota(view, c) for c in view.fargate_classes]
    specs += [_start_wait(view, lane, cluster) for lane, cluster in view.clusters]
    specs += [_runner_start_wait(view, r, s) for r, s in view.runner_start_seconds]
    specs += [_function_errors(what, f) for what, f in view.functions]
    return specs
