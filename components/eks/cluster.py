"""The EKS cluster: control plane in the private subnets, kube-system (CoreDNS) on Fargate,
IRSA, API access entries, Fargate logging to CloudWatch, and the extra Fargate profiles.

What pulumi-eks creates by itself at the pinned version is modelled, with its source lines,
in components/offline/eks_model.py; the program never creates any of it a second time:
- the kube-system Fargate profile, and (because `fargate` is set) the managed CoreDNS addon on
  Fargate, configured here through corednsAddonOptions with replicas sized for the job pods;
- the managed kube-proxy addon (Karpenter's EC2 nodes need it);
- NOT the vpc-cni addon (use_default_vpc_cni): the program's own carries an IRSA role, so node
  roles need no network-interface rights, and a version resolved for the cluster's Kubernetes
  version; the cluster's bootstrap installs the self-managed aws-node the addon adopts;
- the creator's admin access entry (components/eks/cluster_access.py).
The cluster keeps only the security group EKS creates (skip_default_security_groups): Fargate
pods use it, and Karpenter's node classes select it by id, so pods on both can reach each other
and CoreDNS; the API admits the operators' networks through rules on it.

On destroy the cluster goes before the network (it depends on the whole Network component), and
so does everything on it: Karpenter's finalizers still reach STS and EC2 through the NAT gateway
and the endpoints while the nodes and node claims are removed.

CoreDNS starts while the cluster is created, before the `aws-logging` ConfigMap exists, so its
logs reach CloudWatch only after its first restart (docs/eks-operations.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks
import pulumi_kubernetes as k8s

from components.domain.eks_sizing import coredns_replicas
from components.domain.specs import EksFleetSpec
from components.eks.cluster_access import (
    admin_access,
    admin_entries,
    api_ingress_rules,
    kubeconfig_api,
    provider_kubeconfig,
)
from components.eks.fargate_logging import (
    LOGGING_CONFIGMAP,
    OBSERVABILITY_LABELS,
    OBSERVABILITY_NAMESPACE,
    aws_logging_data,
    control_plane_log_group_name,
    fargate_log_group_name,
    fluent_bit_process_log_group_name,
)
from components.eks.placement import (
    COMPUTE_LABEL,
    FARGATE,
    KARPENTER_NAMESPACE,
    KUBE_SYSTEM,
    RUNNERS_PROFILE,
    runner_namespace,
)
from components.eks.policies import (
    CLUSTER_ADMIN_ACCESS_POLICY,
    FARGATE_POD_EXECUTION_POLICY,
    VPC_CNI_NAMESPACE,
    VPC_CNI_POLICY,
    VPC_CNI_SERVICE_ACCOUNT,
    cluster_access_policy_arn,
    fargate_logging_policy,
    fargate_pod_execution_trust_policy,
    irsa_trust_policy,
    managed_policy_arn,
)
from components.naming import type_token
from components.shared.aws import AwsContext
from components.shared.network import VpcRefs

TYPE_TOKEN = type_token("eks", "EksCluster")


@dataclass(frozen=True)
class FargateProfileSpec:
    """One Fargate profile: pods in a namespace matching `namespace` (EKS allows the wildcards
    `*` and `?`) and carrying all `labels` run on Fargate."""

    name: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)


# Karpenter's namespace, then every runner namespace in ONE profile, so adding or removing a
# runner creates, replaces or deletes no profile (each takes minutes, one at a time, and
# deleting one deletes the pods it placed); kube-system's profile is pulumi-eks'.
# Runner pods match only with the compute label (the manager with managerPlacement fargate,
# jobs of the fargate lane); unlabelled ones fall through to Karpenter.
FARGATE_PROFILES: tuple[FargateProfileSpec, ...] = (
    FargateProfileSpec("karpenter", KARPENTER_NAMESPACE),
    FargateProfileSpec(RUNNERS_PROFILE, runner_namespace("*"), {COMPUTE_LABEL: FARGATE}),
)


def coredns_configuration(total_concurrency: int) -> dict[str, object]:
    """The managed CoreDNS addon's configuration values: on Fargate, replicas by job count."""
    return {"computeType": "Fargate", "replicaCount": coredns_replicas(total_concurrency)}


