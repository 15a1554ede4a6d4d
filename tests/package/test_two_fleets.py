"""Two fleets in one program: an ECS fleet and an EKS fleet beside it, each twice, with their
own names and prefixes. The engine refuses a second registration of a URN (the recorder raises
DuplicateUrnError as it does), and AWS refuses a second resource of one physical name: every
name-like input of one fleet must differ from the other's."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pulumi
import pytest

from components.domain.specs import EcsFleetSpec, EksFleetSpec, RunnerSpec
from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs
from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs
from components.offline.mocks import Plan, RecordedResource, record
from components.shared.network import VpcRefs
from components.topology import StackResult
from tests.harness import sentinel

# Inputs that become a physical name (or part of one) in AWS or Kubernetes.
NAME_INPUTS = ("name", "namePrefix", "functionName", "family", "roleName", "bucketPrefix")
# Names unique only within another resource (a hook within its group, an inline policy
# within its role): equal names in two fleets are two different things.
SCOPED_NAMES = {"aws:autoscaling/lifecycleHook:LifecycleHook", "aws:iam/rolePolicy:RolePolicy"}
VPC = VpcRefs("vpc-0123456789abcdef0", ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"])


def _fleets(_warn: Any) -> StackResult:
    runners = (RunnerSpec("build"), RunnerSpec("build-spot", lane="spot"))
    tokens = {r.name: pulumi.Output.secret(sentinel(r.name)) for r in runners}
    for team in ("web", "data"):
        EcsFargateRunner(
            f"{team}-ecs",
            EcsFargateRunnerArgs(
                fleet=EcsFleetSpec("https://gitlab.com", runners),
                network=VPC,
                name_prefix=f"{team}-runners",
                metrics_namespace=f"{team}/runners",
                tokens=tokens,
                tags={"team": team},
            ),
        )
        EksFargateRunner(
            f"{team}-eks",
            EksFargateRunnerArgs(
                fleet=EksFleetSpec("https://gitlab.com", runners),
                network=VPC,
                cluster_name=f"{team}-k8s-runners",
                name_prefix=f"{team}-k8s-runners",
                metrics_namespace=f"{team}/k8s-runners",
                tokens=tokens,
                tags={"team": team},
            ),
        )
    return StackResult(outputs={}, rendered_files={})


@pytest.fixture(scope="module")
def plan() -> Plan:
    return record(_fleets, {})


def _aws_names(resource: RecordedResource) -> list[str]:
    return [
        resource.inputs[key]
        for key in NAME_INPUTS
        if isinstance(resource.inputs.get(key), str) and resource.inputs[key]
    ]


def test_no_urn_is_registered_twice(plan: Plan) -> None:
    urns = Counter(r.urn for r in plan.resources)
    assert [u for u, n in urns.items() if n > 1] == []
    fleets = [r for r in plan.resources if r.parent is None or r.parent.endswith("::dev")]
    assert len([r for r in plan.resources if "EcsFargateRunner" in r.type]) == 2, fleets


def test_no_physical_name_is_used_twice(plan: Plan) -> None:
    """Kubernetes objects live in their own fleet's cluster (their own provider), so only
    names in one account count: AWS resources."""
    aws_resources = [
        r
        for r in plan.resources
        if r.type.startswith(("aws:", "eks:")) and r.type not in SCOPED_NAMES
    ]
    names = Counter((r.type, n) for r in aws_resources for n in _aws_names(r))
    assert [k for k, n in names.items() if n > 1] == []
    assert len(names) > 20  # the check sees the fleets' names
