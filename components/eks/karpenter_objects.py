"""Karpenter's Kubernetes objects as plain documents: NodePools, EC2NodeClasses, chart values.

Pure functions, so tests validate them against the upstream CRD schemas
(tests/upstream/karpenter-crds.json) without a cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.domain.specs import EksFleetSpec, EksSpec
from components.eks.placement import (
    ARCH_LABEL,
    KARPENTER_SERVICE_ACCOUNT,
    MANAGER_ARCHITECTURE,
    POOL_TAINT_KEY,
    SYSTEM_POOL,
    node_termination_grace,
    placement_for,
)

# Two node classes, so the privileged lane's nodes get their own (smaller) IAM role: a
# Docker-in-Docker job that escapes to its node only finds that role's credentials.
NODE_CLASS = "default"
PRIVILEGED_NODE_CLASS = "privileged"

# Requests = limits (Fargate sizes pods by requests): 1 vCPU / 1 GiB -> a 1 vCPU / 2 GB pod.
CONTROLLER_RESOURCES = {"cpu": "1", "memory": "1Gi"}
# One replica: Karpenter only acts when EC2 capacity is needed, nodes keep running without it,
# and a replacement Fargate pod starts in about a minute, well inside the runners' poll
# timeout. A hot standby would double an always-on Fargate charge for that minute.
CONTROLLER_REPLICAS = 1
# Nodes are replaced after 30 days; jobs and managers on them get the pool's
# terminationGracePeriod to finish (expiry is forceful in Karpenter v1).
EXPIRE_AFTER = "720h"
# Job pools: empty or under-used nodes go after a minute (job pods carry do-not-disrupt).
CONSOLIDATE_AFTER = "1m"
# The system pool holds long-lived managers: it only removes a node once it is empty, and
# waits a little so a manager restart does not replace its node.
SYSTEM_CONSOLIDATE_AFTER = "10m"
ROOT_VOLUME = {"deviceName": "/dev/xvda", "volumeSize": "100Gi", "volumeType": "gp3"}


@dataclass(frozen=True)
class NodePoolSpec:
    name: str
    capacity_types: tuple[str, ...]
    cpu_limit: int
    node_class: str
    consolidation_policy: str
    consolidate_after: str
    # kubernetes.io/arch values the pool admits: those of the runners whose jobs it takes.
    architectures: tuple[str, ...] = (MANAGER_ARCHITECTURE,)


def pool_architectures(config: EksFleetSpec, pool: str) -> tuple[str, ...]:
    """The architectures of the job pods a pool takes (amd64 for the managers' system pool):
    one pool per lane admits both when its runners differ, and each job pod's node selector
    makes Karpenter launch the node it needs (amd64 sorts before arm64)."""
    jobs = {
        placement.architecture
        for placement in (placement_for(r, config.eks) for r in config.runners)
        if placement.jobs == pool
    }
    return tuple(sorted(jobs)) or (MANAGER_ARCHITECTURE,)


def node_pool_specs(config: EksFleetSpec) -> list[NodePoolSpec]:
    """Only the pools some runner needs: a lane with no runner gets no NodePool."""
    eks = config.eks
    busy = ("WhenEmptyOrUnderutilized", CONSOLIDATE_AFTER)
    specs = {
        "spot": NodePoolSpec(
            "spot",
            ("spot",),
            eks.spot_cpu_limit,
            NODE_CLASS,
            *busy,
            pool_architectures(config, "spot"),
        ),
        "privileged": NodePoolSpec(
            "privileged",
            ("on-demand",),
            eks.privileged_cpu_limit,
            PRIVILEGED_NODE_CLASS,
            *busy,
            pool_architectures(config, "privileged"),
        ),
        SYSTEM_POOL: NodePoolSpec(
            SYSTEM_POOL,
            ("on-demand",),
            eks.system_cpu_limit,
            NODE_CLASS,
            "WhenEmpty",
            SYSTEM_CONSOLIDATE_AFTER,
        ),
    }
    needed = {pool for r in config.runners for pool in placement_for(r, eks).pools}
    return [spec for name, spec in specs.items() if name in needed]


def node_classes_for(specs: Sequence[NodePoolSpec]) -> list[str]:
    """The EC2NodeClasses the given pools use, in a stable order."""
    return sorted({spec.node_class for spec in specs})


def node_pool(spec: NodePoolSpec, eks: EksSpec, prefix: str = "") -> dict[str, Any]:
    """A karpenter.sh/v1 NodePool whose nodes only take pods that tolerate its taint.
    `prefix` goes before the cluster-scoped names, its own and its node class's
    (EksFleetSpec.pool_prefix)."""
    name = f"{prefix}{spec.name}"
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "metadata": {"labels": {POOL_TAINT_KEY: name}},
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": f"{prefix}{spec.node_class}",
                    },
                    "requirements": [
                        # With instance-category c/m/r, arm64 admits the Graviton families
                        # (c6g, m7g, r8g...); the AL2023 alias has an AMI for each architecture.
                        {"key": ARCH_LABEL, "operator": "In", "values": list(spec.architectures)},
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
                    "taints": [{"key": POOL_TAINT_KEY, "value": name, "effect": "NoSchedule"}],
                    "expireAfter": EXPIRE_AFTER,
                    "terminationGracePeriod": node_termination_grace(eks),
                },
            },
            "limits": {"cpu": str(spec.cpu_limit)},
            "disruption": {
                "consolidationPolicy": spec.consolidation_policy,
                "consolidateAfter": spec.consolidate_after,
            },
        },
    }


def ec2_node_class(
    name: str,
    role_name: str,
    subnet_ids: Sequence[str],
    security_group_id: str,
    ami_alias: str,
    tags: dict[str, str],
) -> dict[str, Any]:
    """A karpenter.k8s.aws/v1 EC2NodeClass: a pinned AL2023 alias, the private subnets and the
    cluster security group selected by id (nothing is tagged for discovery, so an existing VPC
    is left untouched), IMDSv2 only and out of reach of pods (hop limit 1)."""
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": {
            "role": role_name,
            "amiSelectorTerms": [{"alias": ami_alias}],
            "subnetSelectorTerms": [{"id": subnet_id} for subnet_id in subnet_ids],
            "securityGroupSelectorTerms": [{"id": security_group_id}],
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
