"""Day-2 edits must not replace the network, the EKS cluster, its Fargate profiles, or anything
whose delete has a side effect, must not remove the network, and must create or delete no
Fargate profile (adding or removing a runner, moving the managers to EC2).

Each edit is evaluated under the recording mocks next to the unedited example stack and the
engine-order model (components/offline/order.py) says what the engine would replace and
remove. A new subnet CIDR, a moved NAT gateway or a changed profile selector fails here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from components.offline.mocks import Plan
from components.offline.order import REPLACEMENT_INPUTS, removal, replacements
from tests.harness import dev_config, run_program, sentinel

NETWORK_TYPES = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
}
Edit = Callable[[dict[str, Any]], None]


def _concurrency_40_to_1000(config: dict[str, Any]) -> None:
    assert sum(r["concurrency"] for r in config["runners"]) == 40
    for runner in config["runners"]:
        runner["concurrency"] = 500


def _add_runner(config: dict[str, Any]) -> None:
    config["runners"].append({"name": "extra", "tags": ["extra"], "concurrency": 10})
    config["runnerTokens"]["extra"] = sentinel("extra")


def _remove_runner(config: dict[str, Any]) -> None:
    removed = config["runners"].pop()
    del config["runnerTokens"][removed["name"]]


def _manager_placement_ec2(config: dict[str, Any]) -> None:
    config["eks"] = {**(config.get("eks") or {}), "managerPlacement": "ec2"}


def _add_task_definition(config: dict[str, Any]) -> None:
    config["ecs"]["taskDefinitions"].append(
        {
            "name": "python",
            "image": "public.ecr.aws/docker/library/python:3.13",
            "cpu": 512,
            "memory": 1024,
        }
    )


def _bump_versions(config: dict[str, Any]) -> None:
    config["ecs"]["runnerVersion"] = "18.10.0"
    config["eks"] = {"runnerChartVersion": "0.87.0", "karpenterVersion": "1.14.2"}


def _change_retention(config: dict[str, Any]) -> None:
    config["logRetentionDays"] = 90


def _switch_lane(config: dict[str, Any]) -> None:
    config["runners"][1]["lane"] = "fargate"


EDITS: dict[str, Edit] = {
    "concurrency 40 -> 1000": _concurrency_40_to_1000,
    "add a runner": _add_runner,
    "remove a runner": _remove_runner,
    "switch managerPlacement to ec2": _manager_placement_ec2,
    "add a task definition": _add_task_definition,
    "bump versions": _bump_versions,
    "change log retention": _change_retention,
    "switch a runner's lane": _switch_lane,
}


def _base(mode: str) -> dict[str, Any]:
    return dev_config(mode=mode)


_BASELINES: dict[str, Plan] = {}


def _baseline(mode: str) -> Plan:
    if mode not in _BASELINES:
        _BASELINES[mode] = run_program(_base(mode))
    return _BASELINES[mode]


# The task definition catalogue exists in ecs mode only, manager placement in eks mode only.
ONLY_IN = {"add a task definition": "ecs", "switch managerPlacement to ec2": "eks"}
CASES = [
    (mode, edit) for edit in EDITS for mode in ("ecs", "eks") if ONLY_IN.get(edit, mode) == mode
]
PROFILE = "aws:eks/fargateProfile:FargateProfile"


@pytest.mark.parametrize(("mode", "edit"), CASES, ids=[f"{e}-{m}" for m, e in CASES])
def test_day2_edit_replaces_nothing_and_removes_no_network(mode: str, edit: str) -> None:
    before = _baseline(mode)
    config = copy.deepcopy(_base(mode))
    EDITS[edit](config)
    after = run_program(config)
    # Everything of the network (and, in eks mode, the cluster) survives the edit.
    gone = {r.type for wave in removal(before, after) for r in wave}
    assert not gone & {*NETWORK_TYPES, "eks:index:Cluster"}
    replaced = [(r.after.type, r.after.name, r.inputs) for r in replacements(before, after)]
    assert replaced == []
    # No Fargate profile is created or deleted either: each takes minutes, one at a time, and
    # deleting one deletes the pods it placed.
    profiles = [{r.urn for r in plan.all(PROFILE)} for plan in (before, after)]
    assert profiles[0] == profiles[1]


def test_the_table_covers_what_each_mode_creates() -> None:
    """Guards the test itself: it compares real resources, not an empty set."""
    ecs = {r.type for r in _baseline("ecs").resources}
    eks = {r.type for r in _baseline("eks").resources}
    assert ecs >= NETWORK_TYPES
    assert NETWORK_TYPES - {"aws:ec2/vpcEndpoint:VpcEndpoint"} <= eks
    assert {"eks:index:Cluster", "aws:eks/fargateProfile:FargateProfile"} <= eks
    assert set(REPLACEMENT_INPUTS) & ecs and set(REPLACEMENT_INPUTS) & eks
