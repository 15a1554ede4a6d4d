"""A cluster the fleet joins instead of creating (eks.existingCluster, docs/bring-your-own.md).

It reads the cluster (endpoint, certificate authority, OIDC issuer, cluster security group) and
its IAM OIDC provider, and adds only what the fleet's own pods and nodes need, all of it gone
again on `pulumi destroy`: a pod execution role, the fleet's Fargate profiles, and EC2_LINUX
access entries for its Karpenter node roles (on a cluster of its own pulumi-eks creates those)
and, with observability on, the start-wait sampler's access entry (view, in the runner
namespaces only) and one HTTPS rule on the cluster security group from the sampler's own group
(components/eks/start_wait_sampler.py).

What a cluster of this stack's own gets and someone else's does not: no addons (CoreDNS,
kube-proxy, vpc-cni stay the owner's), no admin access entries, no API ingress rules, no
control plane log group, and no `aws-observability/aws-logging` ConfigMap: that ConfigMap is
one per cluster, so the fleet's Fargate pods log wherever the owner's says (the pod execution
role is an output, for the owner to grant its log group to).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.domain.specs import ExistingCluster
from components.eks.cluster import FargateProfileSpec, chain_fargate_profiles
from components.eks.cluster_access import exec_kubeconfig
from components.eks.policies import (
    FARGATE_POD_EXECUTION_POLICY,
    fargate_pod_execution_trust_policy,
    managed_policy_arn,
)
from components.naming import type_token
from components.shared.aws import AwsContext
from components.shared.network import VpcRefs

TYPE_TOKEN = type_token("eks", "ExistingCluster")


@dataclass(frozen=True)
class ExistingClusterArgs:
    cluster: ExistingCluster
    network: VpcRefs  # the cluster's VPC; Fargate profiles use its private subnets
    # Roles of the fleet's Karpenter nodes, each granted an EC2_LINUX access entry.
    node_role_arns: Mapping[str, pulumi.Input[str]]
    aws: AwsContext
    fargate_profiles: Sequence[FargateProfileSpec]
    tags: Mapping[str, str]
    # The AWS profile and role `aws eks get-token` must use; None: the default chain.
    kubeconfig_credentials: tuple[str | None, str | None] = (None, None)


class JoinedCluster(pulumi.ComponentResource):
    """The fleet's part of a cluster it does not own; the same attributes as EksCluster's
    that the fleet reads (provider, OIDC, security group, profiles, what pods and nodes
    wait for)."""

    def __init__(
        self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        cluster_name = args.cluster.name
        tags = dict(args.tags)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        found = aws.eks.get_cluster_output(name=cluster_name, opts=invoke)
        # IRSA trusts the cluster's issuer through its IAM OIDC provider (preview refuses a
        # cluster without one, components/preflight_cluster.py).
        issuer = found.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        self.oidc_issuer: pulumi.Output[str] = issuer
        self.oidc_provider_arn: pulumi.Output[str] = aws.iam.get_open_id_connect_provider_output(
            url=issuer, opts=invoke
        ).arn
        self.security_group_id: pulumi.Output[str] = found.vpc_config.cluster_security_group_id
        self.api_endpoint: pulumi.Output[str] = found.endpoint
        self.api_ca: pulumi.Output[str] = found.certificate_authorities.apply(lambda c: c[0].data)
        api = pulumi.Output.all(
            found.endpoint,
            found.certificate_authorities.apply(lambda cas: cas[0].data),
            args.aws.region,
        )

        def kubeconfig(credentials: tuple[str | None, str | None]) -> pulumi.Output[str]:
            return pulumi.Output.secret(
                api.apply(lambda v: json.dumps(exec_kubeconfig(cluster_name, *v, credentials)))
            )

        # What the stack exports for people carries no profile, as for a cluster of its own;
        # the provider's runs `aws eks get-token` as the AWS provider does.
        self.kubeconfig = kubeconfig((None, None))
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig(args.kubeconfig_credentials),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.pod_execution_role, attachment = self._pod_execution_role(name, args, tags)
        access = [
            aws.eks.AccessEntry(
                f"{name}-karpenter-{'nodes' if node_class == 'default' else node_class}",
                cluster_name=cluster_name,
                principal_arn=role_arn,
                type="EC2_LINUX",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for node_class, role_arn in args.node_role_arns.items()
        ]
        self.fargate_profiles = chain_fargate_profiles(
            name,
            cluster_name,
            args.fargate_profiles,
            self.pod_execution_role.arn,
            args.network.private_subnet_ids,
            tags,
            # Egress outlives the profiles (their pods drain through it) on destroy.
            first_after=[attachment, *args.network.egress],
            parent=self,
        )
        self.pods_need: tuple[pulumi.Resource, ...] = ()
        # A node joins only once its role has an access entry (the cluster's own CNI serves it).
        self.nodes_need: tuple[pulumi.Resource, ...] = tuple(access)
        self.register_outputs(
            {"clusterName": cluster_name, "podExecutionRoleArn": self.pod_execution_role.arn}
        )

    def _pod_execution_role(
        self, name: str, args: ExistingClusterArgs, tags: dict[str, str]
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """The fleet's own pod execution role: image pulls, for Fargate profiles of this
        cluster only. No log rights: the cluster's logging ConfigMap is its owner's."""
        ctx = args.aws
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-pod-execution",
            description="Fargate pod execution role of the runner fleet (image pulls)",
            assume_role_policy=pulumi.Output.all(ctx.partition, ctx.region, ctx.account_id).apply(
                lambda v: json.dumps(
                    fargate_pod_execution_trust_policy(v[0], v[1], v[2], args.cluster.name)
                )
            ),
            tags=tags,
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-pod-execution-managed",
            role=role.name,
            policy_arn=ctx.partition.apply(
                lambda p: managed_policy_arn(p, FARGATE_POD_EXECUTION_POLICY)
            ),
            opts=child,
        )
        return role, attachment
