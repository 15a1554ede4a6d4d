"""Naming, container definitions and the example pipeline for the task definition catalogue.

Pure functions of the typed config, so the names users paste into FARGATE_TASK_DEFINITION are
known (and tested) without running Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from components.domain.specs import EcsFleetSpec, TaskDefinitionSpec

# The Fargate driver injects SSH_PUBLIC_KEY only into the container with exactly this name.
COORDINATOR_CONTAINER = "ci-coordinator"
SSH_PORT = 22
# Fargate's free ephemeral storage; asking for exactly this is the same as not asking.
DEFAULT_EPHEMERAL_STORAGE_GIB = 20
# The catalogue's `architecture` as ECS RuntimePlatform.cpuArchitecture spells it. The Fargate
# driver's RunTask call names only the task definition (tests/upstream/architectures.json), so
# the task definition alone decides where a job runs.
CPU_ARCHITECTURES = {"x86_64": "X86_64", "arm64": "ARM64"}


def task_family(prefix: str, entry_name: str) -> str:
    """Stable, readable family: what users put in FARGATE_TASK_DEFINITION."""
    return f"{prefix}-{entry_name}"


def container_definitions(
    entry: TaskDefinitionSpec, log_group_name: str, region: str
) -> list[dict[str, Any]]:
    """The single `ci-coordinator` container: the job image with sshd on port 22; with a
    repositoryCredentialsArn, ECS logs in to the image's registry with that secret."""
    credentials = entry.repository_credentials_arn
    return [
        {
            "name": COORDINATOR_CONTAINER,
            "image": entry.image,
            **(
                {"repositoryCredentials": {"credentialsParameter": credentials}}
                if credentials
                else {}
            ),
            "essential": True,
            "portMappings": [{"containerPort": SSH_PORT, "hostPort": SSH_PORT, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in entry.environment],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group_name,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": entry.name,
                },
            },
        }
    ]


def runtime_platform(entry: TaskDefinitionSpec) -> dict[str, str]:
    """The task definition's runtimePlatform: Linux on the entry's CPU architecture."""
    return {
        "operating_system_family": "LINUX",
        "cpu_architecture": CPU_ARCHITECTURES[entry.architecture],
    }


def needs_ephemeral_storage(entry: TaskDefinitionSpec) -> bool:
    return entry.ephemeral_storage_gib > DEFAULT_EPHEMERAL_STORAGE_GIB


def render_gitlab_ci_example(config: EcsFleetSpec, families: Mapping[str, str]) -> str:
    """A ready-to-paste .gitlab-ci.yml exercising the default, catalogue and spot paths."""
    first = config.runners[0]
    on_demand = next((r for r in config.runners if r.lane != "spot"), first)
    spot = next((r for r in config.runners if r.lane == "spot"), None)

    def script() -> list[str]:  # a fresh list per job: no YAML anchors in the example
        return ['echo "running on $CI_RUNNER_DESCRIPTION"', "cat /etc/os-release"]

    jobs: dict[str, Any] = {
        "fargate-default": {"tags": [on_demand.tags[0]], "script": script()},
    }
    other = next(
        (t for t in config.ecs.task_definitions if t.name != on_demand.task_definition), None
    )
    if other is not None:
        jobs[f"fargate-{other.name}"] = {
            "tags": [on_demand.tags[0]],
            "variables": {"FARGATE_TASK_DEFINITION": families[other.name]},
            "script": script(),
        }
    if spot is not None:
        jobs["fargate-spot"] = {
            "tags": [spot.tags[0]],
            # Spot tasks can be stopped with two minutes' notice: let GitLab retry them.
            "retry": {"max": 2, "when": ["runner_system_failure", "stuck_or_timeout_failure"]},
            "script": script(),
        }
    header = (
        "# .gitlab-ci.yml for the ECS Fargate runners of this stack.\n"
        "# `image:` and `services:` are ignored: the task definition decides the image.\n"
        "# FARGATE_TASK_DEFINITION picks another entry of the catalogue (family or family:rev).\n"
    )
    return header + yaml.safe_dump(jobs, sort_keys=False, width=100)
