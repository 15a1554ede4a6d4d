"""The plumbing of a Python Lambda that runs on a schedule, as the ECS task reaper
(components/ecs/reaper_resources.py) and the EKS start-wait sampler
(components/eks/start_wait_sampler.py) both are: its zip, log group, role, function and the
EventBridge Scheduler schedule (with its own role) that invokes it.

The zip holds the function's package directory under the package's name: the handler
imports its pure part relatively, standard library and boto3 only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.naming import function_name_for
from components.shared.iam import POLICY_VERSION, assume_role_policy

LAMBDA_RUNTIME = "python3.12"
LAMBDA_SERVICE = "lambda.amazonaws.com"
SCHEDULER_SERVICE = "scheduler.amazonaws.com"


def package_archive(package: str, directory: Path, files: Sequence[str]) -> pulumi.AssetArchive:
    """The function's zip: `files` of `directory` as the package `package`."""
    return pulumi.AssetArchive(
        {f"{package}/{f}": pulumi.FileAsset(str(directory / f)) for f in files}
    )


def own_logs_statement(log_group_arn: str) -> dict[str, Any]:
    """The function writes its own log group's streams; no logs:CreateLogGroup (the program
    creates the group, with retention)."""
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [log_group_arn, f"{log_group_arn}:*"],
    }


def invoke_policy(sid: str, function_arn: str) -> dict[str, Any]:
    """The schedule's role may invoke this one function, nothing else."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": function_arn,
            }
        ],
    }


def function_log_group(
    name: str,
    log_group_name: str,
    retention_days: int,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.LogGroup:
    """The function's log group, created by the program so it has a retention."""
    return aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=log_group_name,
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def function_role(
    name: str, description: str, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.iam.Role:
    """The function's execution role: Lambda may assume it."""
    return aws.iam.Role(
        f"{name}-role",
        description=description,
        assume_role_policy=json.dumps(assume_role_policy(LAMBDA_SERVICE)),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class FunctionSpec:
    role: str  # names the function `<prefix>-<role>` (naming.function_name_for)
    description: str
    package: str  # the zip's package: its handler is `<package>.handler.handler`
    directory: Path  # where the package's files are
    files: tuple[str, ...]  # which of them the zip holds
    timeout_seconds: int
    memory_mb: int


def scheduled_function(
    name: str,
    prefix: str,
    spec: FunctionSpec,
    role: aws.iam.Role,
    log_group: aws.cloudwatch.LogGroup,
    environment: Mapping[str, pulumi.Input[str]],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    **extra: Any,
) -> aws.lambda_.Function:
    """The function (arm64, Python 3.12, text logs into `log_group`); `extra` holds what only
    one of them sets (a VPC configuration)."""
    return aws.lambda_.Function(
        f"{name}-fn",
        name=function_name_for(prefix, spec.role),
        description=spec.description,
        runtime=LAMBDA_RUNTIME,
        handler=f"{spec.package}.handler.handler",
        architectures=["arm64"],
        code=package_archive(spec.package, spec.directory, spec.files),
        role=role.arn,
        timeout=spec.timeout_seconds,
        memory_size=spec.memory_mb,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(environment)),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="Text", log_group=log_group.name
        ),
        tags=dict(tags),
        opts=opts,
        **extra,
    )


@dataclass(frozen=True)
class ScheduleSpec:
    expression: str  # `rate(...)`
    description: str  # the schedule's
    role_description: str  # its role's
    policy_sid: str  # the invoke statement's Sid
    # The function's input, JSON (at most 8192 characters: EventBridge Scheduler's
    # Target.Input); context attributes such as <aws.scheduler.scheduled-time> are filled in.
    event: str
    # The next run is this close: a failed run is not retried, an event this old is dropped.
    max_event_age_seconds: int


def invoke_on_schedule(
    name: str,
    function: aws.lambda_.Function,
    account: pulumi.Input[str],
    spec: ScheduleSpec,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.scheduler.Schedule:
    """The schedule, through a role of its own that only EventBridge Scheduler, for this
    account, may assume and that may invoke this one function."""
    opts = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-scheduler-role",
        description=spec.role_description,
        assume_role_policy=pulumi.Output.from_input(account).apply(
            lambda a: json.dumps(assume_role_policy(SCHEDULER_SERVICE, a))
        ),
        tags=dict(tags),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-scheduler-policy",
        role=role.id,
        policy=function.arn.apply(lambda arn: json.dumps(invoke_policy(spec.policy_sid, arn))),
        opts=opts,
    )
    return aws.scheduler.Schedule(
        f"{name}-schedule",
        description=spec.description,
        schedule_expression=spec.expression,
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
        target=aws.scheduler.ScheduleTargetArgs(
            arn=function.arn,
            role_arn=role.arn,
            input=spec.event,
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                maximum_retry_attempts=0, maximum_event_age_in_seconds=spec.max_event_age_seconds
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )
