"""CloudWatch embedded metric format (EMF) lines: one metric, one dimension, values in batches.

Shared by the two Lambdas that write JobStartWaitSeconds (the ECS task reaper,
components/ecs/reaper/start_wait.py, and the EKS start-wait sampler,
components/eks/start_wait/pods.py). Both zips ship this file as `components/shared/emf.py`
(components/shared/scheduled_lambda.py), so it is standard library only and imports nothing of
the project. A line that CloudWatch reads as EMF becomes a metric with percentiles (p50/p90)
without a PutMetricData call or permission (CloudWatch user guide, "Specification: Embedded
metric format": at most 100 values in one metric's array).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

MAX_VALUES = 100  # EMF: at most 100 values in one metric's array


def emf_lines(
    namespace: str,
    metric: str,
    dimension: str,
    values: Mapping[str, Sequence[float]],
    now: datetime,
    unit: str = "Seconds",
) -> list[str]:
    """EMF log lines, one per dimension value and 100 values; none for a value without any."""
    lines = []
    for key, series in sorted(values.items()):
        for start in range(0, len(series), MAX_VALUES):
            document: dict[str, Any] = {
                "_aws": {
                    "Timestamp": int(now.timestamp() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [[dimension]],
                            "Metrics": [{"Name": metric, "Unit": unit}],
                        }
                    ],
                },
                dimension: key,
                metric: list(series[start : start + MAX_VALUES]),
            }
            lines.append(json.dumps(document, sort_keys=True))
    return lines
