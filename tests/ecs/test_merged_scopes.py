"""The merged worst case: every piece that adds IAM statements or resources at once (a 60-entry
catalogue, half of it arm64, with a task role each; observability with alerts.email; a spot
runner; 12 manager shards), checked for what no branch saw alone.

- Size: every role's inline policies stay under IAM's 10,240 characters (FACTS 9), and none
  grows with the number of shards or catalogue entries, so no count breaks it (the reaper's
  policy listed one ARN per shard and passed the limit at about 50).
- Scope: every task family, every role a task definition names and every manager group the
  stack creates is matched (fnmatch, as IAM matches `*`) by the statement that must reach it:
  a family or group outside its scope breaks jobs, drains or the destroy at run time, which
  mocks never show.
"""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from typing import Any

import pytest

from components.ecs.iam import ROLE_INLINE_POLICY_LIMIT
from components.offline.mock_answers import state_for
from components.offline.mocks import Plan, evaluate
from tests.ecs.support import (
    ASG,
    CLUSTER,
    ROLE_POLICY,
    TASK_DEFINITION,
    big_catalogue,
)
from tests.ecs.test_iam_size import REGION, STACK, real_size
from tests.harness import dev_config, sentinel
from tests.offline.invariants import alarms_go_first, drains_first, egress_outlives

RUNNERS = ("build", "spot")


@cache
def merged_plan(shards_per_runner: int, entries: int) -> Plan:
    config = dev_config(
        runners=[
            {"name": "build", "tags": ["build"], "concurrency": 20 * shards_per_runner},
            {
                "name": "spot",
                "lane": "spot",
                "tags": ["spot"],
                "concurrency": 20 * shards_per_runner,
            },
        ],
        runnerTokens={name: sentinel(name) for name in RUNNERS},
        observability={"enabled": True},
        alerts={"email": "ci-oncall@example.com"},
    )
    config["ecs"] = {
        **config["ecs"],
        "maxJobsPerManager": 20,
        "taskDefinitions": big_catalogue(entries, arm64_every_other=True),
    }
    return evaluate(config, stack=STACK, extra_config={"aws:region": REGION})


def worst() -> Plan:
    return merged_plan(6, 60)


def arn_of(type_: str, name: str, inputs: dict[str, Any]) -> str:
    """The ARN the mocks give the resource (logical names; real ones only add a suffix,
    which every pattern checked here ends in a wildcard for)."""
    return state_for(type_, name, inputs, REGION)["arn"]


def policy_sizes(plan: Plan) -> dict[str, int]:
    """Role (by its policies' role input) -> what IAM counts of all its inline policies."""
    sizes: dict[str, int] = {}
    for policy in plan.all(ROLE_POLICY):
        role = str(policy.inputs["role"])
        sizes[role] = sizes.get(role, 0) + real_size(policy.inputs["policy"])
    return sizes


def statements(plan: Plan, policy: str, action: str) -> list[dict[str, Any]]:
    document = json.loads(plan.one(ROLE_POLICY, policy).inputs["policy"])
    found = []
    for statement in document["Statement"]:
        actions = statement["Action"]
        if action in ([actions] if isinstance(actions, str) else actions):
            found.append(statement)
    assert found, f"{policy} has no statement for {action}"
    return found


def matches(arn: str, statement: dict[str, Any]) -> bool:
    resources = statement["Resource"]
    patterns = [resources] if isinstance(resources, str) else resources
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


def tag_condition_holds(statement: dict[str, Any], tags: dict[str, str]) -> bool:
    wanted = (statement.get("Condition") or {}).get("StringEquals", {})
    return all(
        tags.get(key.removeprefix("aws:ResourceTag/")) == value
        for key, value in wanted.items()
        if key.startswith("aws:ResourceTag/")
    )


def test_the_worst_case_really_is_merged() -> None:
    """Guards the fixture: every piece is there, or the checks below prove little."""
    plan = worst()
    assert len(plan.all(ASG)) == 12
    arches = [
        (r.inputs.get("runtimePlatform") or {}).get("cpuArchitecture")
        for r in plan.all(TASK_DEFINITION)
    ]
    assert arches.count("ARM64") == 30 and len(arches) == 60
    assert len(plan.all(CLUSTER)) == 2  # on-demand and spot
    assert plan.all("aws:sns/topicSubscription:TopicSubscription")
    assert any(s["Sid"] == "ShipRunnerMetrics" for s in statements_of(plan, "ecs-manager-policy"))


