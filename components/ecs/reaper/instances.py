"""The reaper's view of the runner managers' instances: which are alive, and which subnets
each one starts its job tasks in (its TASK_SUBNETS_TAG, written by components/ecs/manager.py).

Zipped with handler.py into the Lambda package `reaper`: standard library and botocore (the
EC2 client is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .decisions import LiveManager, _aware

# An instance tag: the subnets this manager's driver configs start tasks in, space-separated.
TASK_SUBNETS_TAG = "gitlab-runner-task-subnets"
LIVE_INSTANCE_STATES = frozenset({"pending", "running"})
DESCRIBE_INSTANCES_BATCH = 100


def task_subnets(instance: Mapping[str, Any]) -> frozenset[str] | None:
    """The instance's `TASK_SUBNETS_TAG` (space-separated subnet ids), None without it."""
    for tag in instance.get("Tags", []):
        if tag.get("Key") == TASK_SUBNETS_TAG:
            return frozenset(str(tag.get("Value", "")).split())
    return None


def describe_live_managers(ec2: Any, instance_ids: Sequence[str]) -> list[LiveManager]:
    """Each pending/running instance among `instance_ids`, with its launch time and subnets
    (DescribeInstances takes at most DESCRIBE_INSTANCES_BATCH ids per call)."""
    managers: list[LiveManager] = []
    for start in range(0, len(instance_ids), DESCRIBE_INSTANCES_BATCH):
        batch = list(instance_ids[start : start + DESCRIBE_INSTANCES_BATCH])
        for page in ec2.get_paginator("describe_instances").paginate(InstanceIds=batch):
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    launched = _aware(instance.get("LaunchTime"))
                    state = instance.get("State", {}).get("Name")
                    if launched is not None and state in LIVE_INSTANCE_STATES:
                        managers.append(LiveManager(launched, task_subnets(instance)))
    return managers
