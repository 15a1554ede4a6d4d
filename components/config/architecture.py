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
"""

from __future__ import annotations

from collections.abc import Sequence

from components.config.model import EcsSpec, RunnerSpec
from components.config.reader import Reader
from components.config.schema_ecs import DEFAULT_JOB_IMAGE

ARM64_TASK = "arm64"
ARM64_NODE = "arm64"
# Coordinator images taken as linux/amd64 only. The default is built from
# gitlab.com/tmaczukin-test-projects/fargate-driver-debian; the images derived from its
# Dockerfile in public code download gitlab-runner-linux-amd64 and tini-amd64, and no arm64
# build of it is known (its registry could not be queried from here).
AMD64_ONLY_IMAGES = (DEFAULT_JOB_IMAGE,)


def check_architectures(r: Reader, mode: str, runners: Sequence[RunnerSpec], ecs: EcsSpec) -> None:
    """Refuse arm64 where the chosen mode cannot run it."""
    if mode == "eks":
        for index, runner in enumerate(runners):
            if runner.architecture == ARM64_NODE and runner.lane == "fargate":
                r.problem(
                    f"runners[{index}] ({runner.name}).architecture: 'arm64' is not available on "
                    "the fargate lane: EKS Fargate runs x86_64 pods only (AWS containers-roadmap "
                    "issue 1629); use lane spot or privileged (Karpenter launches Graviton "
                    "nodes for them), or architecture amd64"
                )
        return
    for index, entry in enumerate(ecs.task_definitions):
        if entry.architecture == ARM64_TASK and entry.image in AMD64_ONLY_IMAGES:
            r.problem(
                f"ecs.taskDefinitions[{index}] ({entry.name}).image: '{entry.image}' is GitLab's "
                "example coordinator image, built for linux/amd64 only (no linux/arm64 build of "
                "it is known), so an arm64 task cannot start it (CannotPullContainerError: no "
                "matching manifest for linux/arm64); build the coordinator image (sshd on port "
                "22, gitlab-runner-linux-arm64) for linux/arm64 or as a multi-arch image and set "
                "it here, or use architecture x86_64"
            )
