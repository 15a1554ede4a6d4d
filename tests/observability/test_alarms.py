"""The alarm kinds in both modes, who they notify, the thresholds that are keys, the
dashboard output, the ECS task-event pipeline and observability switched off."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from components.config import ConfigError, parse_config
from components.ecs.manager_files import CONFIG_PATH
from components.observability.alarms import KINDS, alarm_specs
from components.observability.monitoring import task_event_pattern
from components.offline.mocks import Plan
from tests.harness import dev_config, run_program, shared_plan
from tests.observability.conftest import EMAIL, TOPIC
from tests.observability.support import ALARM, DASHBOARD, alarms, dashboard, user_data

TOKENS = {"runnerTokens": {"fargate": "glrt-" + "a" * 20}}
TOPIC_TYPE = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def _by_name(plan: Plan) -> dict[str, dict]:
    return {a["name"].removeprefix("gitlab-runners-dev-"): a for a in alarms(plan)}


def test_ecs_has_the_six_kinds_of_alarm(ecs_email_plan: Plan) -> None:
    assert set(_by_name(ecs_email_plan)) == {
        "runner-fargate-not-polling",
        "runner-fargate-spot-not-polling",
        "manager-0-down",
        "job-start-failures",
        "runner-fargate-saturated",
        "runner-fargate-spot-saturated",
        "fargate-ondemand-quota",
        "fargate-spot-quota",
        "fargate-start-wait",
        "spot-start-wait",
        "task-reaper-errors",
    }


def test_eks_has_the_six_kinds_of_alarm_with_a_start_wait_per_runner(
    eks_topic_plan: Plan,
) -> None:
    """EKS has no manager groups; its start waits come per runner from the start-wait sampler
    (tests/eks/test_start_wait_sampler.py), not per lane's cluster."""
    assert set(_by_name(eks_topic_plan)) == {
        "runner-fargate-not-polling",
        "runner-fargate-spot-not-polling",
        "job-start-failures",
        "runner-fargate-saturated",
        "runner-fargate-spot-saturated",
        "fargate-ondemand-quota",
        "runner-fargate-start-wait",
        "runner-fargate-spot-start-wait",
        "start-wait-sampler-errors",
    }


def test_every_alarm_points_at_a_section_of_the_docs(mode_plan: Plan) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "observability.md").read_text()
    slugs = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in doc.splitlines()
        if line.startswith("#")
    }
    anchors = {a["alarmDescription"].rsplit("#", 1)[1] for a in alarms(mode_plan)}
    assert anchors <= slugs, anchors - slugs
    assert len(anchors) == len(KINDS)


def test_email_makes_a_topic_that_every_alarm_notifies(ecs_email_plan: Plan) -> None:
    topic = ecs_email_plan.one(TOPIC_TYPE)
    subscription = ecs_email_plan.one(SUBSCRIPTION).inputs
    assert subscription["protocol"] == "email" and subscription["endpoint"] == EMAIL
    arn = subscription["topic"]
    assert topic.inputs["name"] == "gitlab-runners-dev-alerts"
    assert ecs_email_plan.outputs["alertsTopicArn"] == arn and arn.startswith("arn:aws:sns:")
    for alarm in alarms(ecs_email_plan):
        assert alarm["alarmActions"] == [arn] and alarm["okActions"] == [arn], alarm["name"]


def test_an_existing_topic_is_notified_and_none_is_created(eks_topic_plan: Plan) -> None:
    assert not eks_topic_plan.all(TOPIC_TYPE) and not eks_topic_plan.all(SUBSCRIPTION)
    for alarm in alarms(eks_topic_plan):
        assert alarm["alarmActions"] == [TOPIC] and alarm["okActions"] == [TOPIC]


def test_without_alerts_alarms_notify_nobody(eks_dev_plan: Plan) -> None:
    assert not eks_dev_plan.all(TOPIC_TYPE)
    assert all(a["alarmActions"] == [] for a in alarms(eks_dev_plan))
    assert "alertsTopicArn" not in eks_dev_plan.outputs


def test_thresholds_are_the_keys() -> None:
    plan = run_program(
        dev_config(
            alerts={
                "fargateQuotaPercent": 70,
                "saturatedMinutes": 30,
                "notPollingMinutes": 10,
                "jobStartFailures": 0,
            }
        )
    )
    by_name = _by_name(plan)
    assert by_name["fargate-ondemand-quota"]["threshold"] == 70
    assert by_name["runner-fargate-saturated"]["evaluationPeriods"] == 30
    assert by_name["runner-fargate-saturated"]["datapointsToAlarm"] == 30
    assert by_name["runner-fargate-not-polling"]["evaluationPeriods"] == 10
    assert by_name["manager-0-down"]["evaluationPeriods"] == 10
    assert by_name["job-start-failures"]["threshold"] == 0


