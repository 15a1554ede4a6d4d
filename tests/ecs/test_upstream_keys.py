"""Every key the manager's files hold is one the installed gitlab-runner / driver reads.

The key lists are extracted from upstream source (tests/upstream/*.json, with provenance);
gitlab-runner's is for the exact version this program installs by default."""

from __future__ import annotations

import json
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.config import schema
from components.offline.mocks import Plan

UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"


@cache
def facts(name: str) -> dict[str, Any]:
    return json.loads((UPSTREAM / name).read_text(encoding="utf-8"))


def runner_keys(section: str) -> set[str]:
    return set(facts("gitlab-runner-config.json")["sections"][section]["keys"])


def unknown_runner_keys(document: dict[str, Any]) -> list[str]:
    """Dotted paths of config.toml keys that gitlab-runner has no field for."""
    unknown = [f"global.{k}" for k in document if k not in runner_keys("global")]
    for runner in document.get("runners", []):
        for key, value in runner.items():
            if key not in runner_keys("runners"):
                unknown.append(f"runners.{key}")
            elif isinstance(value, dict):
                unknown += [
                    f"runners.{key}.{k}" for k in value if k not in runner_keys(f"runners.{key}")
                ]
    return unknown


def test_the_key_list_is_for_the_runner_version_we_install() -> None:
    ref = facts("gitlab-runner-config.json")["provenance"]["ref"]
    assert ref.startswith(f"v{schema.ECS_SECTION.default('runnerVersion')} ")


def test_the_check_catches_a_key_gitlab_runner_does_not_know() -> None:
    old = {"concurrent": 1, "runners": [{"name": "x", "custom": {"run_exec_timeout": 3600}}]}
    assert unknown_runner_keys(old) == ["runners.custom.run_exec_timeout"]


def config_tomls(plan: Plan) -> list[dict[str, Any]]:
    return [
        tomllib.loads(text)
        for path, text in plan.rendered_files.items()
        if path.endswith("/config.toml")
    ]


# ecs_company_plan: tls-ca-file and environment (gitlab.caBundle, network.httpProxy).
@pytest.mark.parametrize("plan", ["ecs_dev_plan", "ecs_sharded_plan", "ecs_company_plan"])
def test_every_config_toml_key_is_known_to_gitlab_runner(
    plan: str, request: pytest.FixtureRequest
) -> None:
    documents = config_tomls(request.getfixturevalue(plan))
    assert documents
    for document in documents:
        assert unknown_runner_keys(document) == []


@pytest.mark.parametrize("plan", ["ecs_dev_plan", "ecs_sharded_plan"])
def test_every_fargate_toml_key_is_known_to_the_driver(
    plan: str, request: pytest.FixtureRequest
) -> None:
    sections = facts("fargate-driver.json")["sections"]
    rendered = request.getfixturevalue(plan).rendered_files
    tomls = [t for p, t in rendered.items() if "/fargate-" in p]
    assert tomls
    for text in tomls:
        document = tomllib.loads(text)
        for key, value in document.items():
            if isinstance(value, dict):
                assert set(value) <= set(sections[key]["keys"]), key
            else:
                assert key in sections["top-level"]["keys"], key
        # The driver SSHes to the public IP when this is set; the task SG would refuse it.
        assert document["Fargate"]["EnablePublicIP"] is False
    assert facts("fargate-driver.json")["facts"]["UsePublicIP_in_config"] is False
