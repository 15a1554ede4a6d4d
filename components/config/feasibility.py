"""Checks that span several keys or need the deployment's region: each value may be valid on
its own and the combination still cannot work (or works badly). Problems stop the deployment,
warnings do not; every message names the keys, the values and the fix.

Called by parse.py once every section is read, on the typed config.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from urllib.parse import urlsplit

import pulumi

from components.config import service_rules
from components.config.model import StackConfig
from components.config.reader import Reader
from components.domain import versions
from components.domain.aws_regions import REGIONS, nearest_regions, partition_of, zones
from components.domain.fleet_rules import (
    manager_type_verdict,
    request_concurrency_problem,
    task_roles_problem,
)
from components.domain.grammar import parse_arn
from components.domain.lane_rules import system_pool_problem, warm_jobs_problems
from components.domain.specs import EcsFleetSpec
from components.domain.value_rules import Findings

# Docker's default bridge: dockerd inside a Docker-in-Docker service puts its containers there,
# so VPC addresses in it (the resolver at base+2, endpoints, the cache) become unreachable.
DOCKER_BRIDGE = ipaddress.IPv4Network("172.17.0.0/16")
GITLAB_COM = "gitlab.com"


def deployment_region() -> str | None:
    """The region the AWS provider deploys to: aws:region, else the environment (as the
    provider and the AWS CLI read it)."""
    return (
        pulumi.Config("aws").get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )


def check_region(r: Reader, config: StackConfig, region: str | None) -> None:
    """aws:region exists, has the zones asked for, and every ARN lies in its partition."""
    if region is None:
        return
    if region not in REGIONS:
        near = ", ".join(nearest_regions(region)[:4]) or "eu-west-1"
        r.problem(
            f"aws:region: '{region}' is not an AWS region this program can deploy to; use one of "
            f"{near}: pulumi config set aws:region <region>"
        )
        return
    network = config.network
    available = [name for name, _ in zones(region)]
    if not network.uses_existing_vpc and network.availability_zones > len(available):
        r.problem(
            f"network.availabilityZones: {network.availability_zones} zones, but {region} has "
            f"{len(available)} ({', '.join(available)}); set it to {len(available)} or fewer"
        )
    partition = partition_of(region)
    arns = [("eks.adminRoleArns", a) for a in config.eks.admin_role_arns]
    arns += [
        (f"ecs.taskDefinitions ({t.name}).taskRolePolicyArns", a)
        for t in config.ecs.task_definitions
        for a in t.task_role_policy_arns
    ]
    for key, value in arns:
        arn = parse_arn(value)
        if arn is not None and arn.partition != partition:
            r.problem(
                f"{key}: '{value}' is in partition {arn.partition}, but {region} is in "
                f"{partition}; use the ARN from {partition} (arn:{partition}:...)"
            )
    for key, value in (
        ("images.dockerHubCredentialArn", config.images.docker_hub_credential_arn),
        ("images.gitlabCredentialArn", config.images.gitlab_credential_arn),
    ):
        arn = parse_arn(value) if value else None
        if arn is not None and arn.region != region and config.images.pull_through_cache:
            r.problem(
                f"{key}: '{value}' is a secret in {arn.region}, but the stack deploys to "
                f"{region} and ECR reads pull-through credentials only from its own region; "
                f"replicate it (aws secretsmanager replicate-secret-to-regions --secret-id "
                f"{value} --add-replica-regions Region={region}) and use the replica's ARN"
            )


def check_versions(r: Reader, config: StackConfig, today: dt.date) -> None:
    if config.mode == "eks":
        eks = config.eks
        joined = eks.existing_cluster is not None
        versions.check_eks_versions(r, eks, joined, eks.karpenter, today)
    else:
        versions.check_runner_version(r, config.ecs.runner_version, today)


def check_runners(r: Reader, config: StackConfig) -> None:
    for i, runner in enumerate(config.runners):
        r.report(request_concurrency_problem(f"runners[{i}] ({runner.name})", runner))
        if config.mode == "eks":
            label = f"runners[{i}] ({runner.name})"
            r.report(*warm_jobs_problems(label, runner, config.eks.runner_chart_version))
    gitlab = config.gitlab
    host = urlsplit(config.gitlab_url).hostname or ""
    if gitlab.create_runners and gitlab.runner_type == "instance" and host == GITLAB_COM:
        r.problem(
            "gitlab.runnerType: 'instance' runners on gitlab.com need GitLab administrator "
            "rights, which no gitlab.com user has; use group (with gitlab.groupId) or project "
            "(with gitlab.projectId) runners"
        )


def check_subnets(r: Reader, config: StackConfig) -> None:
    """A subnet is private (NAT route, job tasks) or public (internet gateway), not both."""
    network = config.network
    for subnet in sorted(set(network.private_subnet_ids) & set(network.public_subnet_ids)):
        r.problem(
            f"network.publicSubnetIds: '{subnet}' is also in network.privateSubnetIds; a subnet "
            "routes either through a NAT gateway (private) or an internet gateway (public): "
            "list it in one of them"
        )


def check_task_roles(r: Reader, config: StackConfig) -> None:
    for i, entry in enumerate(config.ecs.task_definitions if config.mode == "ecs" else ()):
        r.report(task_roles_problem(f"ecs.taskDefinitions[{i}] ({entry.name})", entry))


def check_manager_type(r: Reader, config: StackConfig) -> None:
    if config.mode == "ecs":
        check_manager_instance_type(r, EcsFleetSpec(config.gitlab_url, config.runners, config.ecs))


def check_manager_instance_type(r: Findings, fleet: EcsFleetSpec) -> None:
    """The verdict on a pinned manager type (fleet_rules.py `manager_type_verdict`): a problem
    when far too small, a warning when a little short (the stack file's and the plugin's)."""
    verdict = manager_type_verdict(fleet)
    if verdict is not None:
        (r.problem if verdict[1] else r.warn)(verdict[0])


def check_docker_bridge(r: Reader, config: StackConfig) -> None:
    """A new VPC inside 172.17.0.0/16 and Docker-in-Docker jobs cannot reach the VPC."""
    privileged = [x.name for x in config.runners if x.lane == "privileged"]
    if config.mode != "eks" or not privileged or config.network.uses_existing_vpc:
        return
    cidr = ipaddress.IPv4Network(config.network.vpc_cidr)
    if cidr.overlaps(DOCKER_BRIDGE):
        r.problem(
            f"network.vpcCidr: '{cidr}' overlaps Docker's default bridge {DOCKER_BRIDGE}, which "
            f"the Docker-in-Docker service of the privileged lane ({', '.join(privileged)}) "
            "uses: its containers could not reach the VPC's resolver, endpoints or cache; use a "
            "block outside it, e.g. 10.42.0.0/16"
        )


def check_system_pool(r: Reader, config: StackConfig) -> None:
    if config.mode == "eks":
        r.report(system_pool_problem(config.runners, config.eks))


def check_all(r: Reader, config: StackConfig, region: str | None, today: dt.date) -> None:
    check_region(r, config, region)
    check_versions(r, config, today)
    check_runners(r, config)
    check_subnets(r, config)
    check_task_roles(r, config)
    check_manager_type(r, config)
    check_docker_bridge(r, config)
    check_system_pool(r, config)
    service_rules.check_all(r, config, region)
