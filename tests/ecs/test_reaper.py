"""The task reaper: pure decisions and the handler against moto (resources: see
test_reaper_resources.py)."""

from __future__ import annotations

import ast
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.ecs import reaper_resources
from components.ecs.reaper import handler as reaper
from components.ecs.reaper.handler import KEEP, STOP, Decision, LiveManager, TaskInfo, decide
from tests.ecs.moto_account import (
    ACCOUNT,
    FARGATE_CLUSTER,
    GRACE,
    MANAGER_GROUP,
    MARGIN,
    REGION,
    SPOT_CLUSTER,
    TIMEOUT,
    FakeAccount,
)

ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
CLUSTERS = [f"{ARN}:cluster/gitlab-runners-dev", f"{ARN}:cluster/gitlab-runners-dev-spot"]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Pure decisions
# --------------------------------------------------------------------------------------------


def task(
    name: str, age_minutes: float, status: str = "RUNNING", desired: str = "RUNNING", **kw: Any
) -> TaskInfo:
    created = NOW - timedelta(minutes=age_minutes)
    return TaskInfo(
        arn=f"{ARN}:task/gitlab-runners-dev/{name}",
        cluster=CLUSTERS[0],
        last_status=status,
        desired_status=desired,
        created_at=created,
        started_at=created + timedelta(seconds=40) if status == "RUNNING" else None,
        group="family:gitlab-runners-dev-default",
        **kw,
    )


def decided(tasks: list[TaskInfo], launches: list[datetime] | None) -> dict[str, Decision]:
    managers = None if launches is None else [LiveManager(t) for t in launches]  # any subnet
    decisions = decide(tasks, managers, NOW, TIMEOUT, MARGIN, grace_seconds=GRACE)
    return {d.task.rsplit("/", 1)[1]: d for d in decisions}


def test_task_older_than_every_live_manager_is_orphaned() -> None:
    manager = NOW - timedelta(minutes=10)  # replaced 10 minutes ago
    result = decided([task("old", 30), task("new", 5)], [manager])
    assert result["old"].action == STOP
    assert "orphaned" in result["old"].reason and "before every live" in result["old"].reason
    assert result["old"].age_seconds == 30 * 60
    assert result["new"].action == KEEP


def test_no_live_manager_orphans_every_task_past_grace() -> None:
    result = decided([task("a", 10), task("pending", 6, status="PENDING")], [])
    assert {d.action for d in result.values()} == {STOP}
    assert result["a"].reason == "orphaned: no live runner manager"


def test_running_job_of_a_live_manager_is_kept() -> None:
    managers = [NOW - timedelta(hours=3), NOW - timedelta(minutes=1)]  # the oldest counts
    result = decided([task("job", 50)], managers)
    assert result["job"].action == KEEP
    assert "live runner manager" in result["job"].reason


def test_over_time_task_is_stopped_even_with_a_live_manager() -> None:
    result = decided([task("long", (TIMEOUT + MARGIN) / 60 + 1)], [NOW - timedelta(hours=5)])
    assert result["long"].action == STOP
    assert result["long"].reason.startswith("over-time")


def test_limit_is_job_timeout_plus_margin() -> None:
    just_inside = task("inside", (TIMEOUT + MARGIN) / 60 - 1)
    assert decided([just_inside], [NOW - timedelta(hours=5)])["inside"].action == KEEP


def test_just_started_task_within_grace_is_kept_even_without_managers() -> None:
    result = decided([task("booting", 2, status="PROVISIONING")], [])
    assert result["booting"].action == KEEP
    assert "grace" in result["booting"].reason


def test_stopped_and_stopping_tasks_are_ignored() -> None:
    tasks = [
        task("done", 500, status="STOPPED", desired="STOPPED"),
        task("stopping", 500, status="DEPROVISIONING", desired="STOPPED"),
    ]
    assert decide(tasks, [], NOW, TIMEOUT, MARGIN) == []


def test_unknown_managers_only_apply_the_time_rule() -> None:
    result = decided([task("young", 30), task("ancient", 600)], None)
    assert result["young"].action == KEEP
    assert result["ancient"].action == STOP


def test_manager_launched_within_clock_skew_of_the_task_keeps_it() -> None:
    result = decided([task("racy", 10)], [NOW - timedelta(minutes=10) + timedelta(seconds=30)])
    assert result["racy"].action == KEEP


def test_service_tasks_are_never_reaped() -> None:
    service = TaskInfo(
        arn=f"{ARN}:task/gitlab-runners-dev/svc",
        cluster=CLUSTERS[0],
        last_status="RUNNING",
        desired_status="RUNNING",
        created_at=NOW - timedelta(days=3),
        started_by="ecs-svc/123",
        group="service:web",
    )
    assert decide([service], [], NOW, TIMEOUT, MARGIN)[0].action == KEEP


