"""The `ecs` section of the stack config: the managers' settings and the task definition
catalogue (split from parse.py, which reads the rest)."""

from __future__ import annotations

from typing import Any

from components.config import schema
from components.config.model import EcsSpec, TaskDefinitionSpec
from components.config.reader import Reader, shown
from components.config.schema_ecs import DEFAULT_JOB_IMAGE
from components.domain.fleet_rules import (
    duplicate_problems,
    fargate_size_problem,
    image_required_problem,
    name_problem,
)
from components.domain.section_rules import environment_problems

DEFAULT_TASK_DEFINITIONS = [{"name": "debian", "image": DEFAULT_JOB_IMAGE}]


def read_name(r: Reader, path: str, value: Any, example: str) -> str | None:
    """A runner or catalogue name: it becomes part of namespaces, families and resources."""
    problem = name_problem(path, value, example)
    if problem is None:
        return value
    r.problem(problem)
    return None


def _parse_task_definition(r: Reader, index: int, raw: Any) -> TaskDefinitionSpec | None:
    label = f"ecs.taskDefinitions[{index}]"
    if not isinstance(raw, dict):
        r.problem(f"{label}: expected an object, got {shown(raw)}")
        return None
    name = read_name(r, label, raw.get("name"), "debian") or f"task-{index}"
    label = f"ecs.taskDefinitions[{index}] ({name})"
    values = schema.TASK_DEFINITION.read(
        r, label, {k: v for k, v in raw.items() if k != "name"}, "ecs"
    )
    values["name"] = name
    if values["image"] is None and raw.get("image") is None:  # a bad one is reported
        r.problem(image_required_problem(label))
    values["image"] = values["image"] or ""
    r.report(fargate_size_problem(label, values["cpu"], values["memory"]))
    values["environment"] = read_environment(r, label, values["environment"])
    return TaskDefinitionSpec(**values)


def read_environment(r: Reader, label: str, value: Any) -> tuple[tuple[str, str], ...]:
    """A catalogue entry's `environment`: text values under variable names (their rule:
    section_rules.py `environment_problems`), sorted (the container definition lists them in
    this order)."""
    environment = r.string_map(f"{label}.environment", value, '{"TZ": "UTC"}')
    r.report(*environment_problems(label, list(environment)))
    return tuple(sorted(environment.items()))


def parse_ecs(r: Reader, raw: Any, mode: str) -> EcsSpec:
    values = schema.ECS_SECTION.read(r, "ecs", raw, mode)
    raw_defs = values["task_definitions"]
    if raw_defs is None:
        raw_defs = DEFAULT_TASK_DEFINITIONS
    if not isinstance(raw_defs, list) or not raw_defs:
        r.problem(
            f"ecs.taskDefinitions: expected a non-empty list of {{name, image, cpu, memory}}, "
            f"got {shown(raw_defs)}; the first entry is every runner's default (delete the key "
            "for the default catalogue)"
        )
        raw_defs = DEFAULT_TASK_DEFINITIONS
    parsed = [_parse_task_definition(r, i, d) for i, d in enumerate(raw_defs)]
    values["task_definitions"] = tuple(t for t in parsed if t is not None)
    r.report(
        *duplicate_problems("ecs.taskDefinitions", [t.name for t in values["task_definitions"]])
    )
    if mode == "ecs" and values["driver_sha256"] is None:
        r.warn(
            f"ecs.driverSha256 is not set: the Fargate driver {values['driver_version']} is "
            "checked only against a checksum file published next to it, and none is known, so "
            "managers install it UNVERIFIED and log its SHA-256 (docs/ecs-operations.md); pin "
            "it: pulumi config set --path ecs.driverSha256 <64 hex digits>"
        )
    return EcsSpec(**values)
