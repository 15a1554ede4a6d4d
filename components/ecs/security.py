"""Security groups of ECS mode: the manager takes no inbound traffic; job tasks take SSH from
the manager only (the Fargate driver's path to a job)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

import pulumi
import pulumi_aws as aws

from components.ecs.catalogue import SSH_PORT
from components.shared.aws import child

HTTPS_PORT = 443


@dataclass(frozen=True)
class SecurityGroupArgs:
    name: str  # the ECS component's name: rules are named f"{name}-..."
    parent: pulumi.Resource
    vpc_id: pulumi.Input[str]
    gitlab_url: str
    prefix: str
    tags: Mapping[str, str]


def create_security_groups(
    args: SecurityGroupArgs,
) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
    """Manager: nothing in. Tasks: SSH from the manager only. Rules are separate resources
    (never inline) so the two groups can reference each other."""
    vpc_id = args.vpc_id
    manager = aws.ec2.SecurityGroup(
        f"{args.name}-manager-sg",
        vpc_id=vpc_id,
        description="GitLab runner manager: no inbound; reached with SSM Session Manager",
        tags={**args.tags, "Name": f"{args.prefix}-manager"},
        opts=child(args.parent),
    )
    task = aws.ec2.SecurityGroup(
        f"{args.name}-task-sg",
        vpc_id=vpc_id,
        description="GitLab CI job tasks on Fargate: SSH from the runner manager only",
        tags={**args.tags, "Name": f"{args.prefix}-tasks"},
        opts=child(args.parent),
    )
    aws.ec2.SecurityGroupRule(
        f"{args.name}-task-ssh-from-manager",
        type="ingress",
        security_group_id=task.id,
        protocol="tcp",
        from_port=SSH_PORT,
        to_port=SSH_PORT,
        source_security_group_id=manager.id,
        description="SSH from the runner manager: the Fargate driver runs job scripts over it",
        opts=child(args.parent),
    )
    aws.ec2.SecurityGroupRule(
        f"{args.name}-manager-ssh-to-tasks",
        type="egress",
        security_group_id=manager.id,
        protocol="tcp",
        from_port=SSH_PORT,
        to_port=SSH_PORT,
        source_security_group_id=task.id,
        description="SSH to job tasks (Fargate driver)",
        opts=child(args.parent),
    )
    for port in sorted({HTTPS_PORT, urlparse(args.gitlab_url).port or HTTPS_PORT}):
        aws.ec2.SecurityGroupRule(
            f"{args.name}-manager-egress-{port}",
            type="egress",
            security_group_id=manager.id,
            protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_blocks=["0.0.0.0/0"],
            description="HTTPS to GitLab, AWS APIs (ECS, Secrets Manager, SSM, logs), "
            "package and binary downloads",
            opts=child(args.parent),
        )
    aws.ec2.SecurityGroupRule(
        f"{args.name}-task-egress",
        type="egress",
        security_group_id=task.id,
        protocol="-1",
        from_port=0,
        to_port=0,
        cidr_blocks=["0.0.0.0/0"],
        description="Jobs reach GitLab, registries, package mirrors and their own targets",
        opts=child(args.parent),
    )
    return manager, task
