"""Day-2 edits must not replace the network, the EKS cluster or its Fargate profiles.

Each edit is evaluated under the recording mocks next to the unedited example stack; for every
resource both plans hold, the inputs that force a replacement (per the AWS/EKS providers) must
be equal. A new subnet CIDR, a moved NAT gateway or a changed profile selector fails here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from components.offline.mocks import Plan
from tests.harness import dev_config, run_program, sentinel

# Inputs whose change makes the provider replace the resource (and everything placed in it).
REPLACEMENT_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "vpcId"),
    "aws:ec2/eip:Eip": ("domain",),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcId", "vpcEndpointType"),
    "eks:index:Cluster": ("name", "vpcId", "privateSubnetIds", "publicSubnetIds", "fargate"),
    "aws:eks/fargateProfile:FargateProfile": (
        "clusterName",
        "fargateProfileName",
        "podExecutionRoleArn",
        "selectors",
        "subnetIds",
    ),
}
Edit = Callable[[dict[str, Any]], None]


def _concurrency_40_to_1000(config: dict[str, Any]) -> None:
    assert sum(r["concurrency"] for r in config["runners"]) == 40
    for runner in config["runners"]:
        runner["concurrency"] = 500


def _add_runner(config: dict[str, Any]) -> None:
    config["runners"].append({"name": "extra", "tags": ["extra"], "concurrency": 10})
    config["runnerTokens"]["extra"] = sentinel("extra")


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
    "add a task definition": _add_task_definition,
    "bump versions": _bump_versions,
    "change log retention": _change_retention,
    "switch a runner's lane": _switch_lane,
}


def _base(mode: str) -> dict[str, Any]:
    return dev_config(mode=mode)


def _forcing_inputs(plan: Plan) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (r.type, r.name): {key: r.inputs.get(key) for key in keys}
        for r in plan.resources
        for type_, keys in REPLACEMENT_INPUTS.items()
        if r.type == type_
    }


_BASELINES: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}


def _baseline(mode: str) -> dict[tuple[str, str], dict[str, Any]]:
    if mode not in _BASELINES:
        _BASELINES[mode] = _forcing_inputs(run_program(_base(mode)))
    return _BASELINES[mode]


# The task definition catalogue exists in ecs mode only.
CASES = [
    (mode, edit)
    for edit in EDITS
    for mode in ("ecs", "eks")
    if not (mode == "eks" and edit == "add a task definition")
]


@pytest.mark.parametrize(("mode", "edit"), CASES, ids=[f"{e}-{m}" for m, e in CASES])
def test_day2_edit_replaces_no_network_cluster_or_profile(mode: str, edit: str) -> None:
    before = _baseline(mode)
    config = copy.deepcopy(_base(mode))
    EDITS[edit](config)
    after = _forcing_inputs(run_program(config))
    kept = set(before) & set(after)
    # Everything of the network (and, in eks mode, the cluster and system profile) survives.
    assert {k for k in before if k[0] != "aws:eks/fargateProfile:FargateProfile"} <= kept
    changed = {key: (before[key], after[key]) for key in kept if before[key] != after[key]}
    assert changed == {}


def test_the_table_covers_what_each_mode_creates() -> None:
    """Guards the test itself: it compares real resources, not an empty set."""
    ecs = {t for t, _ in _baseline("ecs")}
    eks = {t for t, _ in _baseline("eks")}
    network = {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"}
    assert network | {"aws:ec2/vpcEndpoint:VpcEndpoint"} <= ecs
    assert network | {"eks:index:Cluster", "aws:eks/fargateProfile:FargateProfile"} <= eks
