"""A task role's policy attachments follow the policy, not its place in taskRolePolicyArns.

Keyed by index, reordering the list replaced the attachments create-before-delete: the new
attachment of a role and policy that were already attached is a no-op in IAM, and deleting the
old one afterwards detached the policy, so jobs lost permissions after a routine edit."""

from __future__ import annotations

from typing import Any

import pytest

from components.ecs.task_definitions import policy_attachment_key
from components.offline.mocks import Plan
from components.offline.order import removal, replacements
from tests.harness import dev_config, run_program

ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
DEPLOY = "arn:aws:iam::123456789012:policy/ci/ci-deploy"
ARTIFACTS = "arn:aws:iam::123456789012:policy/ci-artifacts"


def _plan(arns: list[str]) -> Plan:
    config: dict[str, Any] = dev_config()
    entry = {"name": "deploy", "image": "public.ecr.aws/docker/library/debian:12"}
    config["ecs"]["taskDefinitions"].append({**entry, "taskRolePolicyArns": arns})
    return run_program(config)


@pytest.fixture(scope="module")
def three() -> Plan:
    return _plan([READ_ONLY, DEPLOY, ARTIFACTS])


def _attachments(plan: Plan) -> dict[str, str]:
    return {
        r.name: r.inputs["policyArn"]
        for r in plan.all(ATTACHMENT)
        if r.name.startswith("ecs-task-deploy-")
    }


def test_each_attachment_is_named_after_its_policy(three: Plan) -> None:
    assert _attachments(three) == {
        f"ecs-task-deploy-{policy_attachment_key(arn)}": arn
        for arn in (READ_ONLY, DEPLOY, ARTIFACTS)
    }
    assert policy_attachment_key(DEPLOY).startswith("policy-ci-deploy-")
    # Same policy name in another path or account: another attachment name.
    assert policy_attachment_key(DEPLOY) != policy_attachment_key(
        "arn:aws:iam::123456789012:policy/ci-deploy"
    )


def test_stacks_from_before_keep_their_attachments(three: Plan) -> None:
    """Each attachment answers to its old index name, so upgrading recreates none."""
    by_policy = {r.inputs["policyArn"]: r for r in three.all(ATTACHMENT)}
    for index, arn in enumerate((READ_ONLY, DEPLOY, ARTIFACTS)):
        names = [alias.get("name") for alias in by_policy[arn].aliases]
        assert names == [f"ecs-task-deploy-policy-{index}"]


def test_reordering_or_removing_a_policy_touches_only_that_policy(three: Plan) -> None:
    reordered = _plan([ARTIFACTS, READ_ONLY, DEPLOY])
    assert [w for w in removal(three, reordered) if w] == []
    assert [r for r in replacements(three, reordered) if r.after.type == ATTACHMENT] == []
    without_first = _plan([DEPLOY, ARTIFACTS])
    gone = [r.inputs["policyArn"] for wave in removal(three, without_first) for r in wave]
    assert gone == [READ_ONLY]