def test_task_info_from_describe_tasks_output() -> None:
    info = TaskInfo.from_api(
        {
            "taskArn": "arn:t",
            "clusterArn": CLUSTERS[1],
            "lastStatus": "PENDING",
            "desiredStatus": "RUNNING",
            "createdAt": datetime(2025, 1, 1),  # naive: read as UTC
            "group": "family:f",
            "tags": [{"key": "project", "value": "gitlab-fargate-runners"}],
        }
    )
    assert info.born == datetime(2025, 1, 1, tzinfo=UTC)
    assert info.started_at is None
    assert info.started_by == ""
    assert info.tags == {"project": "gitlab-fargate-runners"}


def test_decision_log_line_is_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    decision = decided([task("old", 30)], [])["old"]
    reaper.log("decision", **decision.log_fields())
    line = json.loads(capsys.readouterr().out.strip())
    assert line == {
        "event": "decision",
        "task": decision.task,
        "cluster": CLUSTERS[0],
        "decision": "stop",
        "reason": "orphaned: no live runner manager",
        "age_seconds": 1800,
    }


def test_handler_is_self_contained_for_its_zip() -> None:
    """Zipped as the package `reaper`: the standard library, boto3, botocore and its own
    sibling modules (relative imports), which the zip contains."""
    package = Path(reaper.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {
            (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            and not (isinstance(node, ast.ImportFrom) and node.level)
            for alias in node.names
        }
        assert modules - {"boto3", "botocore"} <= sys.stdlib_module_names | {"__future__"}, path
        relative = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level}
        assert {f"{m}.py" for m in relative} <= set(reaper_resources.PACKAGE_FILES), path


def test_boto_clients_retry_throttling_adaptively() -> None:
    retries = reaper.BOTO_CONFIG.retries
    # botocore rewrites max_attempts as total_max_attempts (+1) once a client used it.
    assert retries["mode"] == "adaptive"
    assert retries.get("max_attempts", retries.get("total_max_attempts", 0) - 1) == 10


def test_pulumi_defaults_match_the_handler() -> None:
    assert reaper_resources.DEFAULT_MARGIN_SECONDS == reaper.DEFAULT_MARGIN_SECONDS
    assert reaper_resources.DEFAULT_GRACE_SECONDS == reaper.DEFAULT_GRACE_SECONDS


# --------------------------------------------------------------------------------------------
# The handler against moto
# --------------------------------------------------------------------------------------------


def test_moto_reap_stops_orphans_of_a_replaced_manager(account: FakeAccount) -> None:
    account.run_task("orphan", FARGATE_CLUSTER, timedelta(minutes=30))
    account.run_task("spot-orphan", SPOT_CLUSTER, timedelta(minutes=40))
    account.run_task("live-job", FARGATE_CLUSTER, timedelta(minutes=5))
    account.run_task("just-started", SPOT_CLUSTER, timedelta(seconds=30))
    done = account.run_task("done", FARGATE_CLUSTER, timedelta(minutes=50))
    account.ecs.stop_task(cluster=FARGATE_CLUSTER, task=done, reason="cleanup stage")
    account.manager_group(instances=1, launched_ago=timedelta(minutes=10))

    result = reaper.handler({"action": "reap"}, None)

    assert sorted(result["stopped"]) == sorted(
        [account.tasks["orphan"], account.tasks["spot-orphan"]]
    )
    assert result["tasks"] == 4  # the STOPPED task is not even considered
    assert account.status("orphan") == "STOPPED"
    assert account.status("spot-orphan") == "STOPPED"
    assert account.status("live-job") == "RUNNING"
    assert account.status("just-started") == "RUNNING"
    stopped = account.ecs.describe_tasks(cluster=FARGATE_CLUSTER, tasks=[account.tasks["orphan"]])
    assert stopped["tasks"][0]["stoppedReason"].startswith("gitlab-runner task reaper: orphaned")


def test_moto_reap_stops_over_time_task_of_a_live_manager(account: FakeAccount) -> None:
    account.run_task("overran", FARGATE_CLUSTER, timedelta(seconds=TIMEOUT + MARGIN + 60))
    account.run_task("running", SPOT_CLUSTER, timedelta(minutes=30))
    account.manager_group(instances=1, launched_ago=timedelta(hours=3))

    result = reaper.handler({"action": "reap"}, None)

    assert result["stopped"] == [account.tasks["overran"]]
    assert account.status("overran") == "STOPPED"
    assert account.status("running") == "RUNNING"


def test_moto_reap_without_live_manager_keeps_only_tasks_in_grace(account: FakeAccount) -> None:
    account.run_task("abandoned", FARGATE_CLUSTER, timedelta(minutes=10))
    account.run_task("fresh", SPOT_CLUSTER, timedelta(minutes=1))
    account.manager_group(instances=0)

    reaper.handler({"action": "reap"}, None)

    assert account.status("abandoned") == "STOPPED"
    assert account.status("fresh") == "RUNNING"


def test_moto_reap_with_unknown_group_only_applies_the_time_limit(
    account: FakeAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.run_task("job", FARGATE_CLUSTER, timedelta(minutes=30))
    account.manager_group(instances=0)
    monkeypatch.setenv("REAPER_AUTOSCALING_GROUPS", "no-such-group")

    assert reaper.handler({"action": "reap"}, None)["stopped"] == []
    assert account.status("job") == "RUNNING"


def test_moto_dry_run_stops_nothing(account: FakeAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    account.run_task("orphan", FARGATE_CLUSTER, timedelta(minutes=30))
    account.manager_group(instances=0)
    monkeypatch.setenv("REAPER_DRY_RUN", "true")

    assert reaper.handler({"action": "reap"}, None)["stopped"] == []
    assert account.status("orphan") == "RUNNING"


def test_moto_reap_finds_the_managers_by_tag(
    account: FakeAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule names no group: the reap finds them by their tag (DescribeAutoScalingGroups
    `Filters=[{"Name": "tag:<key>", ...}]`, botocore's model accepts it and moto applies it),
    so a group that left the program but still drains is found. The task's subnet comes from
    DescribeTasks' ENI attachment; a manager without the subnets tag may own any task."""
    account.run_task("job", FARGATE_CLUSTER, timedelta(minutes=30))
    account.manager_group(instances=1, launched_ago=timedelta(hours=1))
    account.autoscaling.create_or_update_tags(
        Tags=[
            {
                "ResourceId": MANAGER_GROUP,
                "ResourceType": "auto-scaling-group",
                "Key": "gitlab-runner-managers",
                "Value": "gitlab-runners-dev",
                "PropagateAtLaunch": False,
            }
        ]
    )
    monkeypatch.delenv("REAPER_AUTOSCALING_GROUPS")
    monkeypatch.setenv("REAPER_MANAGER_GROUP_TAG", "gitlab-runner-managers=gitlab-runners-dev")
    settings = reaper.Settings.load({"action": "reap"}, dict(os.environ))
    (found,) = reaper.live_managers(account.autoscaling, account.ec2, settings) or []
    assert found.subnets is None
    (job,) = reaper.active_tasks(account.ecs, [FARGATE_CLUSTER])
    assert job.subnet == account.subnet

    assert reaper.handler({"action": "reap"}, None)["stopped"] == []
    assert account.status("job") == "RUNNING"

    monkeypatch.setenv("REAPER_MANAGER_GROUP_TAG", "gitlab-runner-managers=another-stack")
    assert reaper.handler({"action": "reap"}, None)["stopped"] == []  # no group: time rule


def test_moto_schedule_input_names_the_group(
    account: FakeAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.run_task("job", FARGATE_CLUSTER, timedelta(minutes=30))
    account.manager_group(instances=1, launched_ago=timedelta(hours=1))
    monkeypatch.delenv("REAPER_AUTOSCALING_GROUPS")

    event = {"action": "reap", "autoscaling_group_names": [MANAGER_GROUP]}
    assert reaper.handler(event, None)["stopped"] == []
    assert account.status("job") == "RUNNING"


def test_moto_destroy_drain_stops_every_task(account: FakeAccount) -> None:
    account.run_task("a", FARGATE_CLUSTER, timedelta(minutes=30))
    account.run_task("b", FARGATE_CLUSTER, timedelta(seconds=5))
    account.run_task("c", SPOT_CLUSTER, timedelta(minutes=2))
    account.manager_group(instances=1, launched_ago=timedelta(hours=1))
    drain_input = reaper_resources.drain_event([FARGATE_CLUSTER, SPOT_CLUSTER])

    for phase in ("create", "update"):
        event = {**drain_input, "tf": {"action": phase, "prev_input": drain_input}}
        assert reaper.handler(event, None)["status"] == "ok"
    assert {account.status(n) for n in "abc"} == {"RUNNING"}

    event = {**drain_input, "tf": {"action": "delete", "prev_input": drain_input}}
    result = reaper.handler(event, None)

    assert sorted(result["stopped"]) == sorted(account.tasks.values())
    assert {account.status(n) for n in "abc"} == {"STOPPED"}
    for cluster in (FARGATE_CLUSTER, SPOT_CLUSTER):
        assert account.ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"] == []


def test_moto_drain_times_out_with_a_clear_error(
    account: FakeAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.run_task("stuck", FARGATE_CLUSTER, timedelta(minutes=3))
    # StopTask accepted, but the task never reaches STOPPED (as when its ENI hangs).
    monkeypatch.setattr(reaper, "_stop", lambda *_: True)

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000  # equal to the safety margin: no time left to wait

    with pytest.raises(reaper.DrainTimeout, match="not STOPPED in time"):
        reaper.handler({"action": "drain"}, Context())


def test_moto_drain_of_a_deleted_cluster_is_done(account: FakeAccount) -> None:
    result = reaper.handler({"action": "drain", "clusters": ["gone"]}, None)
    assert result == {"action": "drain", "stopped": []}
