"""The three doors of the fleets' value rules, for tests/package/test_three_doors_ecs.py and
_eks.py: a fleet written once as stack keys (`Case`; `runner`, `setting` and `task_definition`
write the common ones with only the keys a row is about), checked by the stack file's parser,
by the fleets' args check and by the component provider before construct."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.errors import InputPropertiesError
from pulumi.provider.experimental.component import ComponentProvider

from components.config import ConfigError, parse_config
from components.domain.fleet_rules import ecs_fleet_problems, eks_fleet_problems
from components.domain.specs import (
    EcsFleetSpec,
    EcsSpec,
    EksFleetSpec,
    EksSpec,
    RunnerSpec,
    TaskDefinitionSpec,
)
from tests.harness import ROOT, sentinel

sys.path.insert(0, str(ROOT / "provider"))
from fleet_args import EcsRunnerFleetArgs, EksRunnerFleetArgs, RunnerArgs, TaskDefinitionArgs
from fleet_provider import PACKAGE, fleet_provider

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
VPC = "vpc-0123456789abcdef0"
# The plugin's inputs (provider/fleet_args.py): flat, a section's keys beside the top level's.
PLUGIN_INPUTS = {
    "ecs": set(EcsRunnerFleetArgs.__annotations__),
    "eks": set(EksRunnerFleetArgs.__annotations__),
}
RUNNER_INPUTS = set(RunnerArgs.__annotations__)
TASK_INPUTS = set(TaskDefinitionArgs.__annotations__)


@dataclass(frozen=True)
class Case:
    """A fleet written as stack keys: `mode`, its runners, one section and top-level keys."""

    mode: str
    runners: tuple[dict[str, Any], ...] = ({"name": "build"},)
    section: dict[str, Any] = field(default_factory=dict)  # ecs: {...} or eks: {...}
    top: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [r["name"] for r in self.runners]

    def stack(self) -> list[str]:
        raw = {
            "mode": self.mode,
            "runners": list(self.runners),
            "runnerTokens": {n: sentinel(n) for n in self.names},
            "network": {"vpcId": VPC, "privateSubnetIds": SUBNETS},
            self.mode: self.section,
            **self.top,
        }
        try:
            parse_config(raw)
        except ConfigError as error:
            return error.problems
        return []

    def package(self) -> list[str]:
        runners = tuple(RunnerSpec(**_snake_keys(r)) for r in self.runners)
        settings = _snake_keys(self.section)
        top = _snake_keys(self.top)
        helper = top.pop("images", {}).get("helperImage")  # EksFleetSpec.helper_image
        top.update({"helper_image": helper} if helper else {})
        if self.mode == "ecs":
            if "task_definitions" in settings:
                settings["task_definitions"] = tuple(
                    _task_definition(t) for t in self.section["taskDefinitions"]
                )
            fleet = EcsFleetSpec(runners=runners, ecs=EcsSpec(**settings), **_url(top))
            return ecs_fleet_problems(fleet)
        return eks_fleet_problems(
            EksFleetSpec(runners=runners, eks=EksSpec(**settings), **_url(top))
        )

    def plugin_inputs(self) -> dict[str, Any]:
        """The plugin's inputs as the engine hands them over (numbers as floats); the plugin
        has an input for every setting of a spec (`images.helperImage` is `helperImage`)."""
        top = dict(self.top)
        given = {**self.section, **top.pop("images", {}), **top}
        entries = self.section.get("taskDefinitions", [])
        assert set(given) <= PLUGIN_INPUTS[self.mode], set(given) - PLUGIN_INPUTS[self.mode]
        assert all(set(r) <= RUNNER_INPUTS for r in self.runners), self.runners
        assert all(set(t) <= TASK_INPUTS for t in entries), entries
        inputs = {
            "namePrefix": "ci-runners",
            "runners": list(self.runners),
            "runnerTokens": {n: sentinel(n) for n in self.names},
            "vpcId": VPC,
            "privateSubnetIds": SUBNETS,
            **given,
        }
        if self.mode == "eks":
            inputs["clusterName"] = "ci-runners"
        return _wire(inputs)

    def plugin(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        inputs = self.plugin_inputs()
        # Past the checks, the SDK's construct would build the fleet: not needed here.
        monkeypatch.setattr(ComponentProvider, "construct", lambda *_a, **_k: "constructed")
        token = f"{PACKAGE}:index:{'Ecs' if self.mode == 'ecs' else 'Eks'}RunnerFleet"
        try:
            fleet_provider().construct("ci", token, inputs, pulumi.ResourceOptions())
        except InputPropertiesError as refused:
            return [e["reason"] for e in refused.errors or []]
        return []


def runner(mode: str, **fields: Any) -> Case:
    """A fleet of the one runner `build` with `fields`, nothing else set."""
    return Case(mode, ({"name": "build", **fields},))


def setting(mode: str, **keys: Any) -> Case:
    """The default runner, with `keys` in the mode's section (`ecs:` or `eks:`)."""
    return Case(mode, section=keys)


def task_definition(**fields: Any) -> Case:
    """The default runner, with one ecs.taskDefinitions entry `d` (image `d`) and `fields`."""
    return Case("ecs", section={"taskDefinitions": [{"name": "d", "image": "d", **fields}]})


def _snake_keys(values: dict[str, Any]) -> dict[str, Any]:
    snake = {
        re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower().replace("gi_b", "gib"): v
        for k, v in values.items()
    }
    return {k: tuple(v) if isinstance(v, list) else v for k, v in snake.items()}


def _task_definition(raw: dict[str, Any]) -> TaskDefinitionSpec:
    values = _snake_keys(raw)
    values["environment"] = tuple(sorted(raw.get("environment", {}).items()))
    return TaskDefinitionSpec(**values)


def _url(top: dict[str, Any]) -> dict[str, Any]:
    return {"gitlab_url": "https://gitlab.com", **top}


def _wire(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def one_message_per_door(case: Case, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every door refuses the case with exactly one message starting `message`, the same one."""
    doors = {
        "stack file": case.stack(),
        "package": case.package(),
        "plugin": case.plugin(monkeypatch),
    }
    found = {
        door: [p for p in problems if p.startswith(message)] for door, problems in doors.items()
    }
    for door, matches in found.items():
        assert len(matches) == 1, (door, doors[door])
    assert len({m for matches in found.values() for m in matches}) == 1, found
    assert "hunter2" not in repr(doors)


def passes_every_door(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    assert case.stack() == []
    assert case.package() == []
    assert case.plugin(monkeypatch) == []
