"""Issue 14, ECS: running jobs survive every manager change, and destroy still finishes.

Each test below failed on main at c984820: the runner unit signalled its whole cgroup, a
removed shard lost its hook before its group was force-deleted, the destroy drain ran after
the groups, and the drain Invocation followed the reaper's auto-name.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.ecs.manager import (
    group_delete_timeout_seconds,
    heartbeat_timeout_seconds,
    stop_timeout_seconds,
)
from components.ecs.manager_files import AGENT_UNIT
from components.ecs.reaper.decisions import KEEP, STOP, LiveManager, TaskInfo, decide
from components.ecs.reaper_resources import DEFAULT_MARGIN_SECONDS
from components.ecs.user_data import render_drain_unit, render_runner_unit, render_tokens_unit
from components.offline import mock_answers
from components.offline.mocks import Plan
from components.offline.order import Order, removal, replacements, skipped_deletes
from components.topology import ecs_fleet_spec
from tests.ecs.support import ASG, INVOCATION, LIFECYCLE_HOOK, ROLE_POLICY, user_data
from tests.ecs.test_files import heredoc_files, typed, unit_file
from tests.harness import ROOT, dev_config, run_program, shared_plan
from tests.offline.invariants import (
    drains_first,
    egress,
    egress_outlives,
    lifecycle_grants,
    no_side_effect_replacements,
    removed_groups_drain,
)

UPSTREAM = ROOT / "tests" / "upstream"
RUNNER_UNIT = "/etc/systemd/system/gitlab-runner.service"
FUNCTION = "aws:lambda/function:Function"


def _facts(name: str) -> dict[str, Any]:
    return json.loads((UPSTREAM / name).read_text())


# --- defect 1: SIGQUIT reaches gitlab-runner only ----------------------------------------------


def test_the_stop_signal_reaches_gitlab_runner_and_not_the_job_drivers(ecs_dev_plan: Plan) -> None:
    """gitlab-runner v18.9.0 commands/multi.go: SIGQUIT is its graceful stop (stop asking for
    jobs, return once every job has finished); the Fargate driver
    (internal/signal/termination_handler.go) handles SIGINT and SIGTERM only, so SIGQUIT kills
    it (Go's default: exit 2) and its job fails. systemd.kill(5): KillMode=mixed sends
    KillSignal to the main process only, SIGKILL to the rest once it is gone."""
    runner = _facts("gitlab-runner-config.json")["facts"]["signals"]
    assert "syscall.SIGQUIT" in runner["notify"]["text"]
    assert runner["graceful_wait"]["text"] == "for mr.stopSignal == syscall.SIGQUIT {"
    assert runner["graceful_done"]["text"] == "// Everything finished we can exit now"
    driver = _facts("fargate-driver.json")["facts"]["termination_signals"]["text"]
    assert "SIGTERM" in driver and "SIGQUIT" not in driver

    unit = unit_file(heredoc_files(user_data(ecs_dev_plan))[RUNNER_UNIT])["Service"]
    assert unit["KillSignal"] == "SIGQUIT"
    assert unit["KillMode"] == "mixed"  # the default, control-group, signals every driver


def test_the_stop_timeout_covers_a_job_and_the_hook_and_group_delete_cover_the_stop() -> None:
    """TimeoutStopSec ends in SIGKILL: it must outlast the longest job, and the lifecycle hook
    (with the drain's heartbeats) and the group's delete timeout must outlast the stop."""
    for job_timeout in (600, 3600, 14400):
        config = typed(dev_config(ecs={**dev_config()["ecs"], "jobTimeoutSeconds": job_timeout}))
        stop = stop_timeout_seconds(ecs_fleet_spec(config))
        unit = unit_file(render_runner_unit(stop))["Service"]
        assert int(unit["TimeoutStopSec"]) == stop > job_timeout
        heartbeat = heartbeat_timeout_seconds(ecs_fleet_spec(config))
        # Past AWS's 7200 s cap the drain service heartbeats every half timeout instead.
        assert heartbeat > stop or heartbeat == 7200
        assert group_delete_timeout_seconds(ecs_fleet_spec(config)) > max(stop, heartbeat)


def test_the_agent_outlives_the_runner_and_the_drain_at_shutdown(ecs_dev_plan: Plan) -> None:
    """systemd stops units in the reverse of their After= order, and unordered ones in
    parallel (systemd.unit(5), After=). The agent's own unit orders itself only after
    network.target (aws/amazon-cloudwatch-agent packaging/dependencies/
    amazon-cloudwatch-agent.service at a8c030f, line 11), so without an order here a
    shutdown stopped it at once while gitlab-runner still finished its jobs (up to
    TimeoutStopSec): the manager's last log lines, the drain's and the runner metrics of that
    time never reached CloudWatch. Ordering only (no Wants=): the units start without it."""
    written = heredoc_files(user_data(ecs_dev_plan))
    for unit in ("gitlab-runner.service", "gitlab-runner-drain.service"):
        parsed = unit_file(written[f"/etc/systemd/system/{unit}"])["Unit"]
        assert AGENT_UNIT in parsed["After"].split(), unit
        assert (
            AGENT_UNIT not in parsed.get("Wants", "").split() + parsed.get("Requires", "").split()
        )
    agent_install = "retry dnf install -y amazon-cloudwatch-agent"
    assert agent_install in user_data(ecs_dev_plan)  # installed in both observability settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own parser (never started: `verify` only loads the units) under a root that
    holds the units, the binaries they run and the stock unit directory."""
    stock = Path("/usr/lib/systemd/system")
    if not stock.is_dir():
        pytest.skip("no stock systemd units to resolve targets against")
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    shutil.copytree(stock, tmp_path / "usr/lib/systemd/system", symlinks=True)
    for binary in ("usr/local/bin/gitlab-runner", "usr/bin/python3", "usr/bin/systemctl"):
        (tmp_path / binary).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy("/usr/bin/true", tmp_path / binary)
    rendered = {
        "gitlab-runner.service": render_runner_unit(3630),
        "gitlab-runner-tokens.service": render_tokens_unit("eu-west-1", "arn:aws:x"),
        "gitlab-runner-drain.service": render_drain_unit("eu-west-1", "drain", 1965),
    }
    for name, text in rendered.items():
        (units / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "--man=no", f"--root={tmp_path}", "verify"]
        + [str(units / name) for name in rendered],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")


# --- defect 2: a removed shard drains; destroy drains the tasks first ---------------------------


def _sharded(per_runner: int) -> dict[str, Any]:
    config = dev_config()
    for runner in config["runners"]:
        runner["concurrency"] = per_runner
    return config


def test_removing_a_shard_deletes_its_group_with_its_hook_and_waits_for_the_drain() -> None:
    before, after = shared_plan(_sharded(500)), shared_plan(_sharded(300))
    waves = removal(before, after)
    gone = {r.name for wave in waves for r in wave}
    assert {"ecs-manager-3-asg", "ecs-manager-4-asg"} <= gone
    assert not gone & {"ecs-manager-asg", "ecs-manager-1-asg", "ecs-manager-2-asg"}
    # The separate hooks leave too, but the engine sends no delete for them: the group owns
    # the hook (initial_lifecycle_hooks) and AWS removes it with the group, after the drain.
    hooks = [r for wave in waves for r in wave if r.type == LIFECYCLE_HOOK]
    assert {h.name for h in hooks} == {"ecs-manager-3-drain-hook", "ecs-manager-4-drain-hook"}
    assert skipped_deletes(before, [r.urn for wave in waves for r in wave]) == {
        h.urn for h in hooks
    }
    assert removed_groups_drain(before, after) == []
    group = before.one(ASG, "ecs-manager-4-asg")
    assert group.inputs["forceDelete"] is False
    assert group.inputs["initialLifecycleHooks"] == [
        {
            "name": "drain-running-jobs",
            "lifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "heartbeatTimeout": 3930,
            "defaultResult": "CONTINUE",
        }
    ]
    assert group.custom_timeouts == {"delete": "4230s"}  # job 3600 + 30 + 300 + 300


def test_a_removed_shards_manager_may_still_complete_its_hook() -> None:
    """The manager role's lifecycle grant is updated before the removed group is deleted:
    listing the groups' ARNs (as main did) drops the leaving one in that update, and its
    manager's CompleteLifecycleAction and heartbeats are denied for the rest of its drain."""
    before, after = shared_plan(_sharded(500)), shared_plan(_sharded(300))
    leaving = before.one(ASG, "ecs-manager-4-asg")
    assert [p.name for p in lifecycle_grants(after, leaving)] == ["ecs-manager-lifecycle-policy"]
    policy = after.one(ROLE_POLICY, "ecs-manager-lifecycle-policy")
    assert policy.urn in before.one(ASG, "ecs-manager-asg").dependencies  # outlives the groups
    # Main's shape, an ARN per remaining group, is what the check exists to catch.
    listed = copy.deepcopy(after)
    document = json.loads(policy.inputs["policy"])
    (drain,) = [s for s in document["Statement"] if s["Sid"] == "DrainBeforeTermination"]
    drain.pop("Condition")
    drain["Resource"] = [
        f"arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x:autoScalingGroupName/{g.name}"
        for g in after.all(ASG)
    ]
    listed.one(ROLE_POLICY, "ecs-manager-lifecycle-policy").inputs["policy"] = json.dumps(document)
    assert sorted(removed_groups_drain(before, listed)) == [
        f"ecs-manager-{i}-asg: its manager loses CompleteLifecycleAction first" for i in (3, 4)
    ]


def test_destroy_stops_the_tasks_before_the_groups_and_the_groups_go_before_egress(
    ecs_sharded_plan: Plan,
) -> None:
    """The drain ends every job first, so each group's own drain (its hook, no force_delete)
    finds nothing to wait for; the groups still go before the NAT and endpoints their
    managers' last Auto Scaling and GitLab calls use."""
    plan = ecs_sharded_plan
    order = Order(plan)
    drain = plan.one(INVOCATION)
    groups = plan.all(ASG)
    assert len(groups) == 5
    for group in groups:
        assert order.deleted_before(drain, group), group.name
        for exit_ in egress(plan):
            assert order.deleted_before(group, exit_), (group.name, exit_.name)
    assert order.wave_of(drain) < min(order.wave_of(g) for g in groups)
    assert drains_first(plan) == [] and egress_outlives(plan) == []


def test_a_group_created_before_initial_hooks_is_kept_and_still_gets_its_hook(
    ecs_dev_plan: Plan,
) -> None:
    """initial_lifecycle_hook is ForceNew and never read back (terraform-provider-aws
    autoscaling/group.go): without ignore_changes an existing stack's groups would be
    replaced, and a changed heartbeat would replace them again. The separate hook
    (PutLifecycleHook, which creates and updates) gives such a group the hook."""
    existing = copy.deepcopy(ecs_dev_plan)
    for group in existing.all(ASG):
        group.inputs.pop("initialLifecycleHooks")
        group.inputs["forceDelete"] = True
    assert [r.after.name for r in replacements(existing, ecs_dev_plan)] == []
    longer = dev_config()
    longer["ecs"] = {**longer["ecs"], "jobTimeoutSeconds": 5400}
    assert replacements(ecs_dev_plan, run_program(longer)) == []
    group = ecs_dev_plan.one(ASG, "ecs-manager-asg")
    hook = ecs_dev_plan.one(LIFECYCLE_HOOK, "ecs-manager-drain-hook")
    assert "initialLifecycleHooks" in group.ignore_changes
    assert hook.deleted_with == group.urn
    assert hook.inputs["autoscalingGroupName"] == group.name  # the mocks name it so


# --- defect 3: the drain Invocation does not follow the reaper function -----------------------


def test_replacing_the_reaper_function_leaves_the_drain_invocation_alone(
    ecs_dev_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replaced function gets a new auto-name; the Invocation's function_name is ForceNew
    (terraform-provider-aws lambda/invocation.go) and deleting a CRUD Invocation runs the
    drain. Here the mocks answer as the engine does after such a replacement: an auto-named
    function comes back with a new name, an explicitly named one keeps its name."""
    monkeypatch.setitem(
        mock_answers.STATE_BY_TYPE,
        FUNCTION,
        lambda name, i, region: {
            "name": i.get("name", f"{name}-2b7e1f0"),
            "arn": f"arn:aws:lambda:{region}:{mock_answers.MOCK_ACCOUNT}:function:"
            + i.get("name", f"{name}-2b7e1f0"),
        },
    )
    after = run_program(dev_config())
    assert no_side_effect_replacements(ecs_dev_plan, after) == []
    function = ecs_dev_plan.one(FUNCTION)
    assert function.inputs["name"] == "gitlab-runners-dev-task-reaper"
    assert "name" in function.ignore_changes  # an existing auto-named function is kept
    drain = ecs_dev_plan.one(INVOCATION)
    assert drain.inputs["functionName"] == function.inputs["name"]


# --- defect 4: what the docs promise after a reboot ---------------------------------------------


def _row(markdown: str, needle: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith("|") and needle in line)


def test_after_a_reboot_only_the_over_time_rule_reaps_and_the_docs_say_so() -> None:
    """A reboot (or a restarted gitlab-runner) keeps the instance's launch time: the orphan
    rule cannot see the lost jobs' tasks, the over-time rule stops them at job timeout + the
    reaper's 15-minute margin. docs/ecs-operations.md must not promise minutes."""
    launched = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    created = launched + timedelta(hours=2)  # a job started before the reboot
    task = TaskInfo(
        arn="t", cluster="c", last_status="RUNNING", desired_status="RUNNING", created_at=created
    )
    timeout, margin = 3600, DEFAULT_MARGIN_SECONDS
    for minutes, expected in ((10, KEEP), (74, KEEP), (76, STOP)):
        now = created + timedelta(minutes=minutes)
        (decision,) = decide([task], [LiveManager(launched)], now, timeout, margin)
        assert decision.action == expected, minutes
    assert margin == 15 * 60
    docs = (ROOT / "docs" / "ecs-operations.md").read_text()
    reboot = _row(docs, "reboot")
    assert "within minutes" not in reboot
    assert "ecs.jobTimeoutSeconds` + 15 minutes" in reboot and "launch time" in reboot
    assert "within minutes" in _row(docs, "terminate-instances")  # a new launch time: orphan rule
