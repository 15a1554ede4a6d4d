"""Karpenter v1 on Fargate: EC2 capacity for the lanes Fargate cannot serve.

Fargate has no Spot on EKS and no privileged containers, so the `spot` and `privileged` lanes
(and managers with managerPlacement ec2) run on EC2 nodes that Karpenter launches on demand
and removes when empty. The controller itself runs on Fargate (namespace `karpenter`) with
IRSA, so the cluster has no always-on EC2 node.

CRDs come from the `karpenter-crd` chart (Helm never upgrades a chart's `crds/`), installed
first; the main release skips its own copy. The CRD release takes ownership of CRDs that
exist without Helm's ownership metadata (Helm's --take-ownership), so stacks whose CRDs the
main chart installed hand all of them over without a manual relabel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.domain.specs import EksFleetSpec
from components.eks.karpenter_objects import (
    ec2_node_class,
    karpenter_values,
    node_classes_for,
    node_pool,
    node_pool_specs,
)
from components.eks.placement import KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
from components.eks.policies import (
    ec2_trust_policy,
    interruption_queue_policy,
    irsa_trust_policy,
    karpenter_controller_policies,
    managed_policy_arn,
)
from components.naming import interruption_queue_name, type_token

TYPE_TOKEN = type_token("eks", "Karpenter")

CHART = "oci://public.ecr.aws/karpenter/karpenter"
CRD_CHART = "oci://public.ecr.aws/karpenter/karpenter-crd"
RELEASE = "karpenter"
CRD_RELEASE = "karpenter-crd"
# EventBridge events Karpenter reacts to (drain before a Spot reclaim, health events, ...).
INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Spot Instance Interruption Warning"],
    },
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
    },
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
    },
}


def create_node_role(
    name: str,
    description: str,
    policies: Sequence[str],
    dns_suffix: pulumi.Input[str],
    partition: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role of Karpenter-launched nodes. Created before the cluster, which grants it an
    EC2_LINUX access entry."""
    role = aws.iam.Role(
        name,
        description=description,
        assume_role_policy=pulumi.Output.from_input(dns_suffix).apply(
            lambda suffix: json.dumps(ec2_trust_policy(suffix))
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for policy in policies:
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy}",
            role=role.name,
            policy_arn=pulumi.Output.from_input(partition).apply(
                lambda p, policy=policy: managed_policy_arn(p, policy)
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return role


@dataclass(frozen=True)
class KarpenterArgs:
    config: EksFleetSpec
    cluster_name: str
    provider: k8s.Provider
    # Node role per EC2NodeClass name (default, privileged).
    node_roles: Mapping[str, aws.iam.Role]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    partition: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    # Where nodes launch: the private subnets and the cluster security group, by id.
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    # The Fargate profile for namespace karpenter and the logging ConfigMap.
    depends_on: tuple[pulumi.Resource, ...]
    # What a node needs before the first one starts: the VPC CNI with its IRSA role, the Spot
    # service-linked role.
    nodes_need: tuple[pulumi.Resource, ...]
    tags: dict[str, str]
    # False on a cluster that already runs Karpenter v1 (eks.karpenter existing): only the
    # node classes and NodePools are added, for its controller to serve.
    install: bool = True


class Karpenter(pulumi.ComponentResource):
    """Controller IAM (IRSA), interruption queue + EventBridge rules, Helm release, node class
    and the NodePools of the configured lanes."""

    def __init__(
        self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.queue: aws.sqs.Queue | None = None
        # What a runner with an EC2 lane waits for besides its NodePools: the controller.
        self.ready: list[pulumi.Resource] = []
        controller: list[pulumi.Resource] = []
        if args.install:
            self._install(name, args)
            controller = [self.release, self.crd_release]
            self.ready = [self.release]
        # Objects below are deleted before the release on destroy: Karpenter is still running
        # to drain and terminate its nodes (NodePool/NodeClaim finalizers).
        after_controller = pulumi.ResourceOptions(
            parent=self,
            provider=args.provider,
            depends_on=[*controller, *args.nodes_need],
        )
        specs = node_pool_specs(args.config)
        prefix = args.config.pool_prefix
        self.node_classes: dict[str, k8s.apiextensions.CustomResource] = {}
        for class_name in node_classes_for(specs):
            doc = pulumi.Output.all(
                args.node_roles[class_name].name, args.subnet_ids, args.security_group_id
            ).apply(
                lambda v, class_name=class_name: ec2_node_class(
                    f"{prefix}{class_name}",
                    v[0],
                    v[1],
                    v[2],
                    args.config.eks.node_ami_alias,
                    args.tags,
                )
            )
            suffix = "" if class_name == "default" else f"-{class_name}"
            self.node_classes[class_name] = k8s.apiextensions.CustomResource(
                f"{name}-node-class{suffix}",
                api_version="karpenter.k8s.aws/v1",
                kind="EC2NodeClass",
                metadata={"name": f"{prefix}{class_name}"},
                spec=doc.apply(lambda d: d["spec"]),
                opts=after_controller,
            )
        self.node_pools: dict[str, k8s.apiextensions.CustomResource] = {}
        for spec in specs:
            doc = node_pool(spec, args.config.eks, prefix)
            self.node_pools[spec.name] = k8s.apiextensions.CustomResource(
                f"{name}-pool-{spec.name}",
                api_version=doc["apiVersion"],
                kind=doc["kind"],
                metadata=doc["metadata"],
                spec=doc["spec"],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=args.provider,
                    depends_on=[
                        *controller,
                        self.node_classes[spec.node_class],
                        *args.nodes_need,
                    ],
                ),
            )
        if args.install:
            self.register_outputs(
                {"queueName": self.queue.name, "controllerRoleArn": self.controller_role.arn}
            )
        else:
            self.register_outputs({})

    def _install(self, name: str, args: KarpenterArgs) -> None:
        """The controller: IRSA role, interruption queue and rules, CRD and main releases."""
        child = pulumi.ResourceOptions(parent=self)
        self.queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=interruption_queue_name(args.cluster_name),
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=args.tags,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-interruptions-policy",
            queue_url=self.queue.url,
            policy=self.queue.arn.apply(lambda arn: json.dumps(interruption_queue_policy(arn))),
            opts=child,
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                description=f"Karpenter interruption handling: {pattern['detail-type'][0]}",
                event_pattern=json.dumps(pattern),
                tags=args.tags,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{event}-target",
                rule=rule.name,
                arn=self.queue.arn,
                opts=child,
            )
        self.controller_role = self._controller_role(name, args)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=KARPENTER_NAMESPACE, labels={"app.kubernetes.io/managed-by": "pulumi"}
            ),
            # Its pods run on the karpenter Fargate profile: the namespace (and so the
            # controller) goes before the profile, or AWS deletes the controller's pod while
            # its finalizers still have nodes to terminate.
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=list(args.depends_on)
            ),
        )
        version = args.config.eks.karpenter_version
        self.crd_release = k8s.helm.v3.Release(
            f"{name}-crds",
            name=CRD_RELEASE,
            chart=CRD_CHART,
            version=version,
            namespace=namespace.metadata.name,
            # The hand-over: on a stack whose CRDs the main chart's crds/ installed (no Helm
            # ownership metadata), install adopts every CRD the chart templates instead of
            # failing on the first one it finds; on a fresh cluster there is nothing to adopt.
            take_ownership=True,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE,
            chart=CHART,
            version=version,
            namespace=namespace.metadata.name,
            skip_crds=True,
            values=pulumi.Output.all(self.queue.name, self.controller_role.arn).apply(
                lambda qa: karpenter_values(args.cluster_name, qa[0], qa[1])
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[*args.depends_on, *self.policy_attachments, self.crd_release],
            ),
        )

    def _controller_role(self, name: str, args: KarpenterArgs) -> aws.iam.Role:
        child = pulumi.ResourceOptions(parent=self)
        self.policy_attachments: list[aws.iam.RolePolicyAttachment] = []
        role = aws.iam.Role(
            f"{name}-controller",
            description="Karpenter controller (IRSA: karpenter/karpenter service account)",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda oi: json.dumps(
                    irsa_trust_policy(oi[0], oi[1], KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT)
                )
            ),
            tags=args.tags,
            opts=child,
        )
        role_arns = [args.node_roles[n].arn for n in sorted(args.node_roles)]
        documents = pulumi.Output.all(
            args.partition, args.region, args.account_id, self.queue.arn, *role_arns
        ).apply(
            lambda v: karpenter_controller_policies(
                partition=v[0],
                region=v[1],
                account_id=v[2],
                cluster_name=args.cluster_name,
                node_role_arns=v[4:],
                queue_arn=v[3],
            )
        )
        # Separate managed policies, split like upstream: each part stays well under the
        # 6,144-character managed-policy limit as Karpenter's permissions grow.
        for part in ("node-lifecycle", "iam-integration", "eks-integration", "resource-discovery"):
            policy = aws.iam.Policy(
                f"{name}-controller-{part}",
                description=f"Karpenter controller ({part}) for cluster {args.cluster_name}",
                policy=documents.apply(lambda docs, part=part: json.dumps(docs[part])),
                tags=args.tags,
                opts=child,
            )
            self.policy_attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-controller-{part}-attachment",
                    role=role.name,
                    policy_arn=policy.arn,
                    opts=child,
                )
            )
        return role
