"""Read the dashboard, the alarms and the metric sources back out of a plan."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.ecs.manager_files import CLOUDWATCH_AGENT_CONFIG
from components.ecs.user_data import PROMETHEUS_SCRAPE_CONFIG, decode_user_data
from components.observability.catalogue import START_WAIT
from components.offline.mocks import Plan

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
COLLECTOR_CONFIG_MAP = "eks-metrics-config"
NAMESPACE = "gitlab-fargate-runners/dev"
_SEARCH = re.compile(r"SEARCH\('\{\"([^\"]+)\",?([^}]*)\} MetricName=\"(\w+)\"'")


@dataclass(frozen=True)
class UsedMetric:
    """A metric a widget or alarm reads: dimension names (values, where fixed)."""

    where: str
    namespace: str
    name: str
    dimensions: dict[str, str | None]  # None: any value (a SEARCH over that dimension)


def dashboard(plan: Plan) -> dict[str, Any]:
    return json.loads(plan.one(DASHBOARD).inputs["dashboardBody"])


def alarms(plan: Plan) -> list[dict[str, Any]]:
    return [r.inputs for r in plan.all(ALARM)]


def start_wait_metric(alarm: dict[str, Any]) -> dict[str, Any]:
    """The one metric of a start-wait alarm (ECS lane or EKS runner), after checking what all
    of them share: above the threshold in 2 of 3 five-minute p90s of JobStartWaitSeconds, and
    no data (no job started) not breaching."""
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (3, 2)
    assert alarm["treatMissingData"] == "notBreaching"
    (query,) = alarm["metricQueries"]
    metric = query["metric"]
    assert (metric["metricName"], metric["stat"], metric["period"]) == (START_WAIT, "p90", 300)
    return metric


def _entry(where: str, entry: list[Any]) -> list[UsedMetric]:
    if isinstance(entry[0], dict):  # an expression
        found = []
        for m in _SEARCH.finditer(entry[0]["expression"]):
            dims = [d for d in m.group(2).split(",") if d]
            found.append(UsedMetric(where, m.group(1), m.group(3), dict.fromkeys(dims)))
        return found
    namespace, name, *rest = entry
    pairs = [x for x in rest if not isinstance(x, dict)]
    return [UsedMetric(where, namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)))]


def used_metrics(plan: Plan) -> list[UsedMetric]:
    """Every metric the dashboard's widgets and every alarm read."""
    used: list[UsedMetric] = []
    for widget in dashboard(plan)["widgets"]:
        for entry in widget["properties"].get("metrics", []):
            used += _entry(f"widget {widget['properties']['title']}", entry)
    for alarm in alarms(plan):
        for query in alarm["metricQueries"]:
            if "metric" in query:
                metric = query["metric"]
                used.append(
                    UsedMetric(
                        f"alarm {alarm['name']}",
                        metric["namespace"],
                        metric["metricName"],
                        dict(metric.get("dimensions") or {}),
                    )
                )
    return used


def user_data(plan: Plan) -> str:
    return decode_user_data(plan.one(LAUNCH_TEMPLATE, "ecs-manager-lt").inputs["userData"])


def written_file(script: str, path: str) -> str:
    """The content a user data heredoc writes to `path`."""
    m = re.search(rf"cat > {re.escape(path)} <<'(\w+)'\n(.*?)\n\1\n", script, re.S)
    assert m, f"{path} is not written by the user data"
    return m.group(2)


def agent_config(plan: Plan) -> dict[str, Any]:
    return json.loads(written_file(user_data(plan), CLOUDWATCH_AGENT_CONFIG))


def agent_scrape_config(plan: Plan) -> dict[str, Any]:
    return yaml.safe_load(written_file(user_data(plan), PROMETHEUS_SCRAPE_CONFIG))


def collector_config(plan: Plan) -> dict[str, Any]:
    data = plan.one(CONFIG_MAP, COLLECTOR_CONFIG_MAP).inputs["data"]
    return yaml.safe_load(data["collector.yaml"])


def upstream(name: str) -> dict[str, Any]:
    return json.loads((Path(__file__).parent.parent / "upstream" / name).read_text())
