"""Every IAM document of ECS mode: scoped resources, conditions, no wildcards, lint-clean."""

from __future__ import annotations

import json
from typing import Any

import pytest
from parliament import analyze_policy_string

from components.ecs.iam import (
    ManagerPolicyScope,
    catalogue_family_pattern,
    manager_policy,
    role_path_pattern,
    task_arn_pattern,
    task_definition_family_arn,
)
from components.ecs.task_definitions import policy_attachment_key
from components.offline.mocks import MOCK_ACCOUNT, Plan
from tests.ecs.support import (
    ATTACHMENT,
    ROLE,
    ROLE_POLICY,
    TASK_ROLE_POLICY,
    actions,
    named,
    policy_document,
    resources,
    statement_for,
    statements,
)

ARN = f"arn:aws:ecs:eu-west-1:{MOCK_ACCOUNT}"
CLUSTERS = [f"{ARN}:cluster/gitlab-runners-dev", f"{ARN}:cluster/gitlab-runners-dev-spot"]
# The only actions that have no resource-level permissions and so need "*" (ecs:ListTasks
# keeps an ecs:cluster condition; the rest are read-only lookups).
STAR_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:ListTasks",
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "ec2:DescribeInstances",
}
SEVERITY_ORDER = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


def all_documents(plan: Plan) -> dict[str, dict[str, Any]]:
    """Inline policies and trust policies of every role the ECS component creates."""
    documents = {r.name: json.loads(r.inputs["policy"]) for r in plan.all(ROLE_POLICY)}
    for role in plan.all(ROLE):
        documents[f"{role.name} (trust)"] = json.loads(role.inputs["assumeRolePolicy"])
    return documents


PLANS = {
    "dev": "ecs_dev_plan",
    "existing-vpc": "ecs_existing_vpc_plan",
    "sharded": "ecs_sharded_plan",
}


@pytest.mark.parametrize("plan_name", PLANS)
def test_no_wildcard_action_and_star_resource_only_where_unavoidable(
    plan_name: str, request: pytest.FixtureRequest
) -> None:
    documents = all_documents(request.getfixturevalue(PLANS[plan_name]))
    assert len(documents) >= 4  # manager + execution policies, their trust policies
    for name, document in documents.items():
        for statement in statements(document):
            assert statement["Effect"] == "Allow"
            for action in actions(statement):
                assert "*" not in action, f"{name}: {action}"
            if "Resource" in statement and "*" in resources(statement):
                assert set(actions(statement)) <= STAR_RESOURCE_ACTIONS, name


def _outdated_parliament_data(finding: Any) -> bool:
    """parliament's bundled IAM data predates repository scoping of BatchImportUpstreamImage,
    which AWS documents as grantable per repository (pull-through-cache-iam.html)."""
    return finding.issue == "RESOURCE_MISMATCH" and finding.detail == [
        {"action": "ecr:BatchImportUpstreamImage", "required_format": "*"}
    ]


@pytest.mark.parametrize("plan_name", PLANS)
def test_parliament_finds_nothing_above_low(plan_name: str, request: pytest.FixtureRequest) -> None:
    for name, document in all_documents(request.getfixturevalue(PLANS[plan_name])).items():
        if name.endswith("(trust)"):
            continue  # parliament lints identity policies; trust policies are checked below
        findings = analyze_policy_string(json.dumps(document)).findings
        # ecs:ListTasks on "*" bound by ecs:cluster is the reaper's only working form (see
        # tests/ecs/test_reaper.py); parliament reports it with an empty severity.
        serious = [
            (f.issue, f.detail)
            for f in findings
            if not _outdated_parliament_data(f)
            and (f.issue, f.detail) != ("RESOURCE_STAR", ["ecs:ListTasks"])
            and SEVERITY_ORDER.index(f.severity) > SEVERITY_ORDER.index("LOW")
        ]
        assert serious == [], f"{name}: {serious}"


