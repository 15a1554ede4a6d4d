"""The stack's dashboard and alarms, the optional SNS topic they notify, in ECS mode the
EventBridge rule that turns "task stopped before running" events into a metric, and in EKS
mode with notifications the EventBridge rule that sends failed Fargate patch evictions to the
alert topic.

Both topologies put gitlab-runner's metrics into the stack namespace themselves (the ECS
managers' CloudWatch agent, the EKS collector); this component reads them, with the AWS
namespaces the topologies feed (Auto Scaling group metrics, Fargate usage)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.domain.fleet_rules import topic_region_problem
from components.domain.specs import AlertsSpec
from components.naming import event_rule_name, type_token
from components.observability.alarms import FUNCTION_ERRORS, AlarmSpec, alarm_specs
from components.observability.catalogue import TASKS_NOT_STARTED, task_events_log_group_name
from components.observability.dashboard import dashboard_body
from components.observability.fleet import FleetView

TYPE_TOKEN = type_token("observability", "FleetMonitoring")
EVENTS_SERVICE = "events.amazonaws.com"
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"
# EventBridge events reference, "Amazon Elastic Kubernetes Service events": the one event EKS
# sends when a Fargate pod's OS-patch eviction failed (EKS user guide, "Set actions for AWS
# Fargate OS patching events").
FARGATE_EVICTION_FAILED = "EKS Fargate Pod Scheduled Termination"
EVICTION_RULE_ROLE = "fargate-evictions"  # the rule is <prefix>-fargate-evictions
CONSOLE = {
    "aws": "console.aws.amazon.com",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-cn": "console.amazonaws.cn",
}


@dataclass(frozen=True)
class MonitoringTargets:
    """What a topology hands over to be watched."""

    fargate_classes: tuple[str, ...]  # catalogue.FARGATE_CLASSES keys the jobs use
    manager_groups: Sequence[pulumi.Output[str]] = ()  # ECS Auto Scaling group names
    cluster_arns: Sequence[pulumi.Output[str]] = ()  # ECS clusters whose task events count
    # ECS: lane -> cluster name of the lanes the runners use (their start waits are alarmed)
    clusters: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    # EKS: runner -> the capacity estimate's start of its job pods; the start-wait sampler
    # (components/eks/start_wait_sampler.py) writes each runner's waits, each is alarmed
    runner_start_seconds: Mapping[str, float] = field(default_factory=dict)
    # EKS: the cluster whose failed Fargate patch evictions notify the alert topic
    cluster_name: str | None = None
    # EKS on a cluster it joins: the fleet's Fargate profiles there (only their pods notify)
    fargate_profile_names: tuple[str, ...] = ()
    # What (task-reaper, start-wait-sampler) -> the Lambda function's name: its errors alarm.
    functions: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    # What retires the managers on destroy (the ECS drain). Every resource here depends on
    # them, so a destroy deletes the alarms and their topic first: none sees the retired
    # managers as down and pages someone about a planned teardown.
    retired_by: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class FleetMonitoringArgs:
    mode: str  # "ecs" or "eks": which fleet the targets come from
    runners: tuple[str, ...]  # runner names, one dashboard row and alarm set each
    alerts: AlertsSpec
    log_retention_days: int  # of its log group of task events (0: keep forever)
    prefix: str  # physical name prefix (the stack program's resource_prefix(stack))
    namespace: str  # catalogue.metrics_namespace(stack)
    targets: MonitoringTargets
    tags: Mapping[str, str]  # AWS tags on everything it creates


def task_event_pattern(cluster_arns: Sequence[str]) -> dict[str, Any]:
    """ECS task state changes of our clusters' tasks that stopped without ever running."""
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {
            "clusterArn": sorted(cluster_arns),
            "lastStatus": ["STOPPED"],
            "startedAt": [{"exists": False}],
        },
    }


def events_log_policy(log_group_arn: str) -> dict[str, Any]:
    """Lets EventBridge write to this one log group (a log group target needs it)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TaskEventsFromEventBridge",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS_SERVICE},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:*",
            }
        ],
    }


def eviction_event_pattern(cluster_name: str, profile_names: Sequence[str] = ()) -> dict[str, Any]:
    """Failed Fargate patch evictions of this stack's pods only. The event's detail names the
    cluster and the pod's Fargate profile (`clusterName`, `fargateProfileName`, with the pod,
    its namespace, the eviction error and `scheduledTerminationTime`: the EKS user guide's
    sample event, "Set actions for AWS Fargate OS patching events"). A cluster of the
    stack's own is all its pods; on a cluster it joins, `profile_names` (the fleet's
    profiles) keep other teams' pods out."""
    detail: dict[str, list[str]] = {"clusterName": [cluster_name]}
    if profile_names:
        detail["fargateProfileName"] = sorted(profile_names)
    return {"source": ["aws.eks"], "detail-type": [FARGATE_EVICTION_FAILED], "detail": detail}


def alert_topic_policy(topic_arn: str, rule_arn: str, prefix: str) -> dict[str, Any]:
    """The created alert topic's access policy. It replaces SNS's default policy, so it names
    both publishers: this stack's alarms (CloudWatch publishes as its service principal,
    AWS re:Post "cloudwatch-receive-sns-for-alarm-trigger") and the eviction rule (EventBridge
    publishes to SNS only where the topic's policy lets it, EventBridge user guide "Using
    resource-based policies", Amazon SNS permissions). Each is scoped to its sources' ARNs.
    The account's own identities need no statement: their IAM policies grant them."""
    partition, _, region, account = topic_arn.split(":")[1:5]
    alarms = f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{prefix}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlarmsOfThisStack",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDWATCH_SERVICE},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": alarms},
                    "StringEquals": {"aws:SourceAccount": account},
                },
            },
            {
                "Sid": "FargateEvictionsRule",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS_SERVICE},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            },
        ],
    }


def dashboard_url(partition: str, region: str, name: str) -> str:
    host = CONSOLE.get(partition, CONSOLE["aws"])
    return f"https://{region}.{host}/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


class FleetMonitoring(pulumi.ComponentResource):
    """Dashboard, alarms, notifications; `dashboard_url` is the stack output."""

    def __init__(
        self, name: str, args: FleetMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.targets.retired_by))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.topic_arn: pulumi.Output[str] | None = None
        topic: aws.sns.Topic | None = None
        if args.alerts.email:
            topic = aws.sns.Topic(
                f"{name}-alerts", name=f"{args.prefix}-alerts", tags=tags, opts=child
            )
            aws.sns.TopicSubscription(
                f"{name}-alerts-email",
                topic=topic.arn,
                protocol="email",
                endpoint=args.alerts.email,
                opts=child,
            )
            self.topic_arn = topic.arn
        elif args.alerts.sns_topic_arn:
            self.topic_arn = pulumi.Output.from_input(args.alerts.sns_topic_arn)
            region.apply(lambda r: _refuse_other_region(args.alerts.sns_topic_arn or "", r, self))
        events_group: pulumi.Output[str] | None = None
        if args.mode == "ecs":
            events_group = self._task_events(args, tags, child)
        cluster = args.targets.cluster_name
        # The rule's ARN is what a topic you bring must let publish (its name is cut and
        # hashed for long stack names: naming.event_rule_name), so the stack exports it.
        self.eviction_rule_arn: pulumi.Output[str] | None = None
        if args.mode == "eks" and cluster and self.topic_arn is not None:
            self.eviction_rule_arn = self._eviction_notices(
                args, cluster, self.topic_arn, topic, child
            )
        view = pulumi.Output.all(
            region=region,
            groups=pulumi.Output.all(*args.targets.manager_groups),
            clusters=pulumi.Output.all(**args.targets.clusters),
            events=events_group,
        ).apply(
            lambda v: FleetView(
                mode=args.mode,
                region=v["region"],
                namespace=args.namespace,
                prefix=args.prefix,
                runners=args.runners,
                manager_groups=tuple(v["groups"]),
                fargate_classes=args.targets.fargate_classes,
                task_events_log_group=v["events"],
                alerts=args.alerts,
                clusters=tuple(sorted(dict(v["clusters"]).items())),  # all() of none is []
                runner_start_seconds=tuple(sorted(args.targets.runner_start_seconds.items())),
            )
        )
        # Only the functions' own alarms wait for (and depend on) the functions' names.
        with_functions = pulumi.Output.all(view, pulumi.Output.all(**args.targets.functions)).apply(
            lambda v: replace(v[0], functions=tuple(sorted(dict(v[1]).items())))
        )
        specs = alarm_specs(_shape(args))
        self.alarms = {
            spec.key: self._alarm(
                spec,
                args.prefix,
                with_functions if spec.kind == FUNCTION_ERRORS else view,
                tags,
                child,
            )
            for spec in specs
        }
        body = pulumi.Output.all(view, *[a.arn for a in self.alarms.values()]).apply(
            lambda v: json.dumps(dashboard_body(v[0], v[1:]))
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=args.prefix, dashboard_body=body, opts=child
        )
        self.dashboard_url = pulumi.Output.all(
            partition.partition, region, dashboard.dashboard_name
        ).apply(lambda v: dashboard_url(*v))
        self.register_outputs({"dashboardUrl": self.dashboard_url})

    def _task_events(
        self, args: FleetMonitoringArgs, tags: dict[str, str], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """EventBridge -> log group -> metric filter: jobs whose Fargate task never ran."""
        group = aws.cloudwatch.LogGroup(
            f"{self._name}-task-events",
            name=task_events_log_group_name(args.prefix),
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        policy = aws.cloudwatch.LogResourcePolicy(
            f"{self._name}-task-events-policy",
            policy_name=f"{args.prefix}-task-events",
            policy_document=group.arn.apply(lambda arn: json.dumps(events_log_policy(arn))),
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-task-events",
            description="ECS job tasks that stopped before running (quota, capacity, image pull)",
            event_pattern=pulumi.Output.all(*args.targets.cluster_arns).apply(
                lambda arns: json.dumps(task_event_pattern(arns))
            ),
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-task-events",
            rule=rule.name,
            arn=group.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, *args.targets.retired_by]),
        )
        aws.cloudwatch.LogMetricFilter(
            f"{self._name}-tasks-not-started",
            log_group_name=group.name,
            pattern='{ $.detail.lastStatus = "STOPPED" }',
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=TASKS_NOT_STARTED, namespace=args.namespace, value="1", unit="Count"
            ),
            opts=child,
        )
        return group.name

    def _eviction_notices(
        self,
        args: FleetMonitoringArgs,
        cluster: str,
        topic_arn: pulumi.Output[str],
        topic: aws.sns.Topic | None,
        child: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """EventBridge -> the alert topic: the cluster's Fargate pods whose patch eviction
        failed, which EKS deletes at the date the event gives (docs/eks-operations.md). A
        topic you bring keeps its own policy: it must let this rule publish (the docs say
        how); the created one gets a policy that does."""
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-fargate-evictions",
            name=event_rule_name(args.prefix, EVICTION_RULE_ROLE),
            description=f"Fargate pods of EKS cluster {cluster} whose OS-patch eviction failed",
            event_pattern=json.dumps(
                eviction_event_pattern(cluster, args.targets.fargate_profile_names)
            ),
            tags=dict(args.tags),
            opts=child,
        )
        needs = list(args.targets.retired_by)
        if topic is not None:
            needs.append(
                aws.sns.TopicPolicy(
                    f"{self._name}-alerts-policy",
                    arn=topic.arn,
                    policy=pulumi.Output.all(topic.arn, rule.arn).apply(
                        lambda v: json.dumps(alert_topic_policy(v[0], v[1], args.prefix))
                    ),
                    opts=child,
                )
            )
        aws.cloudwatch.EventTarget(
            f"{self._name}-fargate-evictions",
            rule=rule.name,
            arn=topic_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=needs),
        )
        return rule.arn

    def _alarm(
        self,
        spec: AlarmSpec,
        prefix: str,
        view: pulumi.Output[FleetView],
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.cloudwatch.MetricAlarm:
        actions = [self.topic_arn] if self.topic_arn is not None else []
        # The spec's metrics depend on resolved names (the ECS groups): take them from the view.
        resolved = view.apply(lambda v: next(s for s in alarm_specs(v) if s.key == spec.key))
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{spec.key}",
            name=f"{prefix}-{spec.key}",
            alarm_description=resolved.apply(lambda s: s.description),
            comparison_operator=spec.comparison,
            threshold=spec.threshold,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            treat_missing_data=spec.treat_missing_data,
            metric_queries=resolved.apply(_queries),
            alarm_actions=actions,
            ok_actions=actions,
            tags=tags,
            opts=child,
        )


