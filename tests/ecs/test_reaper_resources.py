"""The task reaper's Pulumi resources under mocks: IAM scope, schedule, destroy-time drain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from parliament import analyze_policy_string
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.ecs import reaper_resources
from components.ecs.reaper_resources import TaskReaper, TaskReaperArgs, reaper_policy
from tests.ecs.test_reaper import ACCOUNT, ARN, CLUSTERS, REGION, TIMEOUT

# --------------------------------------------------------------------------------------------
# Pulumi resources under mocks
# --------------------------------------------------------------------------------------------


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    dependencies: list[str]
    urn: str = ""


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        name = args.inputs.get("name", args.name)
        service = {"aws:cloudwatch/logGroup:LogGroup": "logs"}.get(args.typ, "mock")
        kind = "log-group:" if service == "logs" else ""
        state.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}{name}")
        state.setdefault("name", name)
        if args.typ == "aws:lambda/function:Function":
            state["arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.inputs[args.name] = args.inputs
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": "arn:aws:iam::123456789012:user/t", "id": "x"}
        raise NotImplementedError(args.token)


class Monitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.registered.append(
            Registered(request.type, request.name, {}, list(request.dependencies), response.urn)
        )
        return response


def run_reaper(**overrides: Any) -> dict[str, Registered]:
    """Build a TaskReaper (plus a stand-in subnet for the drain) under fresh mocks."""
    mocks = Mocks()
    monitor = Monitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project="reaper-test", stack="dev", preview=False, monitor=monitor
    )

    def program() -> None:
        import pulumi_aws as aws

        subnet = aws.ec2.Subnet("tasks-subnet", vpc_id="vpc-1", cidr_block="10.0.0.0/24")
        args = {
            "name_prefix": "gitlab-runners-dev",
            "cluster_arns": CLUSTERS,
            "job_timeout_seconds": TIMEOUT,
            "manager_group_tag": ("gitlab-runner-managers", "gitlab-runners-dev"),
            "log_retention_days": 14,
            "tags": {"project": "gitlab-fargate-runners", "stack": "dev"},
            "drain_depends_on": [subnet],
            **overrides,
        }
        TaskReaper("reaper", TaskReaperArgs(**args))

    _sync_await(run_pulumi_func(program))
    for resource in monitor.registered:
        resource.inputs = mocks.inputs.get(resource.name, {})
    return {r.name: r for r in monitor.registered}


@pytest.fixture(scope="module")
def plan() -> dict[str, Registered]:
    return run_reaper()


def test_component_type_token_and_children(plan: dict[str, Registered]) -> None:
    assert plan["reaper"].type == "gitlab-fargate-runners:ecs:TaskReaper"
    types = sorted(r.type for r in plan.values())
    assert types.count("aws:iam/role:Role") == 2  # the function's and the schedule's
    assert types.count("aws:lambda/invocation:Invocation") == 1


def test_function_runs_the_handler_file_with_the_drain_timeout(plan: dict[str, Registered]) -> None:
    function = plan["reaper-fn"].inputs
    assert function["runtime"] == "python3.12"
    assert function["handler"] == "reaper.handler.handler"
    assert function["timeout"] == 900
    assert function["loggingConfig"]["logGroup"] == "/gitlab-runners-dev/task-reaper"
    variables = function["environment"]["variables"]
    assert variables["REAPER_CLUSTERS"] == ",".join(CLUSTERS)
    assert variables["REAPER_JOB_TIMEOUT_SECONDS"] == str(TIMEOUT)
    archive = function["code"]
    assert isinstance(archive, pulumi.AssetArchive)
    files = [
        "__init__.py",
        "handler.py",
        "decisions.py",
        "instances.py",
        "managers.py",
        "settings.py",
        "start_wait.py",
        "teardown.py",
    ]
    assert sorted(archive.assets) == sorted(f"reaper/{f}" for f in files)
    assert Path(archive.assets["reaper/handler.py"].path) == reaper_resources.HANDLER_FILE
    assert all(Path(asset.path).is_file() for asset in archive.assets.values())
    assert plan["reaper-logs"].inputs["retentionInDays"] == 14


def test_reaper_policy_is_scoped_to_our_clusters(plan: dict[str, Registered]) -> None:
    document = json.loads(plan["reaper-policy"].inputs["policy"])
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    actions = sorted(
        a
        for s in document["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    assert actions == sorted(
        [
            "ecs:ListTasks",
            "ecs:DescribeTasks",
            "ecs:StopTask",
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:UpdateAutoScalingGroup",  # tag-scoped, to zero: the destroy drain
            "ec2:DescribeInstances",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ]
    )
    tasks = by_sid["DescribeAndStopTasksOfOurClusters"]
    assert tasks["Resource"] == [
        f"{ARN}:task/gitlab-runners-dev/*",
        f"{ARN}:task/gitlab-runners-dev-spot/*",
    ]
    for statement in document["Statement"]:
        names = (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
        if any(a.startswith("ecs:") for a in names):
            # Every ECS statement is bound to the stack's clusters.
            assert statement["Condition"] == {"ArnEquals": {"ecs:cluster": sorted(CLUSTERS)}}
        if statement["Resource"] == "*":
            # "*" only where the action has no resource-level permissions (and ListTasks,
            # whose container-instance resource Fargate tasks lack: condition-bound above).
            assert set(names) <= {
                "ecs:ListTasks",
                "autoscaling:DescribeAutoScalingGroups",
                "ec2:DescribeInstances",
            }
    assert "ecs:StopTask" not in json.dumps(by_sid["ListTasksOfOurClusters"])
    logs = by_sid["WriteOwnLogs"]["Resource"]
    assert logs == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/gitlab-runners-dev/task-reaper",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/gitlab-runners-dev/task-reaper:*",
    ]


def test_reaper_policy_passes_parliament() -> None:
    document = reaper_policy(CLUSTERS, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/x")
    findings = analyze_policy_string(json.dumps(document)).findings
    # parliament knows ListTasks' container-instance resource type, but a ListTasks call for
    # Fargate tasks names no container instance: "*" bound by the ecs:cluster condition is
    # what works (aws-cdk #3199, awsdocs/amazon-ecs-developer-guide #211).
    serious = [
        f
        for f in findings
        if f.severity not in ("MUTE", "INFO", "LOW")
        and not (f.issue == "RESOURCE_STAR" and f.detail == ["ecs:ListTasks"])
    ]
    assert serious == [], [str(f) for f in serious]


def test_schedule_runs_every_five_minutes_through_its_own_role(
    plan: dict[str, Registered],
) -> None:
    schedule = plan["reaper-schedule"].inputs
    assert schedule["scheduleExpression"] == "rate(5 minutes)"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule["target"]
    # No group names: the function finds the managers by their tag (its environment).
    assert json.loads(target["input"]) == {"action": "reap"}
    variables = plan["reaper-fn"].inputs["environment"]["variables"]
    assert variables["REAPER_MANAGER_GROUP_TAG"] == "gitlab-runner-managers=gitlab-runners-dev"
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:gitlab-runners-dev-task-reaper"
    assert target["arn"] == function_arn
    assert target["roleArn"].endswith("reaper-scheduler-role")
    policy = json.loads(plan["reaper-scheduler-policy"].inputs["policy"])
    assert policy["Statement"] == [
        {
            "Sid": "InvokeTaskReaper",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": function_arn,
        }
    ]
    trust = json.loads(plan["reaper-scheduler-role"].inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_drain_invocation_runs_on_delete_before_clusters_and_network(
    plan: dict[str, Registered],
) -> None:
    drain = plan["reaper-drain"]
    assert drain.inputs["lifecycleScope"] == "CRUD"
    assert json.loads(drain.inputs["input"]) == {"action": "drain", "clusters": CLUSTERS}
    # Depending on the subnet means Pulumi deletes the drain (invoking it) before the subnet.
    assert plan["tasks-subnet"].urn in drain.dependencies
    assert plan["reaper-fn"].urn in drain.dependencies
    # The function keeps its policy and log group until after the drain ran.
    function_deps = plan["reaper-fn"].dependencies
    assert plan["reaper-policy"].urn in function_deps
    assert plan["reaper-logs"].urn in function_deps
