"""The always-on Fargate pods preflight and the capacity model count
(components/domain/eks_sizing.py system_fargate_pods) are the pods the program deploys: the
Karpenter controller, CoreDNS at the replica count the cluster gets, the metrics collector
(observability) and the managers placed on Fargate, each at the size Fargate runs its requests.
CoreDNS' requests are the EKS addon's own (100m / 70Mi), not in the plan."""

from __future__ import annotations

import math

import pytest

from components.config import parse_config
from components.domain.eks_sizing import COREDNS_POD
from components.domain.fargate_sizes import fargate_pod_size
from components.eks.placement import COMPUTE_LABEL, FARGATE
from components.offline.mocks import Plan
from components.preflight import FARGATE_ON_DEMAND, quota_needs
from tests.eks.support import FULL_RUNNERS, RELEASE, eks_config
from tests.harness import run_program


def _cpu_m(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def _mib(quantity: str) -> int:
    return int(quantity[:-2]) * (1024 if quantity.endswith("Gi") else 1)


def _vcpu(requests: dict[str, str]) -> float:
    cpu, _ = fargate_pod_size(
        math.ceil(_cpu_m(requests["cpu"]) * 1024 / 1000), _mib(requests["memory"])
    )
    return cpu / 1024


def deployed_fargate_vcpu(plan: Plan) -> float:
    """vCPU of the non-job pods the plan puts on Fargate, read from the recorded inputs."""
    total = 0.0
    for release in plan.all(RELEASE):
        values = release.inputs.get("values") or {}
        if "controller" in values:  # Karpenter, in its Fargate profile's namespace
            total += _vcpu(values["controller"]["resources"]["requests"])
        elif (values.get("podLabels") or {}).get(COMPUTE_LABEL) == FARGATE:  # a manager
            total += _vcpu(values["resources"]["requests"])
    for deployment in plan.all("kubernetes:apps/v1:Deployment"):  # the collector
        replicas = deployment.inputs["spec"]["replicas"]
        for container in deployment.inputs["spec"]["template"]["spec"]["containers"]:
            total += replicas * _vcpu(container["resources"]["requests"])
    coredns = plan.one("eks:index:Cluster").inputs["corednsAddonOptions"]["configurationValues"]
    return total + coredns["replicaCount"] * COREDNS_POD[0]


@pytest.mark.parametrize("placement", ["fargate", "ec2"])
@pytest.mark.parametrize("observability", [True, False])
def test_preflight_counts_the_fargate_pods_the_program_deploys(
    placement: str, observability: bool
) -> None:
    # 450 jobs: 5 CoreDNS replicas; the fargate runner keeps the default 1 vCPU job pod.
    runners = [{**r, "concurrency": 150} for r in FULL_RUNNERS]
    raw = eks_config(
        runners=runners,
        eks={"managerPlacement": placement},
        observability={"enabled": observability},
    )
    plan = run_program(raw)
    config, _ = parse_config(raw)
    need = quota_needs(config)[FARGATE_ON_DEMAND]
    fargate_jobs = sum(
        (1.0 if r.get("lane", "fargate") == "fargate" else 0) * r["concurrency"] for r in runners
    )
    assert need.vcpus - fargate_jobs == pytest.approx(deployed_fargate_vcpu(plan))
