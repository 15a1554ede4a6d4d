"""IAM policy documents for ECS mode, as pure functions of plain ARNs.

Kept free of Pulumi so tests (and parliament) can inspect every statement directly; the
component calls them inside `Output.apply` once the ARNs are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.shared.cache import cache_access_statements
from components.shared.iam import POLICY_VERSION

ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
# IAM: every inline policy of one role together, whitespace not counted (IAM quotas page).
ROLE_INLINE_POLICY_LIMIT = 10240
EC2_SERVICE = "ec2.amazonaws.com"


def job_role_path(prefix: str) -> str:
    """The IAM path of the roles the manager may pass: the execution role and task roles."""
    return f"/{prefix}/"


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


def catalogue_family_pattern(task_definition_arns: Sequence[str], family_prefix: str) -> str:
    """`...:task-definition/<prefix>-*:*`: every revision of every family of the catalogue.

    One ARN however long the catalogue: listing each family put 60 entries past IAM's
    10,240-character limit for a role's inline policies. Families of other stacks may share
    the prefix (stack `dev-2` under `dev`), but RunTask also needs iam:PassRole on the task's
    roles, which only this stack's role path grants, and the ecs:cluster condition keeps it
    to this stack's clusters."""
    patterns = set()
    for arn in task_definition_arns:
        family = task_definition_family_arn(arn).rsplit("/", 1)
        if not family[1].startswith(f"{family_prefix}-"):
            raise ValueError(f"task definition {arn} is not a {family_prefix}- family")
        patterns.add(f"{family[0]}/{family_prefix}-*:*")
    if len(patterns) != 1:
        raise ValueError(f"catalogue task definitions span accounts or regions: {patterns}")
    return patterns.pop()


def role_path_pattern(role_arns: Sequence[str], path: str) -> str:
    """`arn:...:role/<path>*`: every role under the stack's own IAM path, one ARN for the
    execution role and all task roles. The path ends in '/', so `/gitlab-runners-dev/`
    does not cover `/gitlab-runners-dev-2/`."""
    if not (path.startswith("/") and path.endswith("/")):
        raise ValueError(f"an IAM path starts and ends with '/': {path}")
    patterns = set()
    for arn in role_arns:
        head, sep, rest = arn.partition(":role/")
        if not sep or not f"/{rest}".startswith(path):
            raise ValueError(f"role {arn} is not under the path {path}")
        patterns.add(f"{head}:role{path}*")
    if len(patterns) != 1:
        raise ValueError(f"passable roles span accounts or partitions: {patterns}")
    return patterns.pop()


def task_arn_pattern(cluster_arn: str) -> str:
    """`...:cluster/name` -> `...:task/name/*`: the ARNs of tasks started in that cluster."""
    prefix, sep, cluster_name = cluster_arn.partition(":cluster/")
    if not sep or not cluster_name:
        raise ValueError(f"not an ECS cluster ARN: {cluster_arn}")
    return f"{prefix}:task/{cluster_name}/*"


# What pulling one image from a repository takes (ecr:GetAuthorizationToken aside: "*").
ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def execution_role_policy(
    jobs_log_group_arn: str,
    ecr_repository_arn_pattern: str,
    pull_through_statements: Sequence[dict[str, Any]] = (),
    shared_repository_arns: Sequence[str] = (),
    registry_secret_arns: Sequence[str] = (),
) -> dict[str, Any]:
    """What ECS needs to start a job task: pull from this account's ECR, write its log group.

    Narrower than AmazonECSTaskExecutionRolePolicy, which allows both on every resource.
    `ecr:GetAuthorizationToken` has no resource-level permissions, so it needs "*".
    `pull_through_statements` let ECR fill the image cache on a task's first pull.
    `shared_repository_arns`: catalogue images in another account's or region's ECR, each
    repository exactly (its own policy must also allow this account). `registry_secret_arns`:
    the entries' repositoryCredentialsArn secrets, which ECS reads with this role to log in
    to other private registries (ECS developer guide, "Private registry authentication")."""
    shared = (
        [
            {
                "Sid": "EcrPullShared",
                "Effect": "Allow",
                "Action": list(ECR_PULL_ACTIONS),
                "Resource": sorted(set(shared_repository_arns)),
            }
        ]
        if shared_repository_arns
        else []
    )
    login = (
        [
            {
                "Sid": "RegistryCredentials",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": sorted(set(registry_secret_arns)),
            }
        ]
        if registry_secret_arns
        else []
    )
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
                "Action": list(ECR_PULL_ACTIONS),
                "Resource": ecr_repository_arn_pattern,
            },
            *shared,
            {
                "Sid": "JobLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": log_group_resources(jobs_log_group_arn),
            },
            *pull_through_statements,
            *login,
        ],
    }


@dataclass(frozen=True)
class ManagerPolicyScope:
    """Everything the runner manager may touch, as resolved ARNs."""

    cluster_arns: Sequence[str]
    task_definition_arns: Sequence[str]  # one revision ARN per catalogue entry
    family_prefix: str  # every catalogue family starts with f"{family_prefix}-"
    passable_role_arns: Sequence[str]  # execution role + task roles
    role_path: str  # the IAM path all of them live under
    secret_arn: str
    log_group_arn: str
    cache_bucket_arn: str | None = None  # the stack's build cache, when enabled
    metrics_log_group_arn: str | None = None  # the agent's EMF events (observability)


def manager_policy(scope: ManagerPolicyScope) -> dict[str, Any]:
    """The manager's inline policy: run/watch/stop job tasks in our clusters, nothing more.

    Replaces the AmazonECS_FullAccess that GitLab's guide uses "for test only". Its size does
    not grow with the catalogue (tests/ecs/test_iam_size.py)."""
    clusters = sorted(scope.cluster_arns)
    in_our_clusters = {"ArnEquals": {"ecs:cluster": clusters}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RunCatalogueTasks",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": catalogue_family_pattern(scope.task_definition_arns, scope.family_prefix),
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
            "Resource": role_path_pattern(scope.passable_role_arns, scope.role_path),
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
    if scope.metrics_log_group_arn is not None:
        # EMF: CloudWatch extracts the metrics from these events, so the agent needs no
        # cloudwatch:PutMetricData at all.
        statements.append(
            {
                "Sid": "ShipRunnerMetrics",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": log_group_resources(scope.metrics_log_group_arn),
            }
        )
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
