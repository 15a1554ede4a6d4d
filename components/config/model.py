"""The typed stack configuration: StackConfig, built by components/config/parse.py from the
settings types in components/domain/specs.py (re-exported here).

Field names are the snake_case of the keys in components/config/schema.py (a test keeps the two
in step); derived values (the resolved task definition, the subnet layout) are filled in by the
parser after cross-key checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.domain.specs import (
    AlertsSpec,
    CacheSpec,
    EcsSpec,
    EksSpec,
    GitLabSpec,
    GitLabToken,
    ImagesSpec,
    NetworkSpec,
    ObservabilitySpec,
    PreflightSpec,
    RunnerSpec,
    RunnerToken,
    TaskDefinitionSpec,
)

__all__ = [
    "AlertsSpec",
    "CacheSpec",
    "ConfigError",
    "EcsSpec",
    "EksSpec",
    "GitLabSpec",
    "GitLabToken",
    "ImagesSpec",
    "NetworkSpec",
    "ObservabilitySpec",
    "PreflightSpec",
    "RunnerSpec",
    "RunnerToken",
    "StackConfig",
    "TaskDefinitionSpec",
]


class ConfigError(pulumi.RunError):
    """All problems found in the stack configuration, one per line.

    A RunError, so `pulumi preview` prints the message without a Python traceback."""

    def __init__(self, problems: list[str], warnings: Sequence[str] = ()):
        self.problems = problems
        self.warnings = list(warnings)  # shown after the problems: they often explain them
        lines = "\n".join(f"  - {p}" for p in problems)
        text = f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}"
        if self.warnings:
            text += "\nwarnings:\n" + "\n".join(f"  - {w}" for w in self.warnings)
        super().__init__(text)


@dataclass(frozen=True)
class StackConfig:
    mode: str
    gitlab_url: str
    log_retention_days: int
    runners: tuple[RunnerSpec, ...]
    runner_tokens: tuple[tuple[str, RunnerToken], ...]  # empty with gitlab.create_runners
    network: NetworkSpec
    ecs: EcsSpec
    eks: EksSpec
    gitlab: GitLabSpec
    gitlab_token: GitLabToken | None  # set exactly when gitlab.create_runners
    cache: CacheSpec
    images: ImagesSpec
    preflight: PreflightSpec
    observability: ObservabilitySpec
    alerts: AlertsSpec
    # switchFrom: the same config for the topology being left (its managers retired).
    retiring: StackConfig | None = None

    def token_for(self, runner_name: str) -> RunnerToken:
        return dict(self.runner_tokens)[runner_name]

    @property
    def total_concurrency(self) -> int:
        return sum(r.concurrency for r in self.runners)
