"""JobStartWaitSeconds as embedded metric format lines (components/shared/emf.py), as the ECS
task reaper (per cluster) and the EKS start-wait sampler (per runner) write them. CloudWatch
user guide, "Specification: Embedded metric format": `_aws.CloudWatchMetrics` names the
namespace, dimensions and metrics; one metric's array holds at most 100 values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from components.ecs.reaper import start_wait as reaper_start_wait
from components.eks.start_wait import pods
from components.observability.catalogue import CLUSTER, RUNNER, START_WAIT

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WRITERS = {
    # the Lambda's writer, and the dimension the dashboard and alarms read its metric by
    "reaper": (reaper_start_wait.emf_lines, CLUSTER),
    "sampler": (pods.emf_lines, RUNNER),
}


@pytest.mark.parametrize("lambda_", sorted(WRITERS))
def test_the_lines_name_the_metric_and_dimension_the_dashboard_reads(lambda_: str) -> None:
    write, dimension = WRITERS[lambda_]
    values = [float(v) for v in range(150)]
    lines = [json.loads(line) for line in write("ns", {"spot": values}, NOW)]
    assert [doc[START_WAIT] for doc in lines] == [values[:100], values[100:]]
    for doc in lines:
        assert doc["_aws"]["CloudWatchMetrics"] == [
            {
                "Namespace": "ns",
                "Dimensions": [[dimension]],
                "Metrics": [{"Name": START_WAIT, "Unit": "Seconds"}],
            }
        ]
        assert doc[dimension] == "spot"
        assert doc["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)
    assert write("ns", {}, NOW) == []