@dataclass(frozen=True)
class EksClusterArgs:
    config: EksFleetSpec
    network: VpcRefs
    cluster_name: str
    # Roles of Karpenter nodes, each granted an EC2_LINUX access entry.
    node_role_arns: Mapping[str, pulumi.Input[str]]
    aws: AwsContext
    fargate_profiles: Sequence[FargateProfileSpec]
    tags: Mapping[str, str]
    # The AWS profile and role `aws eks get-token` must use in the Kubernetes provider's
    # kubeconfig (pulumi-eks' provider credential options); None: the default chain.
    kubeconfig_credentials: tuple[str | None, str | None] = (None, None)


class EksCluster(pulumi.ComponentResource):
    """The cluster and everything Fargate pods need before the first workload starts."""

    def __init__(
        self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._args = args
        config = args.config
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        cluster_deps: list[pulumi.Resource] = []
        if config.eks.cluster_log_types:
            # Pre-created so control plane logs expire; EKS would create it without retention.
            cluster_deps.append(
                aws.cloudwatch.LogGroup(
                    f"{name}-control-plane-logs",
                    name=control_plane_log_group_name(args.cluster_name),
                    retention_in_days=config.log_retention_days,
                    tags=tags,
                    opts=child,
                )
            )
        self.fargate_log_group = aws.cloudwatch.LogGroup(
            f"{name}-fargate-logs",
            name=fargate_log_group_name(args.cluster_name),
            retention_in_days=config.log_retention_days,
            tags=tags,
            opts=child,
        )
        process_log_group = aws.cloudwatch.LogGroup(
            f"{name}-fluent-bit-logs",
            name=fluent_bit_process_log_group_name(args.cluster_name),
            retention_in_days=config.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.pod_execution_role = self._pod_execution_role(
            [self.fargate_log_group.name, process_log_group.name], cluster_deps
        )
        self.cluster = pulumi_eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=config.eks.kubernetes_version,
            vpc_id=args.network.vpc_id,
            private_subnet_ids=args.network.private_subnet_ids,
            public_subnet_ids=args.network.public_subnet_ids,
            endpoint_private_access=True,
            endpoint_public_access=config.eks.endpoint_access == "public",
            public_access_cidrs=list(config.eks.public_access_cidrs) or None,
            authentication_mode=pulumi_eks.AuthenticationMode.API,
            access_entries=self._access_entries(),
            create_oidc_provider=True,
            enabled_cluster_log_types=list(config.eks.cluster_log_types),
            skip_default_node_group=True,
            skip_default_security_groups=True,
            fargate=pulumi_eks.FargateProfileArgs(
                selectors=[aws.eks.FargateProfileSelectorArgs(namespace=KUBE_SYSTEM)],
                pod_execution_role_arn=self.pod_execution_role.arn,
                subnet_ids=args.network.private_subnet_ids,
            ),
            coredns_addon_options=pulumi_eks.CoreDnsAddonOptionsArgs(
                configuration_values=coredns_configuration(config.total_concurrency)
            ),
            # The program's own vpc-cni addon (below) replaces pulumi-eks' (cluster.ts:1092).
            use_default_vpc_cni=True,
            tags=tags,
            # Egress (NAT, private routes, endpoints) outlives the cluster on destroy.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*cluster_deps, *args.network.egress]
            ),
        )
        self.vpc_cni = self._vpc_cni_addon()
        self._admin_access()
        # What the stack exports for people: no profile, as pulumi-eks builds it.
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(self.cluster.kubeconfig_json)
        api_rules = api_ingress_rules(
            name, config.eks, self.cluster.cluster_security_group_id, parent=self
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=provider_kubeconfig(self.cluster, args.kubeconfig_credentials),
            opts=pulumi.ResourceOptions(parent=self, depends_on=api_rules),
        )
        self.logging_config = self._fargate_logging()
        self.fargate_profiles = chain_fargate_profiles(
            name,
            args.cluster_name,
            args.fargate_profiles,
            self.pod_execution_role.arn,
            args.network.private_subnet_ids,
            args.tags,
            first_after=[self.cluster],
            parent=self,
        )
        # What the fleet reads of any cluster it runs on (components/eks/existing_cluster.py
        # has the same for a cluster it joins).
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_issuer = self.cluster.oidc_issuer
        self.security_group_id = self.cluster.cluster_security_group_id
        self.api_endpoint, self.api_ca = kubeconfig_api(self.cluster.kubeconfig_json)
        # Every pod of the fleet waits for these (its logs reach CloudWatch from the start);
        # the first Karpenter node waits for `nodes_need` (the VPC CNI with its IRSA role).
        self.pods_need: tuple[pulumi.Resource, ...] = (self.logging_config,)
        self.nodes_need: tuple[pulumi.Resource, ...] = (self.vpc_cni,)
        self.register_outputs(
            {
                "clusterName": args.cluster_name,
                "fargateLogGroup": self.fargate_log_group.name,
                "oidcProviderArn": self.cluster.oidc_provider_arn,
            }
        )

    def _access_entries(self) -> dict[str, pulumi_eks.AccessEntryArgs]:
        """What pulumi-eks creates: the Karpenter node roles' entries, keyed by node class."""
        return {
            f"karpenter-{'nodes' if node_class == 'default' else node_class}": (
                pulumi_eks.AccessEntryArgs(
                    principal_arn=role_arn, type=pulumi_eks.AccessEntryType.EC2_LINUX
                )
            )
            for node_class, role_arn in self._args.node_role_arns.items()
        }

    def _admin_access(self) -> None:
        """eks.adminRoleArns' entries, the program's own so that each is named by its
        principal (components/eks/cluster_access.py)."""
        admins = self._args.config.eks.admin_role_arns
        if not admins:
            return
        # Known at preview: the entries' names come from the list.
        deployer = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).arn
        entries = admin_entries(admins, deployer, lambda m: pulumi.log.warn(m, resource=self))
        admin_policy = self._args.aws.partition.apply(
            lambda p: cluster_access_policy_arn(p, CLUSTER_ADMIN_ACCESS_POLICY)
        )
        admin_access(
            self._name, self.cluster, self._args.cluster_name, entries, admin_policy, parent=self
        )

    def _pod_execution_role(
        self, log_group_names: list[pulumi.Output[str]], cluster_deps: list[pulumi.Resource]
    ) -> aws.iam.Role:
        """One pod execution role for every Fargate profile: pulls images, ships logs."""
        ctx = self._args.aws
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-pod-execution",
            description="Fargate pod execution role (image pulls, log router)",
            assume_role_policy=pulumi.Output.all(ctx.partition, ctx.region, ctx.account_id).apply(
                lambda v: json.dumps(
                    fargate_pod_execution_trust_policy(v[0], v[1], v[2], self._args.cluster_name)
                )
            ),
            tags=dict(self._args.tags),
            opts=child,
        )
        cluster_deps.append(
            aws.iam.RolePolicyAttachment(
                f"{self._name}-pod-execution-managed",
                role=role.name,
                policy_arn=ctx.partition.apply(
                    lambda p: managed_policy_arn(p, FARGATE_POD_EXECUTION_POLICY)
                ),
                opts=child,
            )
        )
        cluster_deps.append(
            aws.iam.RolePolicy(
                f"{self._name}-pod-execution-logs",
                role=role.name,
                policy=pulumi.Output.all(
                    ctx.partition, ctx.region, ctx.account_id, *log_group_names
                ).apply(lambda v: json.dumps(fargate_logging_policy(v[0], v[1], v[2], v[3:]))),
                opts=child,
            )
        )
        return role

    def _vpc_cni_addon(self) -> aws.eks.Addon:
        """The VPC CNI as a managed addon whose aws-node service account assumes its own role
        (IRSA) with the CNI policy; it adopts the aws-node EKS installs (OVERWRITE). Its
        version is the newest EKS offers for the cluster's Kubernetes version, as pulumi-eks
        resolves coredns and kube-proxy, so an upgrade moves it too."""
        ctx = self._args.aws
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-vpc-cni",
            description="VPC CNI (IRSA: kube-system/aws-node service account)",
            assume_role_policy=pulumi.Output.all(
                self.cluster.oidc_provider_arn, self.cluster.oidc_issuer
            ).apply(
                lambda oi: json.dumps(
                    irsa_trust_policy(oi[0], oi[1], VPC_CNI_NAMESPACE, VPC_CNI_SERVICE_ACCOUNT)
                )
            ),
            tags=dict(self._args.tags),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{self._name}-vpc-cni-policy",
            role=role.name,
            policy_arn=ctx.partition.apply(lambda p: managed_policy_arn(p, VPC_CNI_POLICY)),
            opts=child,
        )
        version = aws.eks.get_addon_version_output(
            addon_name="vpc-cni",
            kubernetes_version=self._args.config.eks.kubernetes_version,
            most_recent=True,
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).version
        return aws.eks.Addon(
            f"{self._name}-vpc-cni",
            cluster_name=self._args.cluster_name,
            addon_name="vpc-cni",
            addon_version=version,
            service_account_role_arn=role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=dict(self._args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster, attachment]),
        )

    def _fargate_logging(self) -> k8s.core.v1.ConfigMap:
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.provider)
        namespace = k8s.core.v1.Namespace(
            f"{self._name}-aws-observability",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=OBSERVABILITY_NAMESPACE, labels=dict(OBSERVABILITY_LABELS)
            ),
            opts=k8s_opts,
        )
        return k8s.core.v1.ConfigMap(
            f"{self._name}-aws-logging",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=LOGGING_CONFIGMAP, namespace=namespace.metadata.name
            ),
            data=pulumi.Output.all(self._args.aws.region, self.fargate_log_group.name).apply(
                lambda v: aws_logging_data(v[0], v[1])
            ),
            opts=k8s_opts,
        )