def test_parliament_would_flag_a_bad_policy() -> None:
    """The lint above can fail: an unknown action is reported."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecs:RunTasks", "Resource": "*"}],
    }
    assert analyze_policy_string(json.dumps(bad)).findings


def test_manager_runs_only_catalogue_tasks_in_its_own_clusters(ecs_dev_plan: Plan) -> None:
    document = policy_document(ecs_dev_plan, "ecs-manager-policy")
    run = statement_for(document, "ecs:RunTask")
    assert actions(run) == ["ecs:RunTask"]
    # Every revision of the stack's families (gitlab-runners-dev-debian, -node): one ARN.
    assert resources(run) == [f"{ARN}:task-definition/gitlab-runners-dev-*:*"]
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": CLUSTERS}}
    watch = statement_for(document, "ecs:StopTask")
    assert sorted(actions(watch)) == ["ecs:DescribeTasks", "ecs:StopTask"]
    assert set(resources(watch)) == {
        f"{ARN}:task/gitlab-runners-dev/*",
        f"{ARN}:task/gitlab-runners-dev-spot/*",
    }
    assert watch["Condition"] == {"ArnEquals": {"ecs:cluster": CLUSTERS}}


def test_manager_passes_only_the_job_roles_and_only_to_ecs_tasks(
    ecs_dev_plan: Plan, ecs_existing_vpc_plan: Plan
) -> None:
    plan = ecs_existing_vpc_plan
    document = policy_document(plan, "ecs-manager-policy")
    pass_role = statement_for(document, "iam:PassRole")
    # The job roles, and only they, live under the stack's path: one ARN covers them all.
    path = "/gitlab-runners-dev/"
    assert resources(pass_role) == [f"arn:aws:iam::{MOCK_ACCOUNT}:role{path}*"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    for p in (plan, ecs_dev_plan):
        under_path = sorted(r.name for r in p.all(ROLE) if r.inputs.get("path") == path)
        task_roles = sorted(r.name for r in p.all(ROLE) if r.name.startswith("ecs-task-"))
        assert under_path == sorted(["ecs-execution-role", *task_roles])
    assert [r.name for r in plan.all(ROLE) if r.name.startswith("ecs-task-")] == [
        "ecs-task-node-role"
    ]


def test_manager_reads_only_its_secret_and_writes_only_its_log_group(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    document = policy_document(plan, "ecs-manager-policy")
    secret = statement_for(document, "secretsmanager:GetSecretValue")
    assert actions(secret) == ["secretsmanager:GetSecretValue"]
    assert resources(secret) == [plan.outputs["runnerTokenSecretArn"]]
    by_sid = {s["Sid"]: s for s in statements(document)}
    prefix = f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT}:log-group:/gitlab-runners-dev"
    # Its own logs, and the CloudWatch agent's EMF events of the runners' metrics.
    for sid, group in (("ShipManagerLogs", "manager"), ("ShipRunnerMetrics", "metrics")):
        logs = by_sid[sid]
        assert resources(logs) == [f"{prefix}/{group}", f"{prefix}/{group}:*"]
        assert sorted(actions(logs)) == [
            "logs:CreateLogStream",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
        ]
    granted = {a for s in statements(document) for a in actions(s)}
    assert granted == {
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "iam:PassRole",
        "secretsmanager:GetSecretValue",
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        # the build cache, scoped in tests/shared/test_cache.py
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
    }


def test_manager_managed_policies_are_ssm_core_only(
    ecs_dev_plan: Plan, ecs_existing_vpc_plan: Plan
) -> None:
    for plan in (ecs_dev_plan, ecs_existing_vpc_plan):
        attached = {
            r.inputs["policyArn"] for r in plan.all(ATTACHMENT) if r.name.startswith("ecs-manager")
        }
        assert attached == {"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}
        everything = json.dumps([r.inputs for r in plan.resources], default=str)
        assert "FullAccess" not in everything and "AdministratorAccess" not in everything


def test_roles_trust_only_their_service(ecs_existing_vpc_plan: Plan) -> None:
    plan = ecs_existing_vpc_plan
    manager = json.loads(named(plan, ROLE, "ecs-manager-role")["assumeRolePolicy"])
    assert manager["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    for role in ("ecs-execution-role", "ecs-task-node-role"):
        trust = json.loads(named(plan, ROLE, role)["assumeRolePolicy"])
        assert trust["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}},
            }
        ]
    task_policy = named(
        plan, ATTACHMENT, f"ecs-task-node-{policy_attachment_key(TASK_ROLE_POLICY)}"
    )
    assert task_policy["policyArn"] == TASK_ROLE_POLICY
    assert plan.all(ROLE) and not [r for r in plan.all(ROLE) if r.name == "ecs-task-debian-role"]


def test_execution_role_pulls_from_own_ecr_and_writes_job_logs_only(ecs_dev_plan: Plan) -> None:
    document = policy_document(ecs_dev_plan, "ecs-execution-policy")
    pull = statement_for(document, "ecr:BatchGetImage")
    assert resources(pull) == [f"arn:aws:ecr:eu-west-1:{MOCK_ACCOUNT}:repository/*"]
    logs = statement_for(document, "logs:PutLogEvents")
    group = f"arn:aws:logs:eu-west-1:{MOCK_ACCOUNT}:log-group:/gitlab-runners-dev/jobs"
    assert resources(logs) == [group, f"{group}:*"]


def test_arn_helpers_reject_what_they_cannot_scope() -> None:
    with pytest.raises(ValueError, match="not a p- family"):
        catalogue_family_pattern([f"{ARN}:task-definition/q-debian:1"], "p")
    with pytest.raises(ValueError, match="not under the path"):
        role_path_pattern(["arn:aws:iam::1:role/p-2/x"], "/p/")
    with pytest.raises(ValueError, match="starts and ends"):
        role_path_pattern(["arn:aws:iam::1:role/p/x"], "/p")
    assert task_definition_family_arn(f"{ARN}:task-definition/f:12") == (
        f"{ARN}:task-definition/f:*"
    )
    assert task_arn_pattern(f"{ARN}:cluster/c") == f"{ARN}:task/c/*"
    with pytest.raises(ValueError):
        task_definition_family_arn(f"{ARN}:cluster/c")
    with pytest.raises(ValueError):
        task_arn_pattern(f"{ARN}:task-definition/f:1")


def test_manager_policy_is_deterministic() -> None:
    scope = ManagerPolicyScope(
        cluster_arns=list(reversed(CLUSTERS)),
        task_definition_arns=[f"{ARN}:task-definition/p-b:1", f"{ARN}:task-definition/p-a:2"],
        family_prefix="p",
        passable_role_arns=["arn:aws:iam::1:role/p/x", "arn:aws:iam::1:role/p/x"],
        role_path="/p/",
        secret_arn="arn:aws:secretsmanager:eu-west-1:1:secret:s",
        log_group_arn="arn:aws:logs:eu-west-1:1:log-group:g",
    )
    document = manager_policy(scope)
    assert resources(statement_for(document, "ecs:RunTask")) == [f"{ARN}:task-definition/p-*:*"]
    assert resources(statement_for(document, "iam:PassRole")) == ["arn:aws:iam::1:role/p/*"]
    assert document == manager_policy(scope)
