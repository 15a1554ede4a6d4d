"""IAM's limit on a role's inline policies (10,240 characters, whitespace not counted; FACTS 9):
the manager role's policies must stay under it however long the catalogue is. Every role of
the merged worst case (observability, alerts, spot, 12 shards, arm64 entries) is checked in
tests/ecs/test_merged_scopes.py."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

from components.ecs.iam import ROLE_INLINE_POLICY_LIMIT
from components.offline.mocks import MOCK_ACCOUNT, Plan, evaluate
from tests.ecs.support import ROLE_POLICY, big_catalogue
from tests.harness import dev_config

# A long but real stack name and the longest region name stretch every ARN the policy names.
STACK = "platform-ci-production-eu-central-shared"
REGION = "ap-southeast-1"
# Auto-named resources get a random suffix the mocks do not add: Pulumi's "-" + 7 characters,
# 26 for an S3 bucket_prefix. Every ARN in a document is counted as that much longer.
SUFFIX_ALLOWANCE = 26


@cache
def catalogue_plan(entries: int) -> Plan:
    config = dev_config()
    config["ecs"] = {
        **config["ecs"],
        "taskDefinitions": big_catalogue(entries),
    }
    return evaluate(config, stack=STACK, extra_config={"aws:region": REGION})


def manager_inline_documents(plan: Plan) -> list[str]:
    return [r.inputs["policy"] for r in plan.all(ROLE_POLICY) if r.name.startswith("ecs-manager")]


def real_size(document: str) -> int:
    """What IAM counts (whitespace stripped), with every ARN as long as AWS would make it."""
    return len(re.sub(r"\s", "", document)) + document.count("arn:") * SUFFIX_ALLOWANCE


@pytest.mark.parametrize("entries", [1, 2, 60])
def test_the_manager_roles_inline_policies_fit_iams_limit(entries: int) -> None:
    plan = catalogue_plan(entries)
    assert len([r for r in plan.all("aws:iam/role:Role") if "-task-" in r.name]) == entries
    documents = manager_inline_documents(plan)
    assert len(documents) == 2  # the manager policy and the lifecycle policy
    total = sum(real_size(d) for d in documents)
    assert total <= ROLE_INLINE_POLICY_LIMIT, total
    # Scoped by family prefix and role path, the size does not grow with the catalogue.
    assert total == sum(real_size(d) for d in manager_inline_documents(catalogue_plan(1)))


def test_listing_every_family_and_role_would_not_fit() -> None:
    """What the scoping replaced: one RunTask ARN and one PassRole ARN per entry."""
    plan = catalogue_plan(60)
    ecs = f"arn:aws:ecs:{REGION}:{MOCK_ACCOUNT}:task-definition"
    listed = [
        f"{ecs}/{r.inputs['family']}:*" for r in plan.all("aws:ecs/taskDefinition:TaskDefinition")
    ]
    listed += [
        f"arn:aws:iam::{MOCK_ACCOUNT}:role{r.inputs['path']}{r.name}"
        for r in plan.all("aws:iam/role:Role")
        if "-task-" in r.name
    ]
    assert len(listed) == 120
    base = sum(real_size(d) for d in manager_inline_documents(plan))
    assert base + sum(len(json.dumps(a)) + SUFFIX_ALLOWANCE for a in listed) > (
        ROLE_INLINE_POLICY_LIMIT
    )
