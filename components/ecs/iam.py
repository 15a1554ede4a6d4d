"""IAM policy documents for ECS mode, as pure functions of plain ARNs.

Kept free of Pulumi so tests (and parliament) can inspect every statement directly; the
component calls them inside `Output.apply` once the ARNs are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.shared.cache import cache_access_statements

POLICY_VERSION = "2012-10-17"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
EC2_SERVICE = "ec2.amazonaws.com"


def assume_role_policy(service: str, source_account: str | None = None) -> dict[str, Any]:
    """Trust policy for one AWS service principal.

    With `source_account`, only requests made on behalf of this account may assume the role
    (AWS's confused-deputy guard for ECS task and execution roles)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def log_group_resources(log_group_arn: str) -> list[str]:
    """The group (DescribeLogStreams) and every stream in it (CreateLogStream, PutLogEvents)."""
    return [log_group_arn, f"{log_group_arn}:*"]


def task_definition_family_arn(task_definition_arn: str) -> str:
    """`...:task-definition/family:3` -> `...:task-definition/family:*` (every revision).

    RunTask authorises against the revision ARN, so the family with `:*` keeps working when a
    catalogue entry changes and Pulumi registers a new revision."""
    family, _, revision = task_definition_arn.rpartition(":")
    if ":task-definition/" not in task_definition_arn or not revision.isdigit():
        raise ValueError(f"not a task definition revision ARN: {task_definition_arn}")
    return f"{family}:*"


def task_arn_pattern(cluster_arn: str) -> str:
    """`...:cluster/name` -> `...:task/name/*`: the ARNs of tasks started in that cluster."""
    prefix, sep, cluster_name = cluster_arn.partition(":cluster/")
    if not sep or not cluster_name:
        raise ValueError(f"not an ECS cluster ARN: {cluster_arn}")
    return f"{prefix}:task/{cluster_name}/*"


def execution_role_policy(
    jobs_log_group_arn: str,
    ecr_repository_arn_pattern: str,
    pull_through_statements: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """What ECS needs to start a job task: pull from this account's ECR, write its log group.

    Narrower than AmazonECSTaskExecutionRolePolicy, which allows both on every resource.
    `ecr:GetAuthorizationToken` has no resource-level permissions, so it needs "*".
    `pull_through_statements` let ECR fill the image cache on a task's first pull."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "EcrPull",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": ecr_repository_arn_pattern,
            },
            {
                "Sid": "JobLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_group_resources(jobs_log_group_arn),
            },
            *pull_through_statements,
        ],
    }


@dataclass(frozen=True)
class ManagerPolicyScope:
    """Everything the runner manager may touch, as resolved ARNs."""

    cluster_arns: Sequence[str]
    task_definition_arns: Sequence[str]  # one revision ARN per catalogue entry
    passable_role_arns: Sequence[str]  # execution role + task roles
    secret_arn: str
    log_group_arn: str
    cache_bucket_arn: str | None = None  # the stack's build cache, when enabled


def manager_policy(scope: ManagerPolicyScope) -> dict[str, Any]:
    """The manager's inline policy: run/watch/stop job tasks in our clusters, nothing more.

    Replaces the AmazonECS_FullAccess that GitLab's guide uses "for test only"."""
    clusters = sorted(scope.cluster_arns)
    in_our_clusters = {"ArnEquals": {"ecs:cluster": clusters}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RunCatalogueTasks",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": sorted({task_definition_family_arn(a) for a in scope.task_definition_arns}),
            "Condition": in_our_clusters,
        },
        {
            "Sid": "WatchAndStopJobTasks",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Resource": sorted(task_arn_pattern(c) for c in clusters),
            "Condition": in_our_clusters,
        },
        {
            "Sid": "PassJobRolesToEcs",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": sorted(set(scope.passable_role_arns)),
            "Condition": {"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
        },
        {
            "Sid": "ReadRunnerTokens",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": scope.secret_arn,
        },
        {
            "Sid": "ShipManagerLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": log_group_resources(scope.log_group_arn),
        },
    ]
    if scope.cache_bucket_arn is not None:
        # The manager presigns the jobs' cache URLs with its own credentials.
        statements.extend(cache_access_statements(scope.cache_bucket_arn))
    return {"Version": POLICY_VERSION, "Statement": statements}


def manager_lifecycle_policy(
    partition: str, region: str, account: str, tag_key: str, tag_value: str
) -> dict[str, Any]:
    """What a leaving manager needs to drain: find its group, heartbeat and complete the
    termination lifecycle action of this stack's manager groups only.

    The groups are named by their tag, not listed by ARN: a list would lose a removed
    shard's group in the update that runs before that group's delete, in the middle of
    its manager's drain. CompleteLifecycleAction and RecordLifecycleActionHeartbeat take
    the autoScalingGroup resource and its `aws:ResourceTag` condition (Service
    Authorization Reference; parliament's copy of it is checked in the tests).
    DescribeAutoScalingInstances has no resource-level permissions (read-only, "*")."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "FindOwnGroup",
                "Effect": "Allow",
                "Action": "autoscaling:DescribeAutoScalingInstances",
                "Resource": "*",
            },
            {
                "Sid": "DrainBeforeTermination",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:CompleteLifecycleAction",
                    "autoscaling:RecordLifecycleActionHeartbeat",
                ],
                "Resource": f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*"
                ":autoScalingGroupName/*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/{tag_key}": tag_value}},
            },
        ],
    }
