"""The task reaper's AWS resources: a Lambda, its schedule and its destroy-time drain.

The function (`components/ecs/reaper/handler.py`, zipped alone) stops CI job tasks that no
runner manager will stop any more, every 5 minutes, and stops every task of the stack's
clusters during `pulumi destroy` so the clusters, subnets and security groups can go.

Wiring into the ECS component (destroy order is the point):

    managers = create_managers(...)                # groups depend on capacity and network
    reaper = TaskReaper(
        f"{name}-reaper",
        TaskReaperArgs(
            name_prefix=prefix,
            cluster_arns=[c.arn for c in clusters.values()],
            job_timeout_seconds=config.ecs.job_timeout_seconds,
            log_retention_days=config.log_retention_days,
            tags=tags,
            # Deleted only AFTER the drain ran: everything a running task holds on to.
            drain_depends_on=[*capacity_providers, task_security_group, network],
            manager_groups=manager_groups,  # retired first; deleted after the drain
            manager_group_tag=(MANAGER_GROUP_TAG, prefix),  # what they carry: the IAM scope
        ),
        opts=pulumi.ResourceOptions(parent=self),
    )

Pulumi deletes a resource before everything it depends on. So:

* the drain Invocation depends on the clusters (through its input) and on `drain_depends_on`:
  `pulumi destroy` invokes the drain (tf.action = "delete") BEFORE it deletes any of them;
* the drain scales the `manager_groups` to zero before it stops the tasks, so no manager
  takes a job behind its back; a group deleted after the drain is then already draining
  through its termination hook (no `force_delete`), with no job left, so that takes seconds;
* the Lambda depends on its role policy and log group, and the Invocation on the Lambda, so
  the function can still run, write logs and call ECS when the drain is invoked.

The 5-minute reap finds the manager groups by `manager_group_tag` (function environment),
never by a list of names: the update that removes a shard runs before that shard's group is
deleted and drains, and a list updated then would make the reaper stop the draining
manager's jobs as orphans (tests/ecs/test_reaper_day2.py). The drain's input names the groups
it retires (a destroy deletes them all after it), so a shard added or removed updates that
input in place and never the function.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.naming import type_token
from components.shared import scheduled_lambda
from components.shared.iam import POLICY_VERSION

TYPE_TOKEN = type_token("ecs", "TaskReaper")
REAPER_ROLE = "task-reaper"
PACKAGE_DIR = Path(__file__).resolve().parent / "reaper"
HANDLER_FILE = PACKAGE_DIR / "handler.py"
# The Lambda package: the handler imports its pure part relatively (`from .decisions ...`).
PACKAGE_FILES = (
    "__init__.py",
    "handler.py",
    "decisions.py",
    "instances.py",
    "managers.py",
    "settings.py",
    "start_wait.py",
    "teardown.py",
)
FUNCTION = scheduled_lambda.FunctionSpec(
    role=REAPER_ROLE,
    description="Stops GitLab CI job tasks no runner manager will stop; drains on destroy",
    package="reaper",
    directory=PACKAGE_DIR,
    files=PACKAGE_FILES,
    # The drain waits for every task to reach STOPPED: give it Lambda's maximum, 15 minutes.
    timeout_seconds=900,
    memory_mb=256,
)
# The drain stops waiting this long before the Lambda timeout, to fail with its own message.
DRAIN_SAFETY_SECONDS = 60
SCHEDULE_EXPRESSION = "rate(5 minutes)"
SCHEDULE_SECONDS = 300  # the same period: the window the start-wait metric looks back over
# Same defaults as the handler (kept in sync by a test; the handler is not imported here
# because it needs boto3, which the Pulumi program does not).
DEFAULT_MARGIN_SECONDS = 900
DEFAULT_GRACE_SECONDS = 300


# --------------------------------------------------------------------------------------------
# IAM documents as pure functions of plain ARNs (inspected directly by the tests).
# --------------------------------------------------------------------------------------------


def task_arn_pattern(cluster_arn: str) -> str:
    """`...:cluster/name` -> `...:task/name/*`: every task started in that cluster."""
    prefix, sep, cluster_name = cluster_arn.partition(":cluster/")
    if not sep or not cluster_name or "/" in cluster_name:
        raise ValueError(f"not an ECS cluster ARN: {cluster_arn}")
    return f"{prefix}:task/{cluster_name}/*"


def retire_statement(cluster_arn: str, tag_key: str, tag_value: str) -> dict[str, Any]:
    """UpdateAutoScalingGroup on this stack's manager groups (by their tag), to zero only.

    Named by tag, not listed by ARN: one ARN per shard put a stack of about 50 shards past
    IAM's 10,240 characters for the role's inline policies (tests/ecs/test_merged_scopes.py).
    UpdateAutoScalingGroup takes the autoScalingGroup resource with `aws:ResourceTag`, and
    the request's `autoscaling:MinSize`/`autoscaling:MaxSize` (Service Authorization
    Reference; parliament's copy is checked in the tests): the drain can retire a group,
    never resize or reconfigure one."""
    head, sep, _ = cluster_arn.partition(":cluster/")
    parts = head.split(":")
    if not sep or len(parts) != 5 or parts[:1] != ["arn"] or parts[2] != "ecs":
        raise ValueError(f"not an ECS cluster ARN: {cluster_arn}")
    _, partition, _, region, account = parts
    return {
        "Sid": "RetireOurRunnerManagersOnDestroy",
        "Effect": "Allow",
        "Action": "autoscaling:UpdateAutoScalingGroup",
        "Resource": f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*"
        ":autoScalingGroupName/*",
        "Condition": {
            "StringEquals": {f"aws:ResourceTag/{tag_key}": tag_value},
            "NumericEquals": {"autoscaling:MinSize": "0", "autoscaling:MaxSize": "0"},
        },
    }


def marker_statement(cluster_arn: str, parameter: str) -> dict[str, Any]:
    """GetParameter on the topology marker only (`/prefix/topology`): the drain reads it to
    tell `pulumi destroy` from a switch of `mode` (reaper/teardown.py). SSM parameter ARNs
    drop the name's leading slash after `parameter` (SSM user guide, "Working with
    parameter hierarchies"; Service Authorization Reference, parameter resource)."""
    parts = cluster_arn.partition(":cluster/")[0].split(":")
    if len(parts) != 5 or parts[:1] != ["arn"] or parts[2] != "ecs":
        raise ValueError(f"not an ECS cluster ARN: {cluster_arn}")
    _, partition, _, region, account = parts
    return {
        "Sid": "ReadTopologyMarker",
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": f"arn:{partition}:ssm:{region}:{account}:parameter/{parameter.lstrip('/')}",
    }


