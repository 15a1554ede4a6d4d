"""The destroy drain's first step: retire the runner managers before stopping their tasks.

Zipped with handler.py into the Lambda package `reaper`: standard library and botocore (the
Auto Scaling client is passed in).

`pulumi destroy` runs the drain before it deletes the manager groups. A manager still
polling GitLab when the drain has stopped its tasks would take the next queued jobs, and its
group's delete would then wait for them (its termination hook drains, up to the job timeout).
So the drain first scales every manager group to zero: each instance enters
`Terminating:Wait`, its drain service reads that from the instance metadata (every 5 s) and
stops gitlab-runner with SIGQUIT, and gitlab-runner asks for no job after that. Once no
instance is outside a terminating state, plus `settle_seconds` for that service, the drain
stops every task; the jobs fail, gitlab-runner exits, the hooks complete and the group
deletes that follow find nothing to wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

# The drain service polls every 5 s; gitlab-runner takes one more request cycle at most.
DEFAULT_SETTLE_SECONDS = 15
# How long to wait for the groups to put every instance into a terminating state.
DEFAULT_RETIRE_WAIT_SECONDS = 180


def _retiring(instance: Mapping[str, Any]) -> bool:
    """Terminating, Terminating:Wait, Terminating:Proceed, Terminated: asks for no job."""
    return str(instance.get("LifecycleState", "")).startswith("Terminat")


def _not_found(error: ClientError) -> bool:
    """A group already deleted (ValidationError "AutoScalingGroup name not found")."""
    return "not found" in str(error.response.get("Error", {}).get("Message", "")).lower()


def working_instances(autoscaling: Any, groups: Sequence[str]) -> list[str]:
    """Instances of the groups that may still take jobs."""
    found: list[str] = []
    paginator = autoscaling.get_paginator("describe_auto_scaling_groups")
    for page in paginator.paginate(AutoScalingGroupNames=list(groups)):
        for group in page.get("AutoScalingGroups", []):
            found += [i["InstanceId"] for i in group.get("Instances", []) if not _retiring(i)]
    return found


def retire_managers(
    autoscaling: Any,
    groups: Sequence[str],
    log: Callable[..., None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    poll_seconds: float,
    wait_seconds: float = DEFAULT_RETIRE_WAIT_SECONDS,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> dict[str, Any]:
    """Scale the groups to zero and wait until their managers stop taking jobs (bounded:
    a manager that never gets there is left to its group's own drain)."""
    scaled: list[str] = []
    for group in groups:
        try:
            autoscaling.update_auto_scaling_group(
                AutoScalingGroupName=group, MinSize=0, MaxSize=0, DesiredCapacity=0
            )
        except ClientError as error:
            if not _not_found(error):
                raise
            log("manager-group-missing", group=group)
            continue
        scaled.append(group)
    give_up = clock() + wait_seconds
    working = working_instances(autoscaling, scaled) if scaled else []
    while working and clock() < give_up:
        log("managers-retiring", working=working)
        sleep(poll_seconds)
        working = working_instances(autoscaling, scaled)
    if scaled:
        sleep(settle_seconds)
    result = {"groups": scaled, "still_working": working}
    log("managers-retired", **result)
    return result