def test_default_thresholds(ecs_email_plan: Plan) -> None:
    by_name = _by_name(ecs_email_plan)
    quota = by_name["fargate-spot-quota"]
    assert quota["threshold"] == 80 and quota["comparisonOperator"] == "GreaterThanThreshold"
    (percent,) = [q for q in quota["metricQueries"] if q["returnData"]]
    assert percent["expression"] == "vcpu / SERVICE_QUOTA(vcpu) * 100"
    saturated = by_name["runner-fargate-saturated"]
    assert saturated["evaluationPeriods"] == 15 and saturated["threshold"] == 1
    assert saturated["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # A manager that reports nothing at all is down; a quiet metric elsewhere is fine.
    assert by_name["runner-fargate-not-polling"]["treatMissingData"] == "breaching"
    assert by_name["manager-0-down"]["treatMissingData"] == "breaching"
    assert saturated["treatMissingData"] == "notBreaching"
    failures = by_name["job-start-failures"]
    (total,) = [q for q in failures["metricQueries"] if q["returnData"]]
    # runner_system_failure, image_pull_failure and, from 19.x, a registry that could not be
    # reached (runner_external_dependency_failure, common/classify_image_pull_failure.go)
    reasons = " + ".join(f"FILL(reason{i}, 0)" for i in range(3))
    assert total["expression"] == f"{reasons} + FILL(tasks, 0)"
    reason2 = next(q for q in failures["metricQueries"] if q["id"] == "reason2")
    assert reason2["metric"]["dimensions"] == {
        "failure_reason": "runner_external_dependency_failure"
    }
    assert failures["threshold"] == 3


def test_every_alarm_returns_one_series_and_names_its_fix(mode_plan: Plan) -> None:
    for alarm in alarms(mode_plan):
        assert sum(q["returnData"] for q in alarm["metricQueries"]) == 1, alarm["name"]
        assert "docs/observability.md#" in alarm["alarmDescription"]
        ids = {q["id"] for q in alarm["metricQueries"]}
        for q in alarm["metricQueries"]:
            for word in q.get("expression", "").replace("(", " ").replace(")", " ").split():
                if word.islower() and word.isidentifier():
                    assert word in ids, (alarm["name"], word)


def test_dashboard_output_and_body(mode_plan: Plan) -> None:
    url = mode_plan.outputs["dashboardUrl"]
    assert url == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#dashboards/dashboard/gitlab-runners-dev"
    )
    body = dashboard(mode_plan)
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Running jobs against each runner's concurrency" in titles
    assert "Fargate vCPU in use against the quota" in titles
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(alarms(mode_plan))
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        assert widget["type"] == "alarm" or widget["properties"]["region"] == "eu-west-1"
    cells = {
        (w["y"] + dy, w["x"] + dx)
        for w in body["widgets"]
        for dy in range(w["height"])
        for dx in range(w["width"])
    }
    assert len(cells) == sum(w["width"] * w["height"] for w in body["widgets"])  # no overlap


def test_both_dashboards_show_the_request_concurrency_signal(mode_plan: Plan) -> None:
    """gitlab_runner_request_concurrency_exceeded_total (commands/builds_helper.go:40 at
    v19.3.0) has the labels runner and system_id only: it is kept and searched per token
    prefix, the `runner` label, and the scrape keeps it (metric facts checked in
    test_metric_sources)."""
    name = "gitlab_runner_request_concurrency_exceeded_total"
    (widget,) = [
        w
        for w in dashboard(mode_plan)["widgets"]
        if w["properties"].get("title") == "Job requests over request_concurrency (by runner token)"
    ]
    (expression,) = [m[0]["expression"] for m in widget["properties"]["metrics"]]
    assert f'MetricName="{name}"' in expression and ",runner}" in expression


