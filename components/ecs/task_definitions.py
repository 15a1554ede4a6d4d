"""The job side of ECS mode: the task execution role and one Fargate task definition per
catalogue entry (with a task role only where the entry asks for one)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.domain.ecr import ecr_repository
from components.domain.specs import EcsFleetSpec, TaskDefinitionSpec
from components.ecs.catalogue import (
    container_definitions,
    needs_ephemeral_storage,
    runtime_platform,
    task_family,
)
from components.ecs.iam import (
    ECS_TASKS_SERVICE,
    execution_role_policy,
    job_role_path,
)
from components.naming import keyed_name
from components.shared.aws import child
from components.shared.iam import assume_role_policy
from components.shared.images import ImageCacheInfo, pull_through_policy


@dataclass(frozen=True)
class CatalogueArgs:
    name: str  # the ECS component's name: resources are named f"{name}-..."
    parent: pulumi.Resource
    config: EcsFleetSpec
    prefix: str
    tags: Mapping[str, str]
    region: pulumi.Output[str]
    account: pulumi.Output[str]
    partition: pulumi.Output[str]
    jobs_log_group: aws.cloudwatch.LogGroup
    image_cache: ImageCacheInfo | None = None  # lets the execution role fill the cache


@dataclass(frozen=True)
class Catalogue:
    execution_role: aws.iam.Role
    task_definitions: dict[str, aws.ecs.TaskDefinition]
    task_roles: list[aws.iam.Role]


def _ecs_task_trust(args: CatalogueArgs) -> pulumi.Output[str]:
    return args.account.apply(
        lambda account: json.dumps(assume_role_policy(ECS_TASKS_SERVICE, account))
    )


def _execution_role(args: CatalogueArgs) -> aws.iam.Role:
    """Used by ECS itself to pull the job image and write the container's logs."""
    role = aws.iam.Role(
        f"{args.name}-execution-role",
        description="ECS task execution role for GitLab CI job tasks (image pull, logs)",
        # Under the stack's path: the manager may pass exactly the roles there.
        path=job_role_path(args.prefix),
        assume_role_policy=_ecs_task_trust(args),
        tags=dict(args.tags),
        opts=child(args.parent),
    )
    cache = args.image_cache
    cache_statements = (
        pull_through_policy(cache.repository_arn_pattern)["Statement"] if cache else []
    )
    entries = args.config.ecs.task_definitions
    secrets = [e.repository_credentials_arn for e in entries if e.repository_credentials_arn]
    policy = pulumi.Output.all(
        args.jobs_log_group.arn, args.partition, args.region, args.account
    ).apply(
        lambda v: json.dumps(
            execution_role_policy(
                v[0],
                f"arn:{v[1]}:ecr:{v[2]}:{v[3]}:repository/*",
                cache_statements,
                shared_repository_arns(entries, v[2], v[3]),
                secrets,
            )
        )
    )
    aws.iam.RolePolicy(
        f"{args.name}-execution-policy", role=role.id, policy=policy, opts=child(args.parent)
    )
    return role


def shared_repository_arns(
    entries: Sequence[TaskDefinitionSpec], region: str, account: str
) -> list[str]:
    """The repository ARN of each catalogue image in an ECR outside this account and region:
    the execution role's `repository/*` of this account and region does not reach them."""
    repositories = [ecr_repository(e.image) for e in entries]
    return [
        r.arn for r in repositories if r is not None and (r.account, r.region) != (account, region)
    ]


def policy_attachment_key(policy_arn: str) -> str:
    """`policy-<policy name>-<hash of the ARN>`: one name per attached policy."""
    return f"policy-{keyed_name(policy_arn.rsplit('/', 1)[-1], policy_arn)}"


def create_catalogue(args: CatalogueArgs) -> Catalogue:
    """One Fargate task definition per catalogue entry; a task role only where asked for."""
    execution_role = _execution_role(args)
    definitions: dict[str, aws.ecs.TaskDefinition] = {}
    task_roles: list[aws.iam.Role] = []
    tags = dict(args.tags)
    for entry in args.config.ecs.task_definitions:
        task_role = None
        if entry.task_role_policy_arns:
            task_role = aws.iam.Role(
                f"{args.name}-task-{entry.name}-role",
                description=f"Role of CI jobs that use task definition '{entry.name}'",
                path=job_role_path(args.prefix),
                assume_role_policy=_ecs_task_trust(args),
                tags=tags,
                opts=child(args.parent),
            )
            for index, policy_arn in enumerate(entry.task_role_policy_arns):
                aws.iam.RolePolicyAttachment(
                    f"{args.name}-task-{entry.name}-{policy_attachment_key(policy_arn)}",
                    role=task_role.name,
                    policy_arn=policy_arn,
                    # Named after the policy, not its place in the list: reordering the list
                    # replaced attachments create-before-delete, and deleting an old one
                    # detached the policy its successor had just "attached". The alias keeps
                    # stacks from before that from recreating theirs.
                    opts=child(
                        args.parent,
                        aliases=[
                            pulumi.Alias(name=f"{args.name}-task-{entry.name}-policy-{index}")
                        ],
                    ),
                )
            task_roles.append(task_role)
        containers = pulumi.Output.all(args.jobs_log_group.name, args.region).apply(
            lambda v, e=entry: json.dumps(container_definitions(e, v[0], v[1]))
        )
        definitions[entry.name] = aws.ecs.TaskDefinition(
            f"{args.name}-task-{entry.name}",
            family=task_family(args.prefix, entry.name),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(entry.cpu),
            memory=str(entry.memory),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(**runtime_platform(entry)),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn if task_role is not None else None,
            container_definitions=containers,
            ephemeral_storage=(
                aws.ecs.TaskDefinitionEphemeralStorageArgs(size_in_gib=entry.ephemeral_storage_gib)
                if needs_ephemeral_storage(entry)
                else None
            ),
            tags=tags,
            opts=child(args.parent),
        )
    return Catalogue(execution_role, definitions, task_roles)
