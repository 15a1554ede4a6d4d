"""Karpenter v1 on Fargate: EC2 capacity for the lanes Fargate cannot serve.

Fargate has no Spot on EKS and no privileged containers, so the `spot` and `privileged` lanes
(and managers with managerPlacement ec2) run on EC2 nodes that Karpenter launches on demand
and removes when empty. The controller itself runs on Fargate (namespace `karpenter`) with
IRSA, so the cluster has no always-on EC2 node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.config import EksSpec, StackConfig
from components.eks.placement import (
    KARPENTER_NAMESPACE,
    KARPENTER_SERVICE_ACCOUNT,
    POOL_TAINT_KEY,
    SYSTEM_POOL,
    placement_for,
)
from components.eks.policies import (
    NODE_MANAGED_POLICIES,
    ec2_trust_policy,
    interruption_queue_policy,
    irsa_trust_policy,
    karpenter_controller_policies,
    managed_policy_arn,
)
from components.naming import type_token

TYPE_TOKEN = type_token("eks", "Karpenter")

CHART = "oci://public.ecr.aws/karpenter/karpenter"
RELEASE = "karpenter"
NODE_CLASS = "default"
DISCOVERY_TAG = "karpenter.sh/discovery"


def discovery_tags(cluster_name: str) -> dict[str, str]:
    """Tags on the subnets Karpenter may launch nodes into (subnets this stack creates)."""
    return {DISCOVERY_TAG: cluster_name}


# Requests = limits (Fargate sizes pods by requests): 1 vCPU / 1 GiB -> a 1 vCPU / 2 GB pod.
CONTROLLER_RESOURCES = {"cpu": "1", "memory": "1Gi"}
# One replica: Karpenter only acts when EC2 capacity is needed, nodes keep running without it,
# and a replacement Fargate pod starts in about a minute, well inside the runners' poll
# timeout. A hot standby would double an always-on Fargate charge for that minute.
CONTROLLER_REPLICAS = 1
# Nodes are replaced after 30 days (fresh AMIs); jobs on them are protected by do-not-disrupt.
EXPIRE_AFTER = "720h"
CONSOLIDATE_AFTER = "1m"
ROOT_VOLUME = {"deviceName": "/dev/xvda", "volumeSize": "100Gi", "volumeType": "gp3"}
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


@dataclass(frozen=True)
class NodePoolSpec:
    name: str
    capacity_types: tuple[str, ...]
    cpu_limit: int


def node_pool_specs(config: StackConfig) -> list[NodePoolSpec]:
    """Only the pools some runner needs: a lane with no runner gets no NodePool."""
    eks = config.eks
    specs = {
        "spot": NodePoolSpec("spot", ("spot",), eks.spot_cpu_limit),
        "privileged": NodePoolSpec("privileged", ("on-demand",), eks.privileged_cpu_limit),
        SYSTEM_POOL: NodePoolSpec(SYSTEM_POOL, ("on-demand",), eks.system_cpu_limit),
    }
    needed = {pool for r in config.runners for pool in placement_for(r, eks).pools}
    return [spec for name, spec in specs.items() if name in needed]


def node_pool(spec: NodePoolSpec, eks: EksSpec) -> dict[str, Any]:
    """A karpenter.sh/v1 NodePool whose nodes only take pods that tolerate its taint."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": spec.name},
        "spec": {
            "template": {
                "metadata": {"labels": {POOL_TAINT_KEY: spec.name}},
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": NODE_CLASS,
                    },
                    "requirements": [
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        {
                            "key": "karpenter.sh/capacity-type",
                            "operator": "In",
                            "values": list(spec.capacity_types),
                        },
                        {
                            "key": "karpenter.k8s.aws/instance-category",
                            "operator": "In",
                            "values": list(eks.instance_categories),
                        },
                        {
                            "key": "karpenter.k8s.aws/instance-generation",
                            "operator": "Gt",
                            "values": ["2"],
                        },
                    ],
                    "taints": [{"key": POOL_TAINT_KEY, "value": spec.name, "effect": "NoSchedule"}],
                    "expireAfter": EXPIRE_AFTER,
                },
            },
            "limits": {"cpu": str(spec.cpu_limit)},
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": CONSOLIDATE_AFTER,
            },
        },
    }


