"""Who reaches the cluster's API: admin access entries, 443 from the operators' networks, and
the credentials the Kubernetes provider's kubeconfig runs `aws eks get-token` with.

What pulumi-eks does on its own (components/offline/eks_model.py, at the pinned version):
- EKS gives the principal that creates the cluster an admin access entry
  (bootstrapClusterCreatorAdminPermissions, cluster.ts:739); a second entry for the same
  principal fails with ResourceInUseException, so the deployer is never listed again.
- With skipDefaultSecurityGroups only the security group EKS creates guards the API, and it
  admits only itself: a private endpoint is unreachable from anywhere else without a rule.
- `kubeconfigJson` carries no `--profile` (cluster.ts:912), so a stack that sets only
  `aws:profile` would get Unauthorized; `get_kubeconfig` (cluster.ts:2324) honours it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks

from components.config import EksSpec
from components.domain.principals import principal_of

HTTPS = 443


def admin_access_entries(
    admin_role_arns: Sequence[str],
    deployer_arn: str,
    admin_policy_arn: pulumi.Input[str],
    warn: Callable[[str], None],
) -> dict[str, pulumi_eks.AccessEntryArgs]:
    """A cluster-admin entry per configured role, except the role deploying the stack: EKS
    already gave it one. Roles match by account and name, since a session ARN drops the
    role's path (components/domain/principals.py)."""
    deployer = principal_of(deployer_arn)
    entries: dict[str, pulumi_eks.AccessEntryArgs] = {}
    for index, role_arn in enumerate(admin_role_arns):
        if deployer is not None and principal_of(role_arn) == deployer:
            warn(
                f"eks.adminRoleArns[{index}]: {role_arn} is the role running this deployment "
                f"({deployer_arn}); EKS gives the cluster's creator an admin access entry "
                "itself, so no second entry is created for it. Deploy later changes with the "
                "same role, or keep it out of eks.adminRoleArns (docs/eks-operations.md)"
            )
            continue
        entries[f"admin-{index}"] = pulumi_eks.AccessEntryArgs(
            principal_arn=role_arn,
            access_policies={
                "cluster-admin": pulumi_eks.AccessPolicyAssociationArgs(
                    policy_arn=admin_policy_arn,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                )
            },
        )
    return entries


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def api_ingress_rules(
    name: str,
    eks: EksSpec,
    cluster_security_group_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> list[aws.vpc.SecurityGroupIngressRule]:
    """HTTPS to the API (the private endpoint's ENIs carry the cluster security group) from
    each configured CIDR and security group. Named by source, so reordering the lists
    replaces nothing."""
    common: dict[str, Any] = {
        "security_group_id": cluster_security_group_id,
        "ip_protocol": "tcp",
        "from_port": HTTPS,
        "to_port": HTTPS,
        "opts": pulumi.ResourceOptions(parent=parent),
    }
    rules = [
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-from-{_slug(cidr)}",
            cidr_ipv4=cidr,
            description="Kubernetes API from eks.privateAccessCidrs",
            **common,
        )
        for cidr in eks.private_access_cidrs
    ]
    rules += [
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-from-{group}",
            referenced_security_group_id=group,
            description="Kubernetes API from eks.privateAccessSecurityGroupIds",
            **common,
        )
        for group in eks.private_access_security_group_ids
    ]
    return rules


def kubeconfig_credentials(aws_config: pulumi.Config) -> tuple[str | None, str | None]:
    """The AWS provider's profile and the role it assumes last (`aws:assumeRoles`), which the
    provider's kubeconfig must use too. Other credential sources (environment variables,
    AWS_PROFILE) reach `aws eks get-token` through the environment it inherits."""
    profile = aws_config.get("profile") or None
    roles = aws_config.get_object("assumeRoles") or []
    role = None
    if isinstance(roles, list) and roles and isinstance(roles[-1], dict):
        role = roles[-1].get("roleArn") or None
    return profile, role


def provider_kubeconfig(
    cluster: pulumi_eks.Cluster, credentials: tuple[str | None, str | None]
) -> pulumi.Output[str]:
    """The kubeconfig the Kubernetes provider uses, a secret: `kubeconfigJson` when the
    default credential chain applies, else `get_kubeconfig` with the profile and role. The
    latter still waits for `kubeconfigJson`, which pulumi-eks resolves only once the API
    answers (cluster.ts:805)."""
    profile, role = credentials
    if profile is None and role is None:
        return pulumi.Output.secret(cluster.kubeconfig_json)
    scoped = cluster.get_kubeconfig(profile_name=profile, role_arn=role)
    return pulumi.Output.secret(
        pulumi.Output.all(cluster.kubeconfig_json, scoped).apply(lambda both: both[1])
    )