def reaper_policy(
    cluster_arns: Sequence[str],
    log_group_arn: str,
    manager_group_tag: tuple[str, str] | None = None,
    topology_parameter: str | None = None,
) -> dict[str, Any]:
    """What the function may do: list, describe and stop tasks of OUR clusters, find the live
    managers, scale OUR manager groups (those tagged `manager_group_tag`) to zero (the
    destroy drain retires them first), write its own log group.

    * ecs:DescribeTasks / ecs:StopTask authorise against the task (`task/<cluster>/*`) and
      take the `ecs:cluster` condition.
    * ecs:ListTasks authorises against a container-instance, which Fargate tasks do not have;
      it needs "*" and is narrowed by the `ecs:cluster` condition (the request's cluster).
    * autoscaling:DescribeAutoScalingGroups (the reap calls it with a `tag:<key>` filter to
      find the manager groups) and ec2:DescribeInstances (launch times and instance tags)
      have no resource-level permissions: the Service Authorization Reference lists no
      resource type for either, so "*" is the only valid resource. Both are read-only.
    """
    clusters = sorted(set(cluster_arns))
    if not clusters:
        raise ValueError("the reaper needs at least one cluster")
    in_our_clusters = {"ArnEquals": {"ecs:cluster": clusters}}
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ListTasksOfOurClusters",
                "Effect": "Allow",
                "Action": "ecs:ListTasks",
                "Resource": "*",
                "Condition": in_our_clusters,
            },
            {
                "Sid": "DescribeAndStopTasksOfOurClusters",
                "Effect": "Allow",
                "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
                "Resource": [task_arn_pattern(c) for c in clusters],
                "Condition": in_our_clusters,
            },
            {
                "Sid": "FindLiveRunnerManagers",
                "Effect": "Allow",
                "Action": ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"],
                "Resource": "*",
            },
            *(
                [retire_statement(clusters[0], *manager_group_tag)]
                if manager_group_tag is not None
                else []
            ),
            *([marker_statement(clusters[0], topology_parameter)] if topology_parameter else []),
            scheduled_lambda.own_logs_statement(log_group_arn),
        ],
    }