def statements_of(plan: Plan, policy: str) -> list[dict[str, Any]]:
    return json.loads(plan.one(ROLE_POLICY, policy).inputs["policy"])["Statement"]


def test_every_roles_inline_policies_fit_iams_limit_in_the_merged_worst_case() -> None:
    sizes = policy_sizes(worst())
    assert len(sizes) == 4  # manager, execution, reaper, reaper's scheduler
    assert max(sizes.values()) <= ROLE_INLINE_POLICY_LIMIT, sizes


def test_no_roles_policies_grow_with_shards_or_catalogue_entries() -> None:
    """The one-shard, one-entry stack and the worst case carry policies of the same sizes:
    whatever scales is named by prefix, path or tag, never listed."""
    assert policy_sizes(worst()) == policy_sizes(merged_plan(1, 1))


@pytest.mark.parametrize("plan", [worst, lambda: merged_plan(1, 1)], ids=["worst", "smallest"])
def test_every_family_and_role_the_stack_creates_is_in_the_managers_scope(plan: Any) -> None:
    plan = plan()
    (run_task,) = statements(plan, "ecs-manager-policy", "ecs:RunTask")
    (pass_role,) = statements(plan, "ecs-manager-policy", "iam:PassRole")
    clusters = sorted(arn_of(CLUSTER, c.name, c.inputs) for c in plan.all(CLUSTER))
    assert run_task["Condition"] == {"ArnEquals": {"ecs:cluster": clusters}}
    for definition in plan.all(TASK_DEFINITION):
        arn = arn_of(TASK_DEFINITION, definition.name, definition.inputs)
        assert matches(arn, run_task), arn
        for role in ("taskRoleArn", "executionRoleArn"):
            assert matches(definition.inputs[role], pass_role), definition.inputs[role]


def test_every_manager_group_is_in_the_drains_and_the_reapers_scope() -> None:
    """The manager completes its own group's hook, the destroy drain scales every group to
    zero: both reach each group the stack creates, by its ARN and its tags."""
    plan = worst()
    (lifecycle,) = statements(
        plan, "ecs-manager-lifecycle-policy", "autoscaling:CompleteLifecycleAction"
    )
    (retire,) = statements(plan, "ecs-reaper-policy", "autoscaling:UpdateAutoScalingGroup")
    for group in plan.all(ASG):
        arn = arn_of(ASG, group.name, group.inputs)
        tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
        for statement in (lifecycle, retire):
            assert matches(arn, statement) and tag_condition_holds(statement, tags), (
                group.name,
                statement["Sid"],
            )


def test_the_task_event_rule_and_its_log_policy_cover_every_cluster() -> None:
    plan = worst()
    rule = plan.one("aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    clusters = sorted(arn_of(CLUSTER, c.name, c.inputs) for c in plan.all(CLUSTER))
    assert sorted(pattern["detail"]["clusterArn"]) == clusters
    target = plan.one("aws:cloudwatch/eventTarget:EventTarget").inputs["arn"]
    policy = json.loads(
        plan.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy").inputs["policyDocument"]
    )
    (statement,) = policy["Statement"]
    assert matches(f"{target}:log-stream:x", statement)


AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/gitlab-runner-manager.json"
HEREDOC = "__GITLAB_RUNNER_MANAGER_EOF__"


def agent_config(user_data: str) -> dict[str, Any]:
    """The CloudWatch agent's configuration as the user data writes it."""
    start = user_data.index(f"cat > {AGENT_CONFIG} <<'{HEREDOC}'\n")
    body = user_data[start:].split("\n", 1)[1]
    return json.loads(body.split(f"\n{HEREDOC}\n", 1)[0])


def test_every_managers_agent_writes_where_the_manager_may() -> None:
    plan = worst()
    (ship,) = [
        s for s in statements_of(plan, "ecs-manager-policy") if s["Sid"] == "ShipRunnerMetrics"
    ]
    user_data = {k: v for k, v in plan.rendered_files.items() if k.endswith("user-data.txt")}
    assert len(user_data) == 12
    for shard, text in user_data.items():
        group = agent_config(text)["logs"]["metrics_collected"]["prometheus"]["log_group_name"]
        arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{group}"
        assert matches(arn, ship) and matches(f"{arn}:log-stream:i-0/x", ship), shard


def test_the_order_invariants_hold_in_the_merged_worst_case() -> None:
    """12 shards, each with its alarm, and both clusters: the destroy still drains before
    what it drains, keeps egress until the managers are gone and pages nobody."""
    plan = worst()
    assert drains_first(plan) == []
    assert egress_outlives(plan) == []
    assert alarms_go_first(plan) == []
