"""How long job pods waited to run, as CloudWatch metrics: the pure part of the EKS start-wait
sampler (handler.py lists the pods; components/eks/start_wait_sampler.py deploys it).

Zipped with handler.py into the Lambda package `start_wait`: standard library only.

A job pod's wait is the time from its creation (`metadata.creationTimestamp`: the Kubernetes
executor has asked for it) to its Ready condition turning True (`lastTransitionTime`: every
container of it, build, helper and services, runs). That covers the Fargate micro-VM or the
Karpenter node, the ENI, the image pulls and the container start, as the ECS metric covers
RunTask to RUNNING. Each run counts the pods that became Ready in the half-open window
(now - window_seconds, now], `now` being the schedule's time for the run and the window its
period: the windows tile, so a pod is counted by one run, even one that turns Ready while a
run lists (after its `now`: the next run's) or a run invoked late; a job that starts and ends
between two runs is not seen (its Ready is False again): short jobs are under-sampled, not
mis-measured. The values go out as embedded metric format (EMF) log lines, one per runner and
100 values, from which CloudWatch derives p50/p90 without a PutMetricData call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

METRIC = "JobStartWaitSeconds"  # the ECS reaper's metric name: one dashboard reads both
# The dimension: the runner's name, under the key gitlab-runner's own metrics carry it
# (runner_name), so a runner's start wait sits next to its other metrics.
DIMENSION = "runner_name"
MAX_VALUES = 100  # EMF: at most 100 values in one metric's array
# Job pods by label (gitlab-runner executors/kubernetes/kubernetes.go buildLabels). From
# 17.9 every job pod carries `job.runner.gitlab.com/pod`; releases before that set only
# `pod` (the label 19.3.0 keeps "for backwards compatibility"). Pause pods (runner.gitlab.com/
# pause-pod, executors/kubernetes/autoscaler/pause_pod_manager.go at v19.3.0) carry neither,
# and are excluded by name as well. The manager pods (the chart's Deployment) carry neither.
JOB_POD_LABEL = "job.runner.gitlab.com/pod"
LEGACY_JOB_POD_LABEL = "pod"
PAUSE_POD_LABEL = "runner.gitlab.com/pause-pod"
JOB_POD_LABEL_SINCE = (17, 9)


def job_pod_selector(runner_version: tuple[int, int]) -> str:
    """The label selector of the job pods a gitlab-runner release creates, pause pods out."""
    label = JOB_POD_LABEL if runner_version >= JOB_POD_LABEL_SINCE else LEGACY_JOB_POD_LABEL
    return f"{label},!{PAUSE_POD_LABEL}"


def timestamp(value: str) -> datetime:
    """A Kubernetes RFC 3339 time (`2026-12-06T12:00:00Z`)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ready_since(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod's Ready condition turned True, or None while it is not Ready."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            if condition.get("status") != "True" or not condition.get("lastTransitionTime"):
                return None
            return timestamp(condition["lastTransitionTime"])
    return None


def start_waits(
    pods: Iterable[Mapping[str, Any]], now: datetime, window_seconds: float
) -> list[float]:
    """The waits, in seconds, of the pods that became Ready in (now - window, now]."""
    waits = []
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        created = (pod.get("metadata") or {}).get("creationTimestamp")
        ready = ready_since(pod)
        if PAUSE_POD_LABEL in labels or not created or ready is None:
            continue
        since = (now - ready).total_seconds()
        if since >= window_seconds or since < 0:
            continue  # an earlier run's window, or the next one's
        waits.append(round(max(0.0, (ready - timestamp(created)).total_seconds()), 1))
    return waits


def emf_lines(namespace: str, waits: Mapping[str, list[float]], now: datetime) -> list[str]:
    """EMF log lines, one per runner and 100 values; none for a runner without a started job."""
    lines = []
    for runner, values in sorted(waits.items()):
        for start in range(0, len(values), MAX_VALUES):
            document: dict[str, Any] = {
                "_aws": {
                    "Timestamp": int(now.timestamp() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [[DIMENSION]],
                            "Metrics": [{"Name": METRIC, "Unit": "Seconds"}],
                        }
                    ],
                },
                DIMENSION: runner,
                METRIC: values[start : start + MAX_VALUES],
            }
            lines.append(json.dumps(document, sort_keys=True))
    return lines