def _refuse_other_region(topic_arn: str, region: str, resource: pulumi.Resource) -> None:
    """The config check refuses it when it knows the region; this catches a region that only
    the provider knew (e.g. from an AWS profile). An error log fails the preview."""
    problem = topic_region_problem(topic_arn, region)
    if problem:
        pulumi.log.error(problem, resource=resource)


def _queries(spec: AlarmSpec) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    return [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=q.id,
            return_data=q.return_data,
            label=q.label,
            expression=q.expression,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=q.metric.namespace,
                metric_name=q.metric.name,
                dimensions=q.metric.dimension_map() or None,
                stat=q.metric.stat,
                period=q.metric.period,
            )
            if q.metric
            else None,
        )
        for q in spec.queries
    ]


def _shape(args: FleetMonitoringArgs) -> FleetView:
    """The view with placeholder names: which alarms exist is known before any name is."""
    ecs = args.mode == "ecs"
    return FleetView(
        mode=args.mode,
        region="",
        namespace=args.namespace,
        prefix=args.prefix,
        runners=args.runners,
        manager_groups=tuple(str(i) for i in range(len(args.targets.manager_groups))),
        fargate_classes=args.targets.fargate_classes,
        task_events_log_group="" if ecs else None,
        alerts=args.alerts,
        clusters=tuple((lane, "") for lane in sorted(args.targets.clusters)),
        runner_start_seconds=tuple(sorted(args.targets.runner_start_seconds.items())),
        functions=tuple((what, "") for what in sorted(args.targets.functions)),
    )
