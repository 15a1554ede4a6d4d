"""No job lost when a manager changes, robust boots, reaper and destroy-time drain wiring."""

from __future__ import annotations

import json
import re

from components.ecs.user_data import render_user_data
from components.offline.mocks import Plan
from tests.ecs.support import (
    ASG,
    CAPACITY,
    CLUSTER,
    INVOCATION,
    LIFECYCLE_HOOK,
    ROLE_POLICY,
    SCHEDULE,
    SG,
    named,
    statement_for,
    user_data,
)
from tests.ecs.test_files import boot_settings, heredoc_files, typed
from tests.harness import dev_config

RUNNER_UNIT = "/etc/systemd/system/gitlab-runner.service"
TOKENS_UNIT = "/etc/systemd/system/gitlab-runner-tokens.service"
DRAIN_UNIT = "/etc/systemd/system/gitlab-runner-drain.service"


def line_index(script: str, pattern: str) -> int:
    return next(i for i, line in enumerate(script.splitlines()) if re.search(pattern, line))


def test_logging_starts_before_anything_that_can_fail(ecs_dev_plan: Plan) -> None:
    script = user_data(ecs_dev_plan)
    agent = line_index(script, r"amazon-cloudwatch-agent-ctl .*fetch-config")
    assert agent < line_index(script, r"fetch-verified --url")
    assert agent < line_index(script, r"systemctl start --no-block gitlab-runner-tokens")
    config = json.loads(
        heredoc_files(script)["/opt/aws/amazon-cloudwatch-agent/etc/gitlab-runner-manager.json"]
    )
    streams = {
        c["log_stream_name"] for c in config["logs"]["logs_collected"]["files"]["collect_list"]
    }
    assert "{instance_id}/drain" in streams and "{instance_id}/cloud-init" in streams


def test_token_unit_retries_and_a_rewrite_never_restarts_the_runner(ecs_dev_plan: Plan) -> None:
    written = heredoc_files(user_data(ecs_dev_plan))
    tokens, runner = written[TOKENS_UNIT], written[RUNNER_UNIT]
    assert "Restart=on-failure" in tokens and "StartLimitIntervalSec=0" in tokens
    assert "ExecStartPost=/usr/bin/systemctl start --no-block gitlab-runner.service" in tokens
    # Requires=/BindsTo=/PartOf= would restart (and so drain) the runner with the token unit.
    for binding in ("Requires=", "BindsTo=", "PartOf="):
        assert binding not in runner
    assert "ConditionPathExists=/etc/gitlab-runner/config.toml" in runner
    assert "KillSignal=SIGQUIT" in runner and "TimeoutStopSec=3630" in runner


def test_downloads_are_verified_against_the_pin_or_the_published_list() -> None:
    """gitlab-runner v19.3.0 still publishes binaries/gitlab-runner-linux-amd64 and
    release.sha256 under https://gitlab-runner-downloads.s3.amazonaws.com/$CI_COMMIT_TAG
    (.gitlab/ci/postrelease.gitlab-ci.yml:150,173,287)."""
    pinned = "b" * 64
    config = typed(dev_config(ecs={"driverSha256": pinned}))
    script = render_user_data(boot_settings(config, driver_sha256=pinned))
    runner = next(
        line for line in script.splitlines() if "--dest /usr/local/bin/gitlab-runner" in line
    )
    assert (
        "--sums-url https://gitlab-runner-downloads.s3.amazonaws.com/v19.3.0/release.sha256"
        in runner
    )
    assert "--sums-entry binaries/gitlab-runner-linux-amd64" in runner
    assert "--sums-optional" not in runner  # gitlab-runner publishes it: no unverified runner
    driver = next(
        line for line in script.splitlines() if "--dest /opt/gitlab-runner/fargate" in line
    )
    assert f"--sha256 {pinned}" in driver and "--sums" not in driver
    unpinned = render_user_data(boot_settings(typed(dev_config())))
    driver = next(
        line for line in unpinned.splitlines() if "--dest /opt/gitlab-runner/fargate" in line
    )
    assert driver.endswith("--sums-optional") and "release.sha256" in driver


