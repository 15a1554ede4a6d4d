#!/usr/bin/python3
"""Drain this runner manager before its Auto Scaling group terminates it.

A termination lifecycle hook holds a leaving manager in Terminating:Wait. This service polls
IMDSv2 `autoscaling/target-lifecycle-state`; once it reads `Terminated` it stops gitlab-runner
(the unit's KillSignal is SIGQUIT, to gitlab-runner alone with KillMode=mixed: take no new
jobs, finish the running ones, bounded by its TimeoutStopSec), records lifecycle heartbeats
while that takes longer than the hook's heartbeat timeout, then completes the lifecycle
action so the instance can go.
Runs on AL2023's Python 3.9, standard library plus the AWS CLI.
usage: gitlab-runner-drain REGION HOOK_NAME RUNNER_UNIT HEARTBEAT_SECONDS
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

IMDS = "http://169.254.169.254/latest"
POLL_SECONDS = 5
COMPLETE_ATTEMPTS = 10
TERMINATED = "Terminated"
# AWS CLI calls back off and retry on throttling (Auto Scaling API rate limits).
AWS_ENV = {"AWS_PAGER": "", "AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "10"}


def imds(path):
    """One IMDSv2 read; None when the item does not exist (e.g. not in an ASG yet)."""
    token_request = urllib.request.Request(
        f"{IMDS}/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"},
    )
    with urllib.request.urlopen(token_request, timeout=5) as response:
        token = response.read().decode()
    request = urllib.request.Request(
        f"{IMDS}/meta-data/{path}", headers={"X-aws-ec2-metadata-token": token}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read().decode().strip()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def should_drain(target_state):
    return target_state == TERMINATED


def log(message):
    print(message, flush=True)


def aws(region, *args):
    command = ["aws", "autoscaling", *args, "--region", region]
    return subprocess.run(command, env=dict(os.environ, **AWS_ENV), capture_output=True, text=True)


def lifecycle_args(hook, group, instance):
    return [
        "--lifecycle-hook-name",
        hook,
        "--auto-scaling-group-name",
        group,
        "--instance-id",
        instance,
    ]


def stop_unit(unit):
    """`systemctl stop` returns when the unit has stopped: here, when the jobs are done."""
    return subprocess.Popen(["systemctl", "stop", unit])


def drain(
    region,
    hook,
    unit,
    heartbeat_seconds,
    group,
    instance,
    run=aws,
    stop=stop_unit,
    clock=time.monotonic,
    sleep=time.sleep,
):
    """Stop the runner (waiting for its jobs), heartbeating, then let the instance go."""
    target = lifecycle_args(hook, group, instance)
    log(f"{instance} is leaving {group}: stopping {unit} after its running jobs")
    stopping = stop(unit)
    last_beat = clock()
    while stopping.poll() is None:
        sleep(POLL_SECONDS)
        if clock() - last_beat >= heartbeat_seconds:
            result = run(region, "record-lifecycle-action-heartbeat", *target)
            log(f"heartbeat: {'ok' if result.returncode == 0 else result.stderr.strip()}")
            last_beat = clock()
    log(f"{unit} stopped (exit {stopping.returncode}); completing the lifecycle action")
    for attempt in range(1, COMPLETE_ATTEMPTS + 1):
        result = run(
            region,
            "complete-lifecycle-action",
            *target,
            "--lifecycle-action-result",
            "CONTINUE",
        )
        if result.returncode == 0:
            log("lifecycle action completed: the instance terminates now")
            return True
        log(f"complete-lifecycle-action failed ({attempt}): {result.stderr.strip()}")
        sleep(POLL_SECONDS)
    return False


def group_of(region, instance, run=aws):
    """The Auto Scaling group this instance belongs to (not in the instance metadata)."""
    result = run(
        region,
        "describe-auto-scaling-instances",
        "--instance-ids",
        instance,
        "--query",
        "AutoScalingInstances[0].AutoScalingGroupName",
        "--output",
        "text",
    )
    if result.returncode != 0:
        raise RuntimeError(f"describe-auto-scaling-instances failed: {result.stderr.strip()}")
    return result.stdout.strip()


def main():
    region, hook, unit, heartbeat = sys.argv[1:5]
    while True:
        try:
            state = imds("autoscaling/target-lifecycle-state")
        except (urllib.error.URLError, OSError) as error:
            log(f"IMDS unreachable: {error}")
            state = None
        if should_drain(state):
            instance = imds("instance-id")
            group = group_of(region, instance)
            if not drain(region, hook, unit, int(heartbeat), group, instance):
                sys.exit("could not complete the lifecycle action; the hook's default applies")
            return
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main()
