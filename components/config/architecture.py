"""Cross-key checks for arm64 (Graviton) jobs: what the platforms cannot run is refused at
config time, with the reason, instead of failing every job after `pulumi up`.

- EKS Fargate runs x86_64 pods only (aws/containers-roadmap issue 1629, open; FACTS.md 9):
  arm64 is for the EC2 lanes, where Karpenter launches Graviton nodes.
- ECS Fargate runs ARM64 tasks on platform 1.4.0 (the only platform ecs.platformVersion
  admits), on FARGATE and, since 2024-09, on FARGATE_SPOT (ECS API reference,
  CapacityProviderStrategyItem: "FARGATE_SPOT supports Linux tasks with the ARM64 architecture
  on platform version 1.4.0 or later"), so a spot runner may use arm64 entries.
- The task runs its image as is: an arm64 entry needs a coordinator image with a linux/arm64
  variant. The program can only know that of its own default image (x86_64 only); any other
  image is the user's to build multi-arch (docs/ecs.md).

The rules are the fleets' own (domain/lane_rules.py `fargate_arm64_problem`,
domain/fleet_rules.py `amd64_image_problem`): a program of your own gets the same verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.config.model import EcsSpec, RunnerSpec
from components.config.reader import Reader
from components.domain.fleet_rules import amd64_image_problem
from components.domain.lane_rules import fargate_arm64_problem


def check_architectures(r: Reader, mode: str, runners: Sequence[RunnerSpec], ecs: EcsSpec) -> None:
    """Refuse arm64 where the chosen mode cannot run it."""
    if mode == "eks":
        for index, runner in enumerate(runners):
            r.report(fargate_arm64_problem(f"runners[{index}] ({runner.name})", runner))
        return
    for index, entry in enumerate(ecs.task_definitions):
        r.report(amd64_image_problem(f"ecs.taskDefinitions[{index}] ({entry.name})", entry))
