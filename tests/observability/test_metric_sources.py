"""Every metric the dashboard and the alarms read is emitted by something the stack deploys,
and every gitlab-runner metric and label they rely on exists in gitlab-runner's source at the
version the program installs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.config import schema
from components.domain.chart_versions import runner_of_chart_version
from components.observability.catalogue import (
    API_STATUSES,
    CLUSTER,
    EMF_DECLARATIONS,
    FAILED_JOBS,
    RUNNER,
    RUNNER_METRICS,
    START_FAILURE_REASONS,
    START_WAIT,
    TASKS_NOT_STARTED,
)
from components.offline.mocks import Plan
from tests.observability.support import (
    NAMESPACE,
    UsedMetric,
    agent_config,
    agent_scrape_config,
    collector_config,
    upstream,
    used_metrics,
)

METRICS = upstream("gitlab-runner-metrics.json")
CHART = upstream("gitlab-runner-chart.json")
ASG = "aws:autoscaling/group:Group"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
SCHEDULE = "aws:scheduler/schedule:Schedule"
LAMBDA = "aws:lambda/function:Function"
USAGE_DIMENSIONS = {"Service": "Fargate", "Type": "Resource", "Resource": "vCPU"}


def _emitters(plan: Plan) -> tuple[str, str, list[dict[str, Any]]]:
    """(namespace, kept-names regex, declarations) of the agent or collector deployed."""
    if plan.outputs["mode"] == "ecs":
        prometheus = agent_config(plan)["logs"]["metrics_collected"]["prometheus"]
        emf = prometheus["emf_processor"]
        (scrape,) = agent_scrape_config(plan)["scrape_configs"]
        declarations = [
            {
                "selectors": d["metric_selectors"],
                "dimensions": d["dimensions"],
                "label": d["source_labels"],
                "regex": d["label_matcher"],
            }
            for d in emf["metric_declaration"]
        ]
        namespace = emf["metric_namespace"]
    else:
        config = collector_config(plan)
        emf = config["exporters"]["awsemf"]
        (scrape,) = config["receivers"]["prometheus"]["config"]["scrape_configs"]
        declarations = [
            {
                "selectors": d["metric_name_selectors"],
                "dimensions": d["dimensions"],
                "label": d.get("label_matchers", [{}])[0].get("label_names", ["job"]),
                "regex": d.get("label_matchers", [{}])[0].get("regex", ".*"),
            }
            for d in emf["metric_declarations"]
        ]
        namespace = emf["namespace"]
    (keep,) = [r for r in scrape["metric_relabel_configs"] if r["action"] == "keep"]
    assert keep["source_labels"] == ["__name__"]
    return namespace, keep["regex"], declarations


def _emitted_by_runner_config(plan: Plan, used: UsedMetric) -> bool:
    namespace, kept, declarations = _emitters(plan)
    if used.namespace != namespace or not re.fullmatch(kept, used.name):
        return False
    for d in declarations:
        if not any(re.search(s, used.name) for s in d["selectors"]):
            continue
        if sorted(used.dimensions) not in [sorted(dims) for dims in d["dimensions"]]:
            continue
        (label,) = d["label"]
        value = used.dimensions.get(label)
        if value is None or re.search(d["regex"], value):
            return True
    return False


def _emitted(plan: Plan, used: UsedMetric) -> bool:
    if used.namespace == NAMESPACE and used.name == TASKS_NOT_STARTED:
        filters = [r.inputs["metricTransformation"] for r in plan.all(METRIC_FILTER)]
        wanted = {"name": TASKS_NOT_STARTED, "namespace": NAMESPACE}
        return not used.dimensions and any(wanted.items() <= f.items() for f in filters)
    if used.namespace == NAMESPACE and used.name == START_WAIT and RUNNER in used.dimensions:
        # EKS: the start-wait sampler writes it as EMF per runner (components/eks/start_wait/
        # pods.py) for the runners its schedule's input names; the runner must be one of them.
        samplers = [r.inputs["environment"]["variables"] for r in plan.all(LAMBDA)]
        sampled = [v for v in samplers if v.get("SAMPLER_METRICS_NAMESPACE") == NAMESPACE]
        schedules = [s.inputs["target"]["input"] for s in plan.all(SCHEDULE)]
        inputs = [json.loads(i) for i in schedules if "runners" in json.loads(i)]
        runners = {r for i in inputs if sampled for r in i["runners"].values()}
        runner = used.dimensions[RUNNER]
        return set(used.dimensions) == {RUNNER} and (runner is None or runner in runners)
    if used.namespace == NAMESPACE and used.name == START_WAIT:
        # The reaper writes it as EMF (components/ecs/reaper/start_wait.py) when it is given
        # the namespace; its dimension is the cluster (tests/observability/test_start_wait.py).
        functions = [r for r in plan.all(LAMBDA) if "reaper" in r.name]
        given = [
            f["environment"]["variables"].get("REAPER_METRICS_NAMESPACE")
            for f in (r.inputs for r in functions)
        ]
        # An alarm names the cluster: it must be one the plan creates (the reaper's value).
        clusters = {r.inputs["name"] for r in plan.all("aws:ecs/cluster:Cluster")}
        cluster = used.dimensions.get(CLUSTER)
        return (
            NAMESPACE in given
            and set(used.dimensions) == {CLUSTER}
            and (cluster is None or cluster in clusters)
        )
    if used.namespace == NAMESPACE:
        return _emitted_by_runner_config(plan, used)
    if used.namespace == "AWS/AutoScaling":
        groups = {r.name: r.inputs for r in plan.all(ASG)}  # mock: a group's name is its own
        group = groups.get(used.dimensions.get("AutoScalingGroupName") or "")
        return group is not None and used.name in group.get("enabledMetrics", [])
    if used.namespace == "AWS/Lambda":  # Lambda publishes it for every function it runs
        functions = {r.inputs["name"] for r in plan.all(LAMBDA)}
        return used.name == "Errors" and used.dimensions.get("FunctionName") in functions
    if used.namespace == "AWS/Usage":  # AWS publishes it for every account
        return used.name == "ResourceCount" and used.dimensions in (
            {**USAGE_DIMENSIONS, "Class": "Standard/OnDemand"},
            {**USAGE_DIMENSIONS, "Class": "Standard/Spot"},
        )
    return False


def test_every_metric_read_is_emitted_by_the_stack(mode_plan: Plan) -> None:
    used = used_metrics(mode_plan)
    assert len({u.where for u in used}) >= 10
    missing = [u for u in used if not _emitted(mode_plan, u)]
    assert not missing, missing


def test_the_source_check_rejects_what_nothing_emits(ecs_email_plan: Plan) -> None:
    def probe(**dims: str | None) -> UsedMetric:
        return UsedMetric("probe", NAMESPACE, "gitlab_runner_jobs", dims)

    assert _emitted(ecs_email_plan, probe(runner_name="fargate"))
    assert not _emitted(ecs_email_plan, probe(runner_name="fargate", state="running"))
    assert not _emitted(ecs_email_plan, probe(runner="abc123"))
    status = UsedMetric("probe", NAMESPACE, API_STATUSES, {"status": "200"})
    assert not _emitted(ecs_email_plan, status)  # only 429 and 5xx become metrics
    assert _emitted(ecs_email_plan, UsedMetric("probe", NAMESPACE, API_STATUSES, {"status": "503"}))
    spot = UsedMetric("probe", "AWS/Usage", "ResourceCount", {**USAGE_DIMENSIONS, "Class": "Spot"})
    assert not _emitted(ecs_email_plan, spot)


def test_eks_reads_no_ecs_only_metric(eks_topic_plan: Plan) -> None:
    names = {u.name for u in used_metrics(eks_topic_plan)}
    assert TASKS_NOT_STARTED not in names and "GroupInServiceInstances" not in names
    classes = {u.dimensions.get("Class") for u in used_metrics(eks_topic_plan)}
    assert "Standard/Spot" not in classes  # no Fargate Spot on EKS


def test_the_runner_metrics_exist_at_the_installed_version() -> None:
    """gitlab-runner 19.3.0 on the ECS managers, chart 0.92.0 (runner 19.3) on EKS; the
    metric facts are of 19.3.0 (no metric this program reads was removed or relabelled since
    18.9.0)."""
    assert schema.ECS_SECTION.default("runnerVersion") == "19.3.0"
    chart = schema.EKS_SECTION.default("runnerChartVersion")
    assert runner_of_chart_version(chart) == (19, 3)
    assert METRICS["provenance"]["ref"].startswith("v19.3.0 ")
    for declaration in EMF_DECLARATIONS:
        for name in declaration.metrics:
            assert name in METRICS["metrics"], name
            labels = METRICS["metrics"][name]["labels"]
            for dims in declaration.dimensions:
                assert set(dims) <= set(labels), (name, dims, labels)
            if declaration.label:
                assert declaration.label in labels
            assert METRICS["metrics"][name].get("kind") != "histogram"
    assert set(START_FAILURE_REASONS) <= set(METRICS["job_failure_reasons"])
    assert "failure_reason" in METRICS["metrics"][FAILED_JOBS]["labels"]


def test_selectors_pick_only_their_own_declarations_metrics() -> None:
    """Selectors have no `$` anchor, so no kept name may match another declaration's."""
    for declaration in EMF_DECLARATIONS:
        picked = {n for n in RUNNER_METRICS for s in declaration.selectors if re.search(s, n)}
        assert picked == set(declaration.metrics), declaration


@pytest.mark.parametrize("name", RUNNER_METRICS)
def test_every_kept_metric_has_a_declaration(name: str) -> None:
    assert sum(name in d.metrics for d in EMF_DECLARATIONS) == 1