def chain_fargate_profiles(
    name: str,
    cluster_name: pulumi.Input[str],
    specs: Sequence[FargateProfileSpec],
    pod_execution_role_arn: pulumi.Input[str],
    subnet_ids: pulumi.Input[Sequence[str]],
    tags: Mapping[str, str],
    first_after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> dict[str, aws.eks.FargateProfile]:
    """AWS creates or deletes one Fargate profile per cluster at a time (others fail with
    ResourceInUseException), so each profile waits for the previous one, the first for
    `first_after` (a new cluster and its kube-system profile)."""
    profiles: dict[str, aws.eks.FargateProfile] = {}
    previous: Sequence[pulumi.Resource] = first_after
    for spec in specs:
        selector = aws.eks.FargateProfileSelectorArgs(
            namespace=spec.namespace, labels=dict(spec.labels) or None
        )
        profile = aws.eks.FargateProfile(
            f"{name}-fargate-{spec.name}",
            cluster_name=cluster_name,
            fargate_profile_name=spec.name,
            pod_execution_role_arn=pod_execution_role_arn,
            subnet_ids=subnet_ids,
            selectors=[selector],
            tags=dict(tags),
            # Every input forces a replacement and the name is fixed: the old profile must
            # go before the new one is created (AWS rejects a duplicate name).
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=list(previous), delete_before_replace=True
            ),
        )
        profiles[spec.name] = profile
        previous = [profile]
    return profiles
