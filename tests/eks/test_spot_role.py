"""The account-wide EC2 Spot service-linked role is never deleted by the stack: other teams'
Spot usage in the account may rely on it (docs/eks-operations.md, "Spot in a fresh account").
How it is found, created or adopted is tested in tests/eks/test_day2.py."""

from __future__ import annotations

import copy

from components.offline.mocks import Plan
from components.offline.order import removal, skipped_deletes
from tests.eks.support import FULL_RUNNERS, eks_config
from tests.harness import run_program

SLR = "aws:iam/serviceLinkedRole:ServiceLinkedRole"


def test_removing_the_last_spot_runner_keeps_the_role(full_plan: Plan) -> None:
    """The role leaves the stack's state, but its delete calls no provider."""
    without_spot = [r for r in copy.deepcopy(FULL_RUNNERS) if r.get("lane") != "spot"]
    after = run_program(eks_config(runners=without_spot, eks={"managerPlacement": "ec2"}))
    role = full_plan.one(SLR)
    deleted = [r.urn for wave in removal(full_plan, after) for r in wave]
    assert role.urn in deleted and after.all(SLR) == []
    assert role.urn in skipped_deletes(full_plan, deleted)


def test_destroy_keeps_the_role_and_nothing_else(full_plan: Plan) -> None:
    """README "Teardown": of what the program declares, only the account-wide Spot role stays
    (the pull-through cache's repositories were never the stack's)."""
    destroyed = Plan(resources=[], outputs={}, redacted_outputs={}, rendered_files={})
    deleted = [r.urn for wave in removal(full_plan, destroyed) for r in wave]
    assert len(deleted) == len(full_plan.resources)
    by_urn = {r.urn: r for r in full_plan.resources}
    retained = {u for u in skipped_deletes(full_plan, deleted) if by_urn[u].retain_on_delete}
    assert retained == {full_plan.one(SLR).urn}
