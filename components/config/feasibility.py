"""Checks that span several keys or need the deployment's region: each value may be valid on
its own and the combination still cannot work (or works badly). Problems stop the deployment,
warnings do not; every message names the keys, the values and the fix.

Called by parse.py once every section is read, on the typed config.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import os
from collections.abc import Sequence
from urllib.parse import urlsplit

import pulumi

from components.config import service_rules, versions
from components.config.grammar import parse_arn
from components.config.model import EcsSpec, EksSpec, RunnerSpec, StackConfig, TaskDefinitionSpec
from components.config.reader import Reader
from components.config.schema_ecs import MAX_MANAGED_POLICIES_PER_ROLE
from components.domain.aws_regions import REGIONS, nearest_regions, partition_of, zones
from components.domain.chart_versions import runner_of_chart_version
from components.domain.eks_sizing import manager_size
from components.domain.manager_sizing import estimated_max_jobs
from components.domain.specs import KARPENTER_INSTALL

# Docker's default bridge: dockerd inside a Docker-in-Docker service puts its containers there,
# so VPC addresses in it (the resolver at base+2, endpoints, the cache) become unreachable.
DOCKER_BRIDGE = ipaddress.IPv4Network("172.17.0.0/16")
# A node's kubelet, kube-proxy and aws-node take a share of what the system pool's limit counts.
SYSTEM_NODE_OVERHEAD = 1.15
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
        check_eks_versions(r, config.eks, today)
    else:
        versions.check_runner_version(r, config.ecs.runner_version, today)


def check_eks_versions(r: Reader, eks: EksSpec, today: dt.date) -> None:
    """Kubernetes, node AMI, Karpenter and chart versions EKS and the releases still serve."""
    # On eks.existingCluster the cluster's own version counts, which preview reads and
    # checks with these rules (components/preflight_cluster.py); its Karpenter is its own.
    kubernetes = None if eks.existing_cluster else eks.kubernetes_version
    if kubernetes is not None:
        versions.check_kubernetes(r, kubernetes, today)
        versions.check_ami_alias(r, eks.node_ami_alias, kubernetes, today)
    if eks.karpenter == KARPENTER_INSTALL:
        versions.check_karpenter(r, eks.karpenter_version, kubernetes or "")
    versions.check_chart_version(r, eks.runner_chart_version, today)


def check_runners(r: Reader, config: StackConfig) -> None:
    chart = config.eks.runner_chart_version if config.mode == "eks" else None
    for i, runner in enumerate(config.runners):
        check_runner(r, i, runner, chart)
    gitlab = config.gitlab
    host = urlsplit(config.gitlab_url).hostname or ""
    if gitlab.create_runners and gitlab.runner_type == "instance" and host == GITLAB_COM:
        r.problem(
            "gitlab.runnerType: 'instance' runners on gitlab.com need GitLab administrator "
            "rights, which no gitlab.com user has; use group (with gitlab.groupId) or project "
            "(with gitlab.projectId) runners"
        )


def check_runner(r: Reader, index: int, runner: RunnerSpec, chart_version: str | None) -> None:
    """A runner's settings together; `chart_version`: the runner chart's in eks mode, None in
    ecs mode (no warm jobs there)."""
    if runner.request_concurrency is not None and runner.request_concurrency > runner.concurrency:
        r.problem(
            f"runners[{index}] ({runner.name}).requestConcurrency: {runner.request_concurrency} "
            f"is above the runner's concurrency {runner.concurrency}: it would ask GitLab for "
            f"jobs it cannot run; set it to {runner.concurrency} or less (or unset it)"
        )
    if chart_version is not None and runner.warm_jobs:
        check_warm_jobs(r, index, runner, chart_version)


def check_warm_jobs(r: Reader, index: int, runner: RunnerSpec, chart_version: str) -> None:
    """warmJobs keeps gitlab-runner pause pods on the runner's EC2 lane (runner 18.11+)."""
    key = f"runners[{index}] ({runner.name}).warmJobs: {runner.warm_jobs}"
    if runner.lane == "fargate":
        r.problem(
            f"{key} on the fargate lane: every Fargate pod is its own micro-VM, so a pause pod "
            "reserves no capacity for a job, it only costs; remove warmJobs or use lane spot "
            "or privileged (EC2 nodes that pause pods can keep ready)"
        )
    elif runner.warm_jobs > runner.concurrency:
        r.problem(
            f"{key} is above the runner's concurrency {runner.concurrency}: capacity for "
            f"jobs it never runs; set it to {runner.concurrency} or less"
        )
    runner_version = runner_of_chart_version(chart_version)
    if runner_version < versions.PAUSE_PODS_RUNNER:
        r.problem(
            f"{key} needs gitlab-runner 18.11 or later (pause pods, [runners.kubernetes."
            f"autoscaler]); eks.runnerChartVersion {chart_version} ships "
            f"{runner_version[0]}.{runner_version[1]}: use chart 0.88.0 or later "
            f"(tested: {versions.TESTED_CHART})"
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
    if config.mode == "ecs":
        check_task_role_policies(r, config.ecs.task_definitions)


def check_task_role_policies(r: Reader, entries: Sequence[TaskDefinitionSpec]) -> None:
    """IAM attaches at most 10 managed policies to a role unless the quota is raised."""
    for i, entry in enumerate(entries):
        count = len(entry.task_role_policy_arns)
        if count > MAX_MANAGED_POLICIES_PER_ROLE:
            r.problem(
                f"ecs.taskDefinitions[{i}] ({entry.name}).taskRolePolicyArns: {count} policies, "
                f"but IAM attaches at most {MAX_MANAGED_POLICIES_PER_ROLE} managed policies to a "
                "role (quota 'Managed policies per role'); combine them into one customer "
                f"managed policy or list {MAX_MANAGED_POLICIES_PER_ROLE} or fewer"
            )


def check_manager_type(r: Reader, config: StackConfig) -> None:
    """A pinned manager type must carry the jobs each manager runs (one driver process per
    job: too small a type runs out of memory mid-job)."""
    if config.mode == "ecs":
        check_manager_instance_type(r, config.ecs, config.total_concurrency)


def check_manager_instance_type(r: Reader, ecs: EcsSpec, total: int) -> None:
    """`total`: the fleet's concurrency, all runners together."""
    kind = ecs.manager_instance_type
    if kind is None:
        return
    managers = max(1, math.ceil(total / ecs.max_jobs_per_manager))
    jobs = math.ceil(total / managers)
    carries = estimated_max_jobs(kind)
    if carries is None or carries >= jobs:
        return
    message = (
        f"ecs.managerInstanceType: '{kind}' carries about {carries} running jobs (one Fargate "
        f"driver process per job, docs/ecs-operations.md), but each of the {managers} "
        f"manager(s) runs up to {jobs}; unset ecs.managerInstanceType (each manager is then "
        "sized from its jobs), pick a larger type, or lower ecs.maxJobsPerManager"
    )
    # Far too small fails for certain; a little short is an estimate's call.
    (r.problem if carries * 2 < jobs else r.warn)(message)


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
    """Managers on EC2 (managerPlacement ec2) all live in the system NodePool."""
    if config.mode == "eks":
        check_system_pool_room(r, config.runners, config.eks)


def check_system_pool_room(r: Reader, runners: Sequence[RunnerSpec], eks: EksSpec) -> None:
    if eks.manager_placement != "ec2":
        return
    cpu = sum(manager_size(x.concurrency).cpu_m for x in runners) / 1000
    needed = math.ceil(cpu * SYSTEM_NODE_OVERHEAD)
    if needed > eks.system_cpu_limit:
        r.problem(
            f"eks.systemCpuLimit: {eks.system_cpu_limit} vCPU cannot hold the runner managers "
            f"(eks.managerPlacement ec2): together they request {cpu:g} vCPU, about {needed} "
            f"with each node's own daemons, and Karpenter launches no node past the limit, so "
            f"some managers stay Pending and their runners take no jobs; raise "
            f"eks.systemCpuLimit to {needed} or set eks.managerPlacement fargate"
        )


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
