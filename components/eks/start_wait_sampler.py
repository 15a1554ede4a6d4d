"""The EKS start-wait sampler's resources: a small Lambda, run every minute, that reads the job
pods of each runner namespace through the Kubernetes API and writes JobStartWaitSeconds per
runner as embedded metric format (components/eks/start_wait/, the ECS reaper's metric for EKS).

Why a Lambda and not the metrics collector: gitlab-runner 19.3.0 exports stage timings only as
histograms, and the collector's awsemf exporter (ADOT v0.49.0) turns explicit-bucket
histograms into count/sum/min/max (exporter/awsemfexporter/datapoint.go:191,
histogramDataPointSlice.CalculateDeltaDatapoints): no percentile survives. The pods carry
the timestamps; one list call per runner namespace a minute reads them.

What it may do, and nothing more:
- Kubernetes: an EKS access entry for its role with AmazonEKSViewPolicy scoped to the runner
  namespaces (type namespace): read-only, nothing cluster-wide. The cluster authenticates
  through access entries (authenticationMode API, components/eks/cluster.py).
- Network: the fleet's private subnets, its own security group whose only rule is HTTPS out
  to the cluster security group, and one ingress rule on that group for HTTPS from it (the
  private endpoint's ENIs carry the cluster security group, components/eks/cluster_access.py).
- IAM: write its own log group; the ENI actions a VPC function's role needs (Lambda
  developer guide, "Giving Lambda functions access to resources in an Amazon VPC"), scoped
  as far as EC2 authorizes them (sampler_policy).
- The access entry's id is cluster#principal and it is replaced only when one of them
  changes (a new id): create-then-delete is safe for it, not for the association.

Destroy: Lambda's VPC ENIs outlive the function by up to ~35 minutes and block deleting the
security group and subnets they sit in. The function swaps its security groups for the VPC's
default group before it is deleted (replace_security_groups_on_destroy, terraform-provider-aws
internal/service/lambda/function.go replaceSecurityGroupsOnDestroy, pull request #37624), so
its own group is free at once; the provider's security group and subnet deletes wait for and
delete any Lambda ENI left (internal/service/ec2/vpc_network_interface.go
deleteLingeringLambdaENI, at least 45 minutes). The function depends on the rules, the access
entry and the network's egress, so it goes before any of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.domain.chart_versions import runner_of_chart_version
from components.domain.specs import EksFleetSpec
from components.domain.start_latency import eks_lane_start_seconds
from components.domain.start_wait_input import runner_namespace, sampler_input
from components.eks.cluster import EksCluster
from components.eks.existing_cluster import JoinedCluster
from components.eks.policies import cluster_access_policy_arn
from components.eks.start_wait.pods import job_pod_selector
from components.naming import type_token
from components.shared import scheduled_lambda
from components.shared.aws import AwsContext
from components.shared.iam import POLICY_VERSION
from components.shared.network import VpcRefs

TYPE_TOKEN = type_token("eks", "StartWaitSampler")
ROLE = "start-wait-sampler"
PACKAGE_DIR = Path(__file__).resolve().parent / "start_wait"
PACKAGE_FILES = ("__init__.py", "handler.py", "pods.py")
# Every minute: a job pod that is Ready for at least a minute is seen once (pods.py).
SCHEDULE_EXPRESSION = "rate(1 minute)"
SCHEDULE_SECONDS = 60
HTTPS = 443
VIEW_ACCESS_POLICY = "AmazonEKSViewPolicy"
FUNCTION = scheduled_lambda.FunctionSpec(
    role=ROLE,
    description="Writes how long GitLab CI job pods waited to run (JobStartWaitSeconds)",
    package="start_wait",
    directory=PACKAGE_DIR,
    files=PACKAGE_FILES,
    timeout_seconds=50,  # under the schedule's minute: runs never overlap
    memory_mb=128,
)


def sampler_schedule(runner_names: Sequence[str]) -> scheduled_lambda.ScheduleSpec:
    """Every minute, with the runners and the scheduled time as the function's input (the
    environment's 4 KB would not hold many runners: components/domain/start_wait_input.py)."""
    return scheduled_lambda.ScheduleSpec(
        expression=SCHEDULE_EXPRESSION,
        description="Sample how long GitLab CI job pods waited to run",
        role_description="EventBridge Scheduler: invoke the GitLab runner start-wait sampler",
        policy_sid="InvokeStartWaitSampler",
        event=sampler_input(runner_names),
        # The next run is a minute away: a failed one is not retried.
        max_event_age_seconds=60,
    )