def test_a_leaving_manager_drains_through_a_termination_hook(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    hook = named(plan, LIFECYCLE_HOOK, "ecs-manager-drain-hook")
    assert hook == {
        "name": "drain-running-jobs",
        "autoscalingGroupName": "ecs-manager-asg",
        "lifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
        "heartbeatTimeout": 3930,  # job timeout + shutdown + margin, under the 7200 s cap
        "defaultResult": "CONTINUE",
    }
    unit = heredoc_files(user_data(plan))[DRAIN_UNIT]
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start.split()[1:] == [
        "/usr/local/sbin/gitlab-runner-drain",
        "eu-west-1",
        "drain-running-jobs",
        "gitlab-runner.service",
        "1965",
    ]
    assert "Restart=on-failure" in unit


def test_long_job_timeouts_keep_the_hook_at_its_maximum_and_heartbeat() -> None:
    from tests.harness import run_program

    config = dev_config()
    config["ecs"] = {**config["ecs"], "jobTimeoutSeconds": 14400}
    hook = named(run_program(config), LIFECYCLE_HOOK, "ecs-manager-drain-hook")
    assert hook["heartbeatTimeout"] == 7200


def test_manager_may_complete_only_its_own_groups_lifecycle_actions(ecs_sharded_plan: Plan) -> None:
    plan = ecs_sharded_plan
    document = json.loads(named(plan, ROLE_POLICY, "ecs-manager-lifecycle-policy")["policy"])
    complete = statement_for(document, "autoscaling:CompleteLifecycleAction")
    assert "autoscaling:RecordLifecycleActionHeartbeat" in complete["Action"]
    assert complete["Resource"] == (
        "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*"
    )
    # Only groups carrying this stack's manager tag, and every manager group carries it.
    condition = {"StringEquals": {"aws:ResourceTag/gitlab-runner-managers": "gitlab-runners-dev"}}
    assert complete["Condition"] == condition
    groups = plan.all(ASG)
    assert len(groups) == 5
    for group in groups:
        tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
        assert tags["gitlab-runner-managers"] == "gitlab-runners-dev", group.name
    # The actions accept that condition key on the group (parliament's IAM definitions).
    from parliament import iam_definition

    autoscaling = next(s for s in iam_definition if s["prefix"] == "autoscaling")
    for privilege in autoscaling["privileges"]:
        if f"autoscaling:{privilege['privilege']}" in complete["Action"]:
            (group_type,) = privilege["resource_types"]
            assert group_type["resource_type"] == "autoScalingGroup*"
            assert "aws:ResourceTag/${TagKey}" in group_type["condition_keys"]


def test_reaper_watches_every_cluster_and_every_manager_group(ecs_sharded_plan: Plan) -> None:
    plan = ecs_sharded_plan
    function = plan.one("aws:lambda/function:Function", "ecs-reaper-fn").inputs
    clusters = function["environment"]["variables"]["REAPER_CLUSTERS"].split(",")
    assert sorted(clusters) == sorted(
        f"arn:aws:ecs:eu-west-1:123456789012:cluster/{c.inputs['name']}" for c in plan.all(CLUSTER)
    )
    assert function["environment"]["variables"]["REAPER_JOB_TIMEOUT_SECONDS"] == "3600"
    schedule = plan.one(SCHEDULE, "ecs-reaper-schedule").inputs
    assert json.loads(schedule["target"]["input"]) == {"action": "reap"}
    # Every manager group carries the tag the reaper finds them by.
    key, value = function["environment"]["variables"]["REAPER_MANAGER_GROUP_TAG"].split("=")
    tagged = [
        g.name
        for g in plan.all("aws:autoscaling/group:Group")
        if {"key": key, "value": value}
        in [{k: t[k] for k in ("key", "value")} for t in g.inputs["tags"]]
    ]
    assert sorted(tagged) == sorted(
        ["ecs-manager-asg", *(f"ecs-manager-{i}-asg" for i in range(1, 5))]
    )


def test_destroy_drains_tasks_before_the_managers_and_what_tasks_hold(
    ecs_dev_plan: Plan,
) -> None:
    """Pulumi deletes a resource before what it depends on: the drain must depend on the
    clusters, capacity providers, task SG, network and every manager group (whose own drain
    then finds no job left; tests/ecs/test_drain_order.py checks the order itself)."""
    plan = ecs_dev_plan
    drain = plan.one(INVOCATION, "ecs-reaper-drain")
    assert drain.inputs["lifecycleScope"] == "CRUD"
    assert json.loads(drain.inputs["input"])["action"] == "drain"
    urns = set(drain.dependencies)
    for type_, name in (
        (CAPACITY, "ecs-cluster-capacity"),
        (CAPACITY, "ecs-spot-cluster-capacity"),
        (SG, "ecs-task-sg"),
        # depends_on the Network component waits for (and records) each of its children
        ("aws:ec2/subnet:Subnet", "network-private-0"),
        ("aws:ec2/subnet:Subnet", "network-private-1"),
        ("aws:ec2/natGateway:NatGateway", "network-nat-0"),
    ):
        assert plan.one(type_, name).urn in urns, name
    for group in plan.all(ASG):
        assert group.urn in urns, group.name
        assert drain.urn not in group.dependencies, group.name
