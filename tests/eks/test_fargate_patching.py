"""Fargate OS patching evicts runner managers (issue 22 item 5).

EKS user guide, "Fargate OS patching": EKS patches Fargate pods through the Eviction API,
respecting PodDisruptionBudgets; an eviction a PDB refuses leaves the pod to be deleted at a
date AWS picks ("if Pods aren't successfully evicted, there are times when they must be
deleted"). An allowed eviction is a graceful stop (preStop SIGQUIT within the pod's grace
period). So a Fargate manager gets no PDB that forbids every eviction; a manager on a Karpenter
node keeps one (Karpenter docs, concepts/disruption.md "Pod-Level Controls"; designs/
forceful-expiration.md: blocking pods hold a node until its terminationGracePeriod)."""

from __future__ import annotations

from components.offline.mocks import Plan
from tests.eks.support import release

PDB = "kubernetes:policy/v1:PodDisruptionBudget"


def test_no_pdb_forbids_the_eviction_of_a_fargate_manager(plan: Plan) -> None:
    """`plan`: managers on Fargate (tests/eks/conftest.py)."""
    for runner in ("fargate", "spot"):
        values = release(plan, runner).inputs["values"]
        assert "nodeSelector" not in values  # the manager runs on Fargate
    assert [p for p in plan.all(PDB) if p.inputs["spec"].get("maxUnavailable") == 0] == []


def test_an_evicted_fargate_manager_drains_its_jobs(plan: Plan) -> None:
    """The eviction's graceful stop: SIGQUIT in preStop, a grace period for the longest job."""
    values = release(plan, "fargate").inputs["values"]
    assert "pkill -QUIT" in values["deploymentLifecycle"]["preStop"]["exec"]["command"][2]
    assert values["terminationGracePeriodSeconds"] == 3600 + 300


def test_a_manager_on_a_karpenter_node_keeps_its_pdb(full_plan: Plan) -> None:
    """`full_plan`: managers on EC2: Karpenter waits for it up to terminationGracePeriod."""
    names = {p.name for p in full_plan.all(PDB)}
    assert "eks-runner-spot-manager-pdb" in names