def start_estimates(fleet: EksFleetSpec) -> dict[str, float]:
    """Runner -> the capacity estimate's start of its job pods (the start-wait alarms')."""
    return {r.name: eks_lane_start_seconds(r.lane) for r in fleet.runners}


def fleet_pod_selector(fleet: EksFleetSpec) -> str:
    """The job pods' selector for the gitlab-runner release the fleet's chart ships."""
    return job_pod_selector(runner_of_chart_version(fleet.eks.runner_chart_version))


def _ec2_arn(partition: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition}:ec2:{region}:{account}:{resource}"


def sampler_policy(
    partition: str,
    region: str,
    account: str,
    log_group_arn: str,
    subnet_ids: Sequence[str],
    vpc_id: str,
) -> dict[str, Any]:
    """Its own log group, and the ENIs Lambda creates for it in the VPC.

    * ec2:CreateNetworkInterface authorizes against the new interface, the subnet and the
      security group (Service Authorization Reference): any interface, in the fleet's
      subnets, with a group of the fleet's VPC (condition key ec2:Vpc, which the reference
      lists for the security-group resource). Not the sampler's group alone: on destroy the
      function is moved to the VPC's `default` group (replace_security_groups_on_destroy)
      and Lambda creates that ENI with this role; a refusal stops `pulumi destroy`.
    * ec2:DeleteNetworkInterface, AssignPrivateIpAddresses and UnassignPrivateIpAddresses
      authorize against the interface, whose id is Lambda's: every interface of the account
      in the region (the Lambda guide asks for a unique id or all of them).
    * ec2:DescribeNetworkInterfaces and DescribeSubnets have no resource-level permissions:
      "*" is the only valid resource (the Lambda guide says so for DescribeNetworkInterfaces).
      Both are read-only; the reaper's Describe actions are treated the same way.
    """
    interfaces = _ec2_arn(partition, region, account, "network-interface/*")
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "CreateEnisInFleetSubnets",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [
                    interfaces,
                    *(_ec2_arn(partition, region, account, f"subnet/{s}") for s in subnet_ids),
                ],
            },
            {
                "Sid": "CreateEnisWithFleetVpcGroups",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": _ec2_arn(partition, region, account, "security-group/*"),
                "Condition": {
                    "ArnEquals": {"ec2:Vpc": _ec2_arn(partition, region, account, f"vpc/{vpc_id}")}
                },
            },
            {
                "Sid": "ManageLambdaEnis",
                "Effect": "Allow",
                "Action": [
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": interfaces,
            },
            {
                "Sid": "DescribeVpcForLambda",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": "*",
            },
            scheduled_lambda.own_logs_statement(log_group_arn),
        ],
    }


@dataclass(frozen=True)
class StartWaitSamplerArgs:
    prefix: str  # names the function and its log group `/<prefix>/start-wait-sampler`
    cluster_name: str
    api_endpoint: pulumi.Input[str]  # the cluster's API URL
    api_ca: pulumi.Input[str]  # its certificate authority data (base64 PEM)
    cluster_security_group_id: pulumi.Input[str]  # carried by the private endpoint's ENIs
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]  # the fleet's private subnets
    runners: Sequence[str]  # the runners' names (their namespaces: runner_namespace)
    pod_selector: str  # start_wait/pods.py job_pod_selector
    metrics_namespace: str
    log_retention_days: int
    tags: Mapping[str, str]
    partition: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    # What the function needs while it runs and so outlives it: the cluster (its access
    # entry goes first) and the network's egress (components/offline: in-VPC functions).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


class StartWaitSampler(pulumi.ComponentResource):
    function: aws.lambda_.Function

    def __init__(
        self, name: str, args: StartWaitSamplerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        after = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        log_group = scheduled_lambda.function_log_group(
            name, f"/{args.prefix}/{ROLE}", args.log_retention_days, tags, self
        )
        role = scheduled_lambda.function_role(
            name, "GitLab runner start-wait sampler: reads job pods, writes EMF metrics", tags, self
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="GitLab runner start-wait sampler: HTTPS to the Kubernetes API only",
            tags={**tags, "Name": f"{args.prefix}-{ROLE}"},
            opts=child,
        )
        rules = [
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-api",
                security_group_id=group.id,
                referenced_security_group_id=args.cluster_security_group_id,
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                description="Kubernetes API (the cluster security group)",
                opts=child,
            ),
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-sampler",
                security_group_id=args.cluster_security_group_id,
                referenced_security_group_id=group.id,
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                description="Kubernetes API from the start-wait sampler",
                opts=after,
            ),
        ]
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(
                args.partition,
                args.region,
                args.account_id,
                log_group.arn,
                args.subnet_ids,
                args.vpc_id,
            ).apply(lambda v: json.dumps(sampler_policy(*v))),
            opts=child,
        )
        access = self._access(name, args, role, after)
        self.function = scheduled_lambda.scheduled_function(
            name,
            args.prefix,
            FUNCTION,
            role,
            log_group,
            {
                "SAMPLER_CLUSTER": args.cluster_name,
                "SAMPLER_ENDPOINT": args.api_endpoint,
                "SAMPLER_CA": args.api_ca,
                "SAMPLER_POD_SELECTOR": args.pod_selector,
                "SAMPLER_METRICS_NAMESPACE": args.metrics_namespace,
                "SAMPLER_INTERVAL_SECONDS": str(SCHEDULE_SECONDS),
                # Sign the token for the region's STS endpoint, not the global one.
                "AWS_STS_REGIONAL_ENDPOINTS": "regional",
            },
            tags,
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[policy, log_group, *rules, *access, *args.depends_on],
            ),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.subnet_ids, security_group_ids=[group.id]
            ),
            replace_security_groups_on_destroy=True,
        )
        scheduled_lambda.invoke_on_schedule(
            name, self.function, args.account_id, sampler_schedule(args.runners), tags, self
        )
        self.register_outputs({"functionName": self.function.name})

    def _access(
        self,
        name: str,
        args: StartWaitSamplerArgs,
        role: aws.iam.Role,
        opts: pulumi.ResourceOptions,
    ) -> list[pulumi.Resource]:
        """Read-only Kubernetes access to the runner namespaces, through an access entry."""
        entry = aws.eks.AccessEntry(
            f"{name}-access",
            cluster_name=args.cluster_name,
            principal_arn=role.arn,
            type="STANDARD",
            tags=dict(args.tags),
            opts=opts,
        )
        association = aws.eks.AccessPolicyAssociation(
            f"{name}-view",
            cluster_name=args.cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=pulumi.Output.from_input(args.partition).apply(
                lambda p: cluster_access_policy_arn(p, VIEW_ACCESS_POLICY)
            ),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                type="namespace", namespaces=sorted(runner_namespace(r) for r in args.runners)
            ),
            # access_scope forces replacement and the id is cluster#principal#policy: created
            # before the old one is deleted, the delete would disassociate the new scope.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[entry], delete_before_replace=True
            ),
        )
        return [entry, association]


def fleet_sampler(
    name: str,
    fleet: EksFleetSpec,
    cluster: EksCluster | JoinedCluster,
    cluster_name: str,
    network: VpcRefs,
    ctx: AwsContext,
    names: tuple[str, str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> StartWaitSampler:
    """The sampler of an EKS fleet, on its cluster (`names`: the fleet's name prefix and its
    metrics namespace). On a cluster of its own it waits for the cluster; on one it joins, the
    cluster is found, not created."""
    prefix, metrics_namespace = names
    owned = [cluster.cluster] if isinstance(cluster, EksCluster) else []
    return StartWaitSampler(
        name,
        StartWaitSamplerArgs(
            prefix=prefix,
            cluster_name=cluster_name,
            api_endpoint=cluster.api_endpoint,
            api_ca=cluster.api_ca,
            cluster_security_group_id=cluster.security_group_id,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            runners=[r.name for r in fleet.runners],
            pod_selector=fleet_pod_selector(fleet),
            metrics_namespace=metrics_namespace,
            log_retention_days=fleet.log_retention_days,
            tags=tags,
            partition=ctx.partition,
            region=ctx.region,
            account_id=ctx.account_id,
            depends_on=(*owned, *network.egress),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