def ec2_node_class(cluster_name: str, role_name: str, tags: dict[str, str]) -> dict[str, Any]:
    """A karpenter.k8s.aws/v1 EC2NodeClass: AL2023, private subnets and the cluster security
    group found by discovery tag, IMDSv2 only and out of reach of pods (hop limit 1)."""
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": NODE_CLASS},
        "spec": {
            "role": role_name,
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": ROOT_VOLUME["deviceName"],
                    "ebs": {
                        "volumeSize": ROOT_VOLUME["volumeSize"],
                        "volumeType": ROOT_VOLUME["volumeType"],
                        "encrypted": True,
                        "deleteOnTermination": True,
                    },
                }
            ],
            "tags": dict(tags),
        },
    }


def karpenter_values(cluster_name: str, queue_name: str, role_arn: str) -> dict[str, Any]:
    """Helm values for the Karpenter chart, running on Fargate."""
    return {
        "replicas": CONTROLLER_REPLICAS,
        # CoreDNS may not be up yet when Karpenter starts: resolve through the VPC resolver.
        "dnsPolicy": "Default",
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {
            "name": KARPENTER_SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "controller": {
            "resources": {
                "requests": dict(CONTROLLER_RESOURCES),
                "limits": dict(CONTROLLER_RESOURCES),
            }
        },
    }


def create_node_role(
    name: str,
    dns_suffix: pulumi.Input[str],
    partition: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """The role of Karpenter-launched nodes. Created before the cluster, which grants it an
    EC2_LINUX access entry."""
    role = aws.iam.Role(
        name,
        description="Nodes launched by Karpenter for the EC2 CI lanes",
        assume_role_policy=pulumi.Output.from_input(dns_suffix).apply(
            lambda suffix: json.dumps(ec2_trust_policy(suffix))
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for policy in NODE_MANAGED_POLICIES:
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
    config: StackConfig
    cluster_name: str
    provider: k8s.Provider
    node_role: aws.iam.Role
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    partition: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    # The Fargate profile for namespace karpenter and the logging ConfigMap.
    depends_on: tuple[pulumi.Resource, ...]
    tags: dict[str, str]


class Karpenter(pulumi.ComponentResource):
    """Controller IAM (IRSA), interruption queue + EventBridge rules, Helm release, node class
    and the NodePools of the configured lanes."""

    def __init__(
        self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=f"{args.cluster_name}-karpenter"[:80],
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
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE,
            chart=CHART,
            version=args.config.eks.karpenter_version,
            namespace=namespace.metadata.name,
            values=pulumi.Output.all(self.queue.name, self.controller_role.arn).apply(
                lambda qa: karpenter_values(args.cluster_name, qa[0], qa[1])
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[*args.depends_on, *self.policy_attachments],
            ),
        )
        after_crds = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=[self.release]
        )
        node_class_doc = args.node_role.name.apply(
            lambda role: ec2_node_class(args.cluster_name, role, args.tags)
        )
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": NODE_CLASS},
            spec=node_class_doc.apply(lambda doc: doc["spec"]),
            opts=after_crds,
        )
        self.node_pools: dict[str, k8s.apiextensions.CustomResource] = {}
        for spec in node_pool_specs(args.config):
            doc = node_pool(spec, args.config.eks)
            self.node_pools[spec.name] = k8s.apiextensions.CustomResource(
                f"{name}-pool-{spec.name}",
                api_version=doc["apiVersion"],
                kind=doc["kind"],
                metadata=doc["metadata"],
                spec=doc["spec"],
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, depends_on=[self.release, node_class]
                ),
            )
        self.register_outputs(
            {"queueName": self.queue.name, "controllerRoleArn": self.controller_role.arn}
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
        documents = pulumi.Output.all(
            args.partition, args.region, args.account_id, args.node_role.arn, self.queue.arn
        ).apply(
            lambda v: karpenter_controller_policies(
                partition=v[0],
                region=v[1],
                account_id=v[2],
                cluster_name=args.cluster_name,
                node_role_arn=v[3],
                queue_arn=v[4],
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