def test_ecs_task_events_become_a_metric(ecs_email_plan: Plan) -> None:
    plan = ecs_email_plan
    clusters = sorted(r.inputs["name"] for r in plan.all("aws:ecs/cluster:Cluster"))
    rule = plan.one("aws:cloudwatch/eventRule:EventRule", "observability-task-events").inputs
    pattern = json.loads(rule["eventPattern"])
    arns = [f"arn:aws:ecs:eu-west-1:123456789012:cluster/{c}" for c in clusters]
    assert pattern == task_event_pattern(arns)
    assert pattern["detail"]["startedAt"] == [{"exists": False}]
    group = plan.one("aws:cloudwatch/logGroup:LogGroup", "observability-task-events").inputs
    target = plan.one("aws:cloudwatch/eventTarget:EventTarget", "observability-task-events")
    assert target.inputs["arn"].endswith(f":log-group:{group['name']}")
    policy_resource = plan.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    assert policy_resource.urn in target.dependencies
    policy = json.loads(policy_resource.inputs["policyDocument"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Resource"] == f"{target.inputs['arn']}:*"
    flt = plan.one("aws:cloudwatch/logMetricFilter:LogMetricFilter").inputs
    assert flt["logGroupName"] == group["name"]
    assert flt["pattern"] == '{ $.detail.lastStatus = "STOPPED" }'
    log_widget = next(w for w in dashboard(plan)["widgets"] if w["type"] == "log")
    query = log_widget["properties"]["query"]
    assert query.startswith(f"SOURCE '{group['name']}' |")


def test_manager_groups_report_the_metrics_the_alarms_read(ecs_email_plan: Plan) -> None:
    group = ecs_email_plan.one("aws:autoscaling/group:Group").inputs
    assert group["metricsGranularity"] == "1Minute"
    assert "GroupInServiceInstances" in group["enabledMetrics"]


def test_switched_off_nothing_is_collected_or_alarmed(disabled_plan: Plan) -> None:
    plan = disabled_plan
    assert not plan.all(ALARM) and not plan.all(DASHBOARD)
    assert "dashboardUrl" not in plan.outputs
    names = {r.inputs.get("name") for r in plan.all("aws:cloudwatch/logGroup:LogGroup")}
    assert "/gitlab-runners-dev/metrics" not in names
    assert not plan.all("gitlab-fargate-runners:eks:MetricsCollector")
    assert not plan.all("gitlab-fargate-runners:eks:StartWaitSampler")
    assert not [f for f in plan.all("aws:lambda/function:Function") if "start-wait" in f.name]
    if plan.outputs["mode"] == "ecs":
        assert "listen_address" not in tomllib.loads(plan.rendered_files[CONFIG_PATH])
        assert "prometheus" not in user_data(plan)
        group = plan.one("aws:autoscaling/group:Group").inputs
        assert "enabledMetrics" not in group


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        (
            {"email": EMAIL, "snsTopicArn": TOPIC},
            "alerts.email and alerts.snsTopicArn are both set",
        ),
        ({"snsTopicArn": TOPIC + ".fifo"}, "FIFO topics cannot receive CloudWatch alarms"),
        ({"snsTopicArn": "platform-alerts"}, "alerts.snsTopicArn: 'platform-alerts'"),
        ({"email": "platform-team"}, "alerts.email: 'platform-team'"),
        ({"fargateQuotaPercent": 120}, "alerts.fargateQuotaPercent"),
        ({"saturatedMinutes": 2000}, "alerts.saturatedMinutes"),
        ({"emails": EMAIL}, "alerts.emails"),
    ],
)
def test_bad_alert_settings_are_refused_naming_the_key(alerts: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({**TOKENS, "alerts": alerts})
    assert message in str(error.value)


def test_alerts_while_switched_off_are_warned_about() -> None:
    _, warnings = parse_config(
        {**TOKENS, "observability": {"enabled": False}, "alerts": {"email": EMAIL}}
    )
    assert any("alerts.email: ignored while observability.enabled is false" in w for w in warnings)


def test_alarm_specs_follow_the_runners() -> None:
    from components.observability.fleet import FleetView

    config, _ = parse_config(
        {
            "runnerTokens": {n: "glrt-" + "a" * 20 for n in ("a", "b", "c")},
            "runners": [{"name": n} for n in ("a", "b", "c")],
        }
    )
    view = FleetView(
        "eks", "eu-west-1", "ns", "p", ("a", "b", "c"), (), ("OnDemand",), None, config.alerts
    )
    keys = [s.key for s in alarm_specs(view)]
    assert len(keys) == len(set(keys)) == 3 + 1 + 3 + 1
    with pytest.raises(ValueError):
        FleetView("eks", "r", "ns", "p", ("a",), ("group",), (), None, config.alerts)


def test_a_topic_in_another_region_is_refused_before_any_resource() -> None:
    """FACTS.md section 10: CloudWatch alarm actions must be SNS topics in the alarm's own
    region. It used to be a bare pulumi.log warning (no `warning:` prefix, not in the plan's
    warnings) while the alarms were planned anyway."""
    from components.config import ConfigError
    from components.config.service_rules import topic_region_problem

    assert topic_region_problem(TOPIC, "eu-west-1") is None
    other = TOPIC.replace("eu-west-1", "us-east-2")
    with pytest.raises(ConfigError) as caught:
        run_program(dev_config(alerts={"snsTopicArn": other}))
    (problem,) = [p for p in caught.value.problems if p.startswith("alerts.snsTopicArn")]
    assert f"'{other}' is a topic in us-east-2, but the alarms are in eu-west-1" in problem
    assert "arn:aws:sns:eu-west-1:<account>:<topic>" in problem
    assert shared_plan(dev_config(alerts={"snsTopicArn": TOPIC})).all(ALARM)


@pytest.mark.parametrize(
    ("partition", "region", "host"),
    [
        ("aws", "eu-west-1", "eu-west-1.console.aws.amazon.com"),
        ("aws-us-gov", "us-gov-west-1", "us-gov-west-1.console.amazonaws-us-gov.com"),
        ("aws-cn", "cn-north-1", "cn-north-1.console.amazonaws.cn"),
    ],
)
def test_dashboard_url_follows_the_partition(partition: str, region: str, host: str) -> None:
    from components.observability.monitoring import dashboard_url

    url = dashboard_url(partition, region, "d")
    assert url == f"https://{host}/cloudwatch/home?region={region}#dashboards/dashboard/d"


def test_the_not_polling_window_is_derived_from_a_long_check_interval() -> None:
    """A 600 s ecs.checkInterval feeds each runner every 10 minutes (gitlab-runner
    commands/multi.go feedRunners); a 10-minute all-datapoints window would then stay in
    ALARM, so the planned alarm waits ceil(600 / 60) + 1 = 11 minutes and the plan warns."""
    raw = dev_config(alerts={"notPollingMinutes": 10})
    raw["ecs"] = {**raw.get("ecs", {}), "checkInterval": 600}
    plan = run_program(raw)
    by_name = _by_name(plan)
    assert by_name["runner-fargate-not-polling"]["evaluationPeriods"] == 11
    assert by_name["runner-fargate-not-polling"]["datapointsToAlarm"] == 11
    assert any(w.startswith("alerts.notPollingMinutes: 10 minutes") for w in plan.warnings)


def _minutes_in(text: str) -> int:
    (minutes,) = {int(m) for m in re.findall(r"(\d+) minutes", text)}
    return minutes


def test_job_start_failure_window_is_the_fifteen_minutes_its_text_says(mode_plan: Plan) -> None:
    """Every metric of `job-start-failures` is summed over one 900 s period (one evaluation
    period, one datapoint): the window the alarm text and docs/observability.md ("Jobs
    failing to start") both call 15 minutes. CloudWatch evaluates `period` seconds per
    datapoint (PutMetricAlarm API reference, MetricStat.Period)."""
    failures = _by_name(mode_plan)["job-start-failures"]
    periods = {q["metric"]["period"] for q in failures["metricQueries"] if q.get("metric")}
    assert periods == {900}
    assert failures["evaluationPeriods"] == 1 and failures["datapointsToAlarm"] == 1
    assert _minutes_in(failures["alarmDescription"]) == 15
    doc = (Path(__file__).parents[2] / "docs" / "observability.md").read_text()
    section = doc.split("### Jobs failing to start", 1)[1].split("###", 1)[0]
    assert "jobs in 15 minutes" in " ".join(section.split())


def test_fargate_quota_alarms_on_three_of_five_minutes(mode_plan: Plan) -> None:
    """ "M of N" alarm: DatapointsToAlarm 3 of EvaluationPeriods 5, one-minute datapoints
    (CloudWatch User Guide, "Evaluating an alarm"), as docs/observability.md ("Fargate usage
    against the quota") says: above the percentage "for three of five minutes"."""
    quotas = [a for a in alarms(mode_plan) if a["name"].endswith("-quota")]
    assert quotas
    for quota in quotas:
        assert quota["evaluationPeriods"] == 5, quota["name"]
        assert quota["datapointsToAlarm"] == 3, quota["name"]
        periods = {q["metric"]["period"] for q in quota["metricQueries"] if q.get("metric")}
        assert periods == {60}, quota["name"]
    doc = (Path(__file__).parents[2] / "docs" / "observability.md").read_text()
    assert "for three of five minutes" in " ".join(doc.split())


def test_a_failing_reaper_or_sampler_alarms(mode_plan: Plan) -> None:
    """Neither scheduled function had an alarm on its own failures: a sampler refused by the
    API (401/403: its access entry or association gone) wrote no start waits, and the
    start-wait alarms read missing data as not breaching, so nothing fired. AWS/Lambda Errors
    by FunctionName counts invocations that failed (Lambda developer guide, "Types of metrics
    for Lambda functions": Errors, dimension FunctionName)."""
    functions = {f.inputs["name"] for f in mode_plan.all("aws:lambda/function:Function")}
    (alarm,) = [a for a in alarms(mode_plan) if a["name"].endswith("-errors")]
    (query,) = alarm["metricQueries"]
    metric = query["metric"]
    assert (metric["namespace"], metric["metricName"], metric["stat"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    assert metric["dimensions"]["FunctionName"] in functions
    assert metric["dimensions"]["FunctionName"].endswith(("-task-reaper", "-start-wait-sampler"))
    assert alarm["comparisonOperator"] == "GreaterThanThreshold" and alarm["threshold"] == 0
    assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (3, 2)
    assert alarm["alarmDescription"].endswith("#scheduled-function-errors")
