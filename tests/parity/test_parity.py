"""Plan parity: today's plans of the stacks in tests/parity/stacks.py equal the committed
baseline (tests/parity/baseline/<stack>.json): same resources, URNs, parents, redacted inputs
and engine options. A refactor that must change no resource (issue 24) keeps this green; after
an intended change, review the failure's diff, then refresh the baseline with
`venv/bin/python -m tests.parity --update` and review `git diff tests/parity/baseline`.
The example stack's plans are the session's own (tests/conftest.py)."""

from __future__ import annotations

import copy

import pytest

from components.offline.mocks import Plan
from tests.parity import REFRESH_COMMAND, STACKS, difference, plan_of, snapshot, stored

SESSION_PLANS = {"ecs-dev": "ecs_dev_plan", "eks-dev": "eks_dev_plan"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_matches_the_baseline(stack: str, request: pytest.FixtureRequest) -> None:
    fixture = SESSION_PLANS.get(stack)
    plan: Plan = request.getfixturevalue(fixture) if fixture else plan_of(stack)
    found = difference(stack, stored(stack), snapshot(plan))
    assert found is None, f"{found}\nif intended, refresh: {REFRESH_COMMAND}"


def test_the_baseline_is_not_empty_and_names_every_kind_of_option() -> None:
    """Guards the test itself: it compares real resources and the options the order model
    reads, not empty lists."""
    resources = [r for stack in STACKS for r in stored(stack)["resources"]]
    assert len(resources) > 1000
    options = {key for r in resources for key in r["options"]}
    assert {
        "dependencies",
        "property_dependencies",
        "deleted_with",
        "aliases",
        "ignore_changes",
        "custom_timeouts",
        "provider",
    } <= options


def test_a_changed_input_is_named_with_its_resource_and_field(ecs_dev_plan: Plan) -> None:
    old = snapshot(ecs_dev_plan)
    new = copy.deepcopy(old)
    (target,) = [r for r in new["resources"] if r["name"] == "ecs-cluster"]
    target["inputs"]["name"] = "renamed"
    del new["resources"][0]
    found = difference("ecs-dev", old, new)
    assert found is not None
    assert f"- {old['resources'][0]['urn']}" in found
    assert f"~ {target['urn']}\n    inputs.name: was " in found and 'now "renamed"' in found
    assert difference("ecs-dev", old, copy.deepcopy(old)) is None
