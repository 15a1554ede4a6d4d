"""Who reaches the cluster's API: admin access entries, 443 from the operators' networks, and
the credentials the Kubernetes provider's kubeconfig runs `aws eks get-token` with. Every one of
them is named by what it admits (role, CIDR, security group), never by its list position: EKS
allows one entry per principal, so an entry renamed by a reorder would fail to be created
before its old name is deleted, and lock its admin out meanwhile.

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

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks

from components.domain.principals import principal_of
from components.domain.specs import EksSpec
from components.naming import keyed_name, slug

HTTPS = 443


# pulumi-eks names what it makes from `accessEntries` `<cluster>-<key>` (the entry, a child of
# its Cluster) and `<cluster>-<key>-<policy>` (the association, a child of the entry):
# nodejs/eks/cluster/authenticationMode.ts:186, :198 and :207 at the pinned version.
ACCESS_ENTRY_TYPE = "aws:eks/accessEntry:AccessEntry"
ADMIN_POLICY_KEY = "cluster-admin"
_NAME_CHARS = 40  # of the role name in a resource name; the hash keeps longer ones apart


@dataclass(frozen=True)
class AdminEntry:
    """One eks.adminRoleArns role: its stable key, and the index-based key releases before
    this one gave it (`admin-<index>`, in pulumi-eks' accessEntries) for the aliases."""

    role_arn: str
    key: str
    legacy_key: str


def admin_entry_key(role_arn: str) -> str:
    """`admin-<role name>-<hash>`: follows the principal, not its position in the list, so
    reordering or removing another role renames nothing. The hash is over the principal
    (partition, account, kind, name; no path, which does not change the principal), so equal
    role names in two accounts, or names cut short, stay apart."""
    principal = principal_of(role_arn)
    identity = "/".join(principal) if principal is not None else role_arn
    label = principal.name if principal is not None else role_arn
    return f"admin-{keyed_name(label, identity, _NAME_CHARS)}"


def admin_entries(
    admin_role_arns: Sequence[str], deployer_arn: str, warn: Callable[[str], None]
) -> list[AdminEntry]:
    """A cluster-admin entry per configured role, except the role deploying the stack: EKS
    already gave it one. Roles match by account and name, since a session ARN drops the
    role's path (components/domain/principals.py)."""
    deployer = principal_of(deployer_arn)
    entries: list[AdminEntry] = []
    for index, role_arn in enumerate(admin_role_arns):
        if deployer is not None and principal_of(role_arn) == deployer:
            warn(
                f"eks.adminRoleArns[{index}]: {role_arn} is the role running this deployment "
                f"({deployer_arn}); EKS gives the cluster's creator an admin access entry "
                "itself, so no second entry is created for it. Deploy later changes with the "
                "same role, or keep it out of eks.adminRoleArns (docs/eks-operations.md)"
            )
            continue
        entries.append(AdminEntry(role_arn, admin_entry_key(role_arn), f"admin-{index}"))
    return entries


def admin_access(
    name: str,
    cluster: pulumi_eks.Cluster,
    cluster_name: str,
    entries: Sequence[AdminEntry],
    admin_policy_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> None:
    """The admin entries and their cluster-admin associations, named by principal. Releases
    before this one passed them to pulumi-eks by list position; the aliases adopt those
    resources (same principal at the same index, as the first update after the upgrade finds
    them) instead of creating a second entry for the principal, which EKS refuses."""
    cluster_resource = cluster.pulumi_resource_name  # pulumi-eks names its children after it
    for entry in entries:
        legacy = f"{cluster_resource}-{entry.legacy_key}"
        access_entry = aws.eks.AccessEntry(
            f"{name}-{entry.key}",
            cluster_name=cluster_name,
            principal_arn=entry.role_arn,
            opts=pulumi.ResourceOptions(
                parent=parent,
                depends_on=[cluster],
                aliases=[pulumi.Alias(name=legacy, parent=cluster)],
            ),
        )
        old_entry_urn = pulumi.create_urn(legacy, ACCESS_ENTRY_TYPE, parent=cluster)
        aws.eks.AccessPolicyAssociation(
            f"{name}-{entry.key}-{ADMIN_POLICY_KEY}",
            cluster_name=cluster_name,
            principal_arn=access_entry.principal_arn,
            policy_arn=admin_policy_arn,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(
                parent=access_entry,
                depends_on=[access_entry],
                aliases=[pulumi.Alias(name=f"{legacy}-{ADMIN_POLICY_KEY}", parent=old_entry_urn)],
            ),
        )


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
            f"{name}-api-from-{slug(cidr)}",
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


def kubeconfig_api(kubeconfig_json: pulumi.Input[str]) -> tuple[pulumi.Output[str], ...]:
    """The API URL and certificate authority data of a kubeconfig (neither is a secret, so
    neither stays one): what the start-wait sampler connects with."""
    cluster = pulumi.Output.unsecret(pulumi.Output.from_input(kubeconfig_json)).apply(
        lambda k: (json.loads(k) if isinstance(k, str) else k)["clusters"][0]["cluster"]
    )
    return cluster.apply(lambda c: c["server"]), cluster.apply(
        lambda c: c["certificate-authority-data"]
    )


def exec_kubeconfig(
    cluster_name: str,
    endpoint: str,
    certificate_authority_data: str,
    region: str,
    credentials: tuple[str | None, str | None],
) -> dict[str, Any]:
    """A kubeconfig for a cluster this stack did not create, as pulumi-eks writes one for its
    own (generateKubeconfig, nodejs/eks/cluster/cluster.ts:203 at the pinned version): a token
    from `aws eks get-token`, with the AWS profile and role the stack deploys with, so the
    Kubernetes provider acts as the same principal as the AWS provider."""
    profile, role = credentials
    args = ["--region", region, "eks", "get-token", "--cluster-name", cluster_name]
    args += ["--output", "json"]
    if role:
        args += ["--role", role]
    if profile:
        args += ["--profile", profile]
    return {
        "apiVersion": "v1",
        "clusters": [
            {
                "name": "kubernetes",
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": certificate_authority_data,
                },
            }
        ],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "kind": "Config",
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": args,
                        "env": [
                            {
                                "name": "KUBERNETES_EXEC_INFO",
                                "value": '{"apiVersion": "client.authentication.k8s.io/v1beta1"}',
                            }
                        ],
                    }
                },
            }
        ],
    }
