"""EKS checks that need the parsed runners, cluster and network together: job pods that fit
Fargate, a poll timeout that outlasts Fargate's launch rate, an API endpoint someone can reach,
one admin access entry per principal."""

from __future__ import annotations

import math

from components.config.model import EksSpec, NetworkSpec, RunnerSpec
from components.config.reader import Reader
from components.domain.eks_sizing import minimum_poll_timeout
from components.domain.fargate_sizes import FARGATE_SIZES
from components.domain.lane_rules import pod_room_problems
from components.domain.section_rules import admin_principal_problems
from components.domain.specs import KARPENTER_EXISTING

FARGATE_MAX_CPU = max(FARGATE_SIZES)
FARGATE_MAX_MEMORY_MIB = FARGATE_SIZES[FARGATE_MAX_CPU][-1]
# Jobs commonly run a database and a cache as services: warn when fewer than two fit.
FEW_SERVICES = 2
PRIVATE_ACCESS_FIX = (
    "pulumi config set --path 'eks.privateAccessCidrs[0]' <your VPN or bastion CIDR> (or "
    "eks.privateAccessSecurityGroupIds[0] <sg-...>), or set eks.endpointAccess public"
)


def check_private_endpoint(r: Reader, eks: EksSpec, network: NetworkSpec) -> None:
    """With a private-only endpoint, only the cluster security group's members reach the API
    (it admits only itself): the Kubernetes provider of `pulumi up` would time out."""
    if eks.endpoint_access != "private":
        return
    if eks.private_access_cidrs or eks.private_access_security_group_ids:
        return
    message = (
        "eks.endpointAccess: private with neither eks.privateAccessCidrs nor "
        "eks.privateAccessSecurityGroupIds admits nobody to the Kubernetes API but the cluster "
        "security group itself"
    )
    if network.uses_existing_vpc:
        r.warn(
            f"{message}: unless this deployment runs from inside that group, `pulumi up` times "
            f"out after the cluster exists; {PRIVATE_ACCESS_FIX} (docs/eks-operations.md)"
        )
    else:
        r.problem(
            f"{message}, and nothing can be inside a VPC this stack creates yet, so `pulumi up` "
            f"cannot reach the cluster it creates; {PRIVATE_ACCESS_FIX}"
        )


def check_eks_poll_timeout(r: Reader, runners: list[RunnerSpec], eks: EksSpec) -> None:
    """Job pods launched in one burst queue at Fargate's launch rate: the last one must still
    start within poll_timeout."""
    fargate_jobs = sum(x.concurrency for x in runners if x.lane == "fargate")
    needed = minimum_poll_timeout(fargate_jobs)
    if eks.poll_timeout_seconds < needed:
        r.warn(
            f"eks.pollTimeoutSeconds: {eks.poll_timeout_seconds} s may be too short for "
            f"{fargate_jobs} Fargate jobs starting at once (about {needed} s at Fargate's "
            f"launch rate); raise it to at least {needed}"
        )


def _services_that_fit(room_cpu: float, room_memory: float, eks: EksSpec) -> int:
    """How many `services:` containers fit in the room left beside the configured pod."""
    return max(0, math.floor(min(room_cpu / eks.service_cpu, room_memory / eks.service_memory)))


def check_fargate_lane_pods(r: Reader, i: int, runner: RunnerSpec, eks: EksSpec) -> None:
    """A Fargate job pod is build + helper (the runner's size, overhead included) plus one
    eks.serviceCpu/serviceMemory per `services:` container; above Fargate's largest size no
    Fargate node exists and the pod stays Pending until poll_timeout (FACTS.md 4, 6)."""
    fits = _services_that_fit(
        FARGATE_MAX_CPU - runner.cpu, FARGATE_MAX_MEMORY_MIB - runner.memory, eks
    )
    if fits < FEW_SERVICES:
        r.warn(
            f"runners[{i}] ({runner.name}): jobs with more than {fits} `services:` "
            f"container{'s' if fits != 1 else ''} stay Pending until eks.pollTimeoutSeconds: "
            f"cpu {runner.cpu} / memory {runner.memory} plus eks.serviceCpu {eks.service_cpu} / "
            f"eks.serviceMemory {eks.service_memory} per service passes Fargate's largest size "
            f"(cpu {FARGATE_MAX_CPU} / memory {FARGATE_MAX_MEMORY_MIB}); lower the runner's "
            "size or the service size, or use the spot lane for those jobs"
        )


def check_eks_pod_room(r: Reader, runners: list[RunnerSpec], eks: EksSpec) -> None:
    for i, runner in enumerate(runners):
        if runner.lane == "fargate":
            check_fargate_lane_pods(r, i, runner, eks)
    r.report(*pod_room_problems(runners, eks))


def check_admin_principals(r: Reader, eks: EksSpec) -> None:
    r.report(*admin_principal_problems(eks))


# eks keys that shape a cluster this stack creates; with eks.existingCluster they change nothing.
CLUSTER_ONLY_KEYS = (
    "kubernetesVersion",
    "clusterLogTypes",
    "adminRoleArns",
    "endpointAccess",
    "publicAccessCidrs",
    "privateAccessCidrs",
    "privateAccessSecurityGroupIds",
)
BRING_YOUR_OWN = "docs/bring-your-own.md"


def check_karpenter_mode(r: Reader, existing_cluster: str | None, karpenter: str) -> None:
    """A cluster this stack creates has no Karpenter but its own."""
    if karpenter == KARPENTER_EXISTING and existing_cluster is None:
        r.problem(
            f"eks.karpenter: '{karpenter}' means the cluster already runs Karpenter v1, which "
            "only a cluster you bring can (eks.existingCluster); remove eks.karpenter, or set "
            f"eks.existingCluster to that cluster's name ({BRING_YOUR_OWN})"
        )


def warn_cluster_keys_ignored(r: Reader, cluster: str, raw: object) -> None:
    """Keys set for a cluster of this stack's own, which another's cluster does not get."""
    data = raw if isinstance(raw, dict) else {}
    for key in CLUSTER_ONLY_KEYS:
        if key in data:
            r.warn(
                f"eks.{key} is set but ignored with eks.existingCluster '{cluster}': the "
                "cluster's version, endpoint, logs and access entries are its owner's, and "
                f"preview checks its own version; remove eks.{key} ({BRING_YOUR_OWN})"
            )


def check_existing_cluster_network(
    r: Reader, cluster: str, network: NetworkSpec, raw_network: object
) -> None:
    """The fleet's Fargate profiles and Karpenter nodes go into the cluster's VPC, in subnets
    this stack cannot guess: the VPC must be given (preview checks it is the cluster's)."""
    if not network.uses_existing_vpc:
        r.problem(
            f"eks.existingCluster: '{cluster}' needs network.vpcId and network.privateSubnetIds: "
            "the cluster's VPC and the private subnets (with egress) its Fargate pods and "
            "Karpenter nodes use; a new VPC cannot hold them. Set them from `aws eks "
            f"describe-cluster --name {cluster} --query cluster.resourcesVpcConfig` "
            f"({BRING_YOUR_OWN})"
        )
    data = raw_network if isinstance(raw_network, dict) else {}
    if "publicSubnetIds" in data:
        r.warn(
            f"network.publicSubnetIds is set but ignored with eks.existingCluster '{cluster}': "
            "public subnets only shape a cluster this stack creates (where Kubernetes puts "
            f"internet-facing load balancers); remove it ({BRING_YOUR_OWN})"
        )
