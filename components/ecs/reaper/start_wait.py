"""How long job tasks waited to run, as CloudWatch metrics from the reaper's own listing.

Every run the reaper already describes the clusters' tasks; each task it sees that started
since the previous run (`startedAt` within the schedule's interval) contributes
`startedAt - createdAt` (RunTask to RUNNING: Fargate capacity, ENI, image pull) to the metric
JobStartWaitSeconds, per cluster (one per lane). The values go out as one embedded metric
format (EMF) log line per cluster, which CloudWatch turns into metrics with percentiles
(p50/p90) without a PutMetricData call or permission. A task that starts and stops between
two runs is not seen: short jobs are under-sampled, not mis-measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .decisions import TaskInfo

METRIC = "JobStartWaitSeconds"
DIMENSION = "Cluster"
MAX_VALUES = 100  # EMF: at most 100 values in one metric's array


def start_waits(
    tasks: Iterable[TaskInfo], now: datetime, window_seconds: float
) -> dict[str, list[float]]:
    """Per cluster name, the waits of the tasks that started within the last window."""
    waits: dict[str, list[float]] = {}
    for task in tasks:
        if task.created_at is None or task.started_at is None:
            continue
        if (now - task.started_at).total_seconds() > window_seconds:
            continue  # counted by an earlier run
        cluster = task.cluster.rsplit("/", 1)[-1]
        wait = max(0.0, (task.started_at - task.created_at).total_seconds())
        waits.setdefault(cluster, []).append(round(wait, 1))
    return waits


def emf_lines(namespace: str, waits: dict[str, list[float]], now: datetime) -> list[str]:
    """EMF log lines, one per cluster and 100 values."""
    lines = []
    for cluster, values in sorted(waits.items()):
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
                DIMENSION: cluster,
                METRIC: values[start : start + MAX_VALUES],
            }
            lines.append(json.dumps(document, sort_keys=True))
    return lines
