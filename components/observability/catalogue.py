"""The metrics this stack puts into CloudWatch and reads back, declared once.

gitlab-runner's metrics (names and labels from its source at the pinned version, checked by
tests/observability against tests/upstream/gitlab-runner-metrics.json) are scraped every
minute and sent as embedded metric format (EMF) logs: only the names in RUNNER_METRICS are
kept, and each becomes metrics with the dimension sets of its EmfDeclaration, never per job
or per manager, so the count stays bounded (runners x a handful). Only gauges and counters:
the ECS CloudWatch agent drops histograms (amazon-cloudwatch-agent
plugins/inputs/prometheus/metrics_filter.go) and turns counters into per-scrape deltas
(delta_calculator.go), as the EKS collector's awsemf exporter does for cumulative sums
(exporter/awsemfexporter/datapoint.go:548 at ADOT v0.49.0), so a counter's Sum is a count."""

from __future__ import annotations

from dataclasses import dataclass

from components.naming import PROJECT

# gitlab-runner's metrics port (chart value metrics.port, default 9252).
RUNNER_METRICS_PORT = 9252
METRICS_PORT_NAME = "metrics"  # chart value metrics.portName
# One scrape a minute: a one-minute Sum of a gauge then adds each series of one scrape (the
# job states of a runner, or its managers) and nothing twice.
SCRAPE_INTERVAL_SECONDS = 60
SCRAPE_JOB = "gitlab-runner"

JOBS = "gitlab_runner_jobs"  # gauge: running jobs, per state/stage
LIMIT = "gitlab_runner_limit"  # gauge: the runner's `limit` on this manager
JOBS_TOTAL = "gitlab_runner_jobs_total"  # counter: jobs handled
FEEDS = "gitlab_runner_worker_feeds_total"  # counter: a healthy runner fed to a worker
FAILED_JOBS = "gitlab_runner_failed_jobs_total"  # counter: by failure_reason
API_STATUSES = "gitlab_runner_api_request_statuses_total"  # counter: by endpoint, status
# counter: a job request found all request_concurrency slots busy, the runner's own hint that
# it asks GitLab for jobs too slowly. Labels runner and system_id only, no runner_name
# (commands/builds_helper.go:40 at v19.3.0), so it is kept per token prefix.
REQUEST_CONCURRENCY_EXCEEDED = "gitlab_runner_request_concurrency_exceeded_total"
TOKEN = "runner"  # the runner token's short prefix (changes when the token is rotated)

RUNNER = "runner_name"  # the [[runners]] name: stable, unlike `runner` (the token's prefix)
FAILURE_REASON = "failure_reason"
STATUS = "status"
# Reasons meaning "the job never really started": the executor could not start its
# task/pod (the Fargate driver's prepare, the Kubernetes executor's pod wait) or pull its image.
# From 19.x a pull that fails on the network to the registry (dial, TLS, timeout, reset) is
# runner_external_dependency_failure, the rest image_pull_failure, a missing or forbidden image
# runner_configuration_error (common/classify_image_pull_failure.go at v19.3.0).
START_FAILURE_REASONS = (
    "runner_system_failure",
    "image_pull_failure",
    "runner_external_dependency_failure",
)
# GitLab API answers worth a metric: throttling and server errors (others stay logs only).
API_ERROR_STATUS_REGEX = "^(429|5[0-9][0-9])"

# How long jobs waited to run, in seconds, as EMF (read with p50/p90). ECS: RunTask to
# RUNNING of the job tasks the reaper saw start, per cluster (one per lane; components/ecs/
# reaper/start_wait.py). EKS: job pod created to Ready, per runner (RUNNER, the runner's
# name; components/eks/start_wait/pods.py).
START_WAIT = "JobStartWaitSeconds"
CLUSTER = "Cluster"

# ECS task state-change events of tasks that stopped before they ran (metric filter).
TASKS_NOT_STARTED = "TasksStoppedBeforeRunning"

AUTOSCALING_NAMESPACE = "AWS/AutoScaling"
IN_SERVICE = "GroupInServiceInstances"
# Auto Scaling group metrics are free at one-minute granularity once enabled.
GROUP_METRICS = ("GroupDesiredCapacity", IN_SERVICE)
# Lambda publishes Errors per function for every invocation (free): a failed run of the ECS
# reaper or the EKS start-wait sampler (Lambda developer guide, "Types of metrics").
LAMBDA_NAMESPACE = "AWS/Lambda"
LAMBDA_ERRORS = "Errors"
FUNCTION_NAME = "FunctionName"
USAGE_NAMESPACE = "AWS/Usage"
USAGE_METRIC = "ResourceCount"
# Fargate vCPU in use; SERVICE_QUOTA() of these series is the account's quota.
FARGATE_CLASSES = {"OnDemand": "Standard/OnDemand", "Spot": "Standard/Spot"}


def fargate_usage_dimensions(fargate_class: str) -> dict[str, str]:
    return {
        "Service": "Fargate",
        "Type": "Resource",
        "Resource": "vCPU",
        "Class": FARGATE_CLASSES[fargate_class],
    }


@dataclass(frozen=True)
class EmfDeclaration:
    """Which scraped metrics become CloudWatch metrics, with which dimension sets."""

    metrics: tuple[str, ...]
    dimensions: tuple[tuple[str, ...], ...]
    label: str | None = None  # only series whose label matches `label_regex`
    label_regex: str | None = None

    @property
    def selectors(self) -> list[str]:
        """Metric name regexes. No `$` anchor (the collector's config would expand it): the
        scrape keeps exactly RUNNER_METRICS, and no kept name is a prefix of another
        declaration's name (a test checks)."""
        return [f"^{name}" for name in self.metrics]


EMF_DECLARATIONS = (
    EmfDeclaration((JOBS, LIMIT, JOBS_TOTAL, FEEDS), ((RUNNER,),)),
    EmfDeclaration((FAILED_JOBS,), ((RUNNER, FAILURE_REASON), (FAILURE_REASON,))),
    EmfDeclaration((API_STATUSES,), ((STATUS,),), label=STATUS, label_regex=API_ERROR_STATUS_REGEX),
    EmfDeclaration((REQUEST_CONCURRENCY_EXCEEDED,), ((TOKEN,),)),
)
RUNNER_METRICS = tuple(name for d in EMF_DECLARATIONS for name in d.metrics)


def metrics_namespace(stack: str) -> str:
    """The stack's CloudWatch namespace (letters, digits and `. - _ /` are allowed)."""
    return f"{PROJECT}/{stack}"


def metrics_log_group_name(prefix: str) -> str:
    """Where the agent or collector writes its EMF events (the metrics are extracted there)."""
    return f"/{prefix}/metrics"


def task_events_log_group_name(prefix: str) -> str:
    """EventBridge writes ECS task events here (its console requires the /aws/events/ path)."""
    return f"/aws/events/{prefix}/tasks-not-started"


@dataclass(frozen=True)
class MetricRef:
    """One CloudWatch metric a widget or alarm reads."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Sum"
    period: int = SCRAPE_INTERVAL_SECONDS

    def dimension_map(self) -> dict[str, str]:
        return dict(self.dimensions)


def runner_metric(namespace: str, name: str, **dimensions: str) -> MetricRef:
    return MetricRef(namespace, name, tuple(sorted(dimensions.items())))