def reap_event() -> dict[str, Any]:
    """The schedule's input: no group names (the function finds the managers by their tag)."""
    return {"action": "reap"}


def drain_event(
    cluster_arns: Sequence[str], autoscaling_group_names: Sequence[str] = ()
) -> dict[str, Any]:
    """The Invocation's input; with lifecycle_scope CRUD the provider adds `tf`. The groups
    are the managers the drain retires before it stops their tasks."""
    event: dict[str, Any] = {"action": "drain", "clusters": list(cluster_arns)}
    if autoscaling_group_names:
        event["autoscaling_group_names"] = list(autoscaling_group_names)
    return event


# --------------------------------------------------------------------------------------------
# The component.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskReaperArgs:
    name_prefix: str  # e.g. resource_prefix(stack): names the log group `/<prefix>/task-reaper`
    cluster_arns: Sequence[pulumi.Input[str]]
    job_timeout_seconds: int  # the longest job the runners accept
    margin_seconds: int = DEFAULT_MARGIN_SECONDS  # time for a timed-out job's cleanup stage
    grace_seconds: int = DEFAULT_GRACE_SECONDS  # minimum task age before any reaping
    log_retention_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)
    # Resources the job tasks hold on to (capacity providers, security groups, subnets, NAT,
    # endpoints): the drain runs before any of them is deleted. The clusters are implicit.
    drain_depends_on: Sequence[pulumi.Resource] = ()
    # Manager groups the destroy drain scales to zero before it stops their tasks (so none
    # takes a new job meanwhile); the drain depends on them, so they are deleted after it.
    manager_groups: Sequence[aws.autoscaling.Group] = ()
    # (key, value) every one of `manager_groups` carries: what the drain may scale to zero,
    # and how the reap finds the managers (without it only its time rule applies).
    manager_group_tag: tuple[str, str] | None = None
    # The topology marker (naming.topology_marker_name): the drain's delete reads it to tell
    # `pulumi destroy` (no marker: cancel every job) from a switch of `mode` (retire only).
    topology_parameter: str | None = None
    schedule_expression: str = SCHEDULE_EXPRESSION
    # Where the reaper puts JobStartWaitSeconds (reaper/start_wait.py); "" = no metric.
    metrics_namespace: str = ""


class TaskReaper(pulumi.ComponentResource):
    """Scheduled reaping of orphaned / over-time job tasks, and a drain on `pulumi destroy`."""

    function: aws.lambda_.Function
    drain: aws.lambda_.Invocation
    log_group: aws.cloudwatch.LogGroup
    schedule: aws.scheduler.Schedule

    def __init__(
        self, name: str, args: TaskReaperArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        if not args.cluster_arns:
            raise ValueError("TaskReaper needs at least one cluster ARN")
        if args.job_timeout_seconds <= 0:
            raise ValueError("job_timeout_seconds must be positive")
        if args.manager_groups and args.manager_group_tag is None:
            raise ValueError("the drain retires manager_groups: name them by manager_group_tag")
        self._name = name
        self._args = args
        self._tags = dict(args.tags)
        self._account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        clusters = pulumi.Output.all(*args.cluster_arns)
        group_names = pulumi.Output.all(*[g.name for g in args.manager_groups])

        self.log_group = scheduled_lambda.function_log_group(
            name, f"/{args.name_prefix}/task-reaper", args.log_retention_days, self._tags, self
        )
        role = scheduled_lambda.function_role(
            name, "GitLab runner task reaper: stops orphaned CI job tasks", self._tags, self
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(clusters, self.log_group.arn).apply(
                lambda v: json.dumps(
                    reaper_policy(v[0], v[1], args.manager_group_tag, args.topology_parameter)
                )
            ),
            opts=self._opts(),
        )
        # A fixed name: the drain Invocation's function_name forces its replacement, and
        # replacing it runs the drain (every job stops) during `pulumi up`. An auto-name
        # changes whenever the function is replaced; this one never does. `ignore_changes`
        # keeps the auto-name of a function created before the name was fixed, for the same
        # reason (renaming it would replace the function, then the Invocation).
        self.function = scheduled_lambda.scheduled_function(
            name,
            args.name_prefix,
            FUNCTION,
            role,
            self.log_group,
            {
                "REAPER_CLUSTERS": clusters.apply(lambda arns: ",".join(arns)),
                "REAPER_JOB_TIMEOUT_SECONDS": str(args.job_timeout_seconds),
                "REAPER_MARGIN_SECONDS": str(args.margin_seconds),
                "REAPER_GRACE_SECONDS": str(args.grace_seconds),
                "REAPER_DRAIN_SAFETY_SECONDS": str(DRAIN_SAFETY_SECONDS),
                **(
                    {"REAPER_TOPOLOGY_PARAMETER": args.topology_parameter}
                    if args.topology_parameter
                    else {}
                ),
                **(
                    {"REAPER_MANAGER_GROUP_TAG": "=".join(args.manager_group_tag)}
                    if args.manager_group_tag is not None
                    else {}
                ),
                **(
                    {
                        "REAPER_METRICS_NAMESPACE": args.metrics_namespace,
                        "REAPER_INTERVAL_SECONDS": str(SCHEDULE_SECONDS),
                    }
                    if args.metrics_namespace
                    else {}
                ),
            },
            self._tags,
            # The policy and log group must outlive the function's last (drain) invocation.
            opts=self._opts(depends_on=[self.role_policy, self.log_group], ignore_changes=["name"]),
        )
        self.drain = aws.lambda_.Invocation(
            f"{name}-drain",
            function_name=self.function.name,
            input=pulumi.Output.all(clusters, group_names).apply(
                lambda v: json.dumps(drain_event(v[0], v[1]))
            ),
            lifecycle_scope="CRUD",
            opts=self._opts(depends_on=[*args.drain_depends_on, *args.manager_groups]),
        )
        self.schedule = scheduled_lambda.invoke_on_schedule(
            name,
            self.function,
            self._account,
            scheduled_lambda.ScheduleSpec(
                expression=args.schedule_expression,
                description="Stop GitLab CI job tasks whose runner manager is gone or that overran",
                role_description="EventBridge Scheduler: invoke the GitLab runner task reaper",
                policy_sid="InvokeTaskReaper",
                event=json.dumps(reap_event()),
                # The next run is minutes away: no retries piling up behind a failing one.
                max_event_age_seconds=300,
            ),
            self._tags,
            self,
        )
        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.register_outputs(
            {
                "functionName": self.function.name,
                "functionArn": self.function.arn,
                "logGroupName": self.log_group.name,
            }
        )

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)
