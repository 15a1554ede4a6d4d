"""An ECS GitLab runner fleet in a VPC you already have, built from the component package.

Nothing here reads the stack-config loader of the repository's own program: the fleet takes
its args directly. Two runners (on-demand and Fargate Spot) share one task definition
catalogue; their jobs pick an entry with FARGATE_TASK_DEFINITION.
"""

import pulumi

from components.domain.specs import EcsFleetSpec, EcsSpec, RunnerSpec, TaskDefinitionSpec
from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs
from components.shared.cache import BuildCache, BuildCacheArgs
from components.shared.network import VpcRefs

NAME_PREFIX = "ci-runners"  # clusters, task families, log groups: unique per account and region
TAGS = {"team": "platform", "managed-by": "pulumi"}
DEBIAN = "registry.gitlab.com/tmaczukin-test-projects/fargate-driver-debian:latest"


def build() -> dict[str, object]:
    config = pulumi.Config()
    cache = BuildCache(
        "ci-cache",
        BuildCacheArgs(expiration_days=14, tags=TAGS, bucket_prefix=f"{NAME_PREFIX}-cache-"),
    )
    fleet = EcsFargateRunner(
        "ci",
        EcsFargateRunnerArgs(
            fleet=EcsFleetSpec(
                gitlab_url=config.get("gitlabUrl") or "https://gitlab.com",
                runners=(
                    RunnerSpec(name="build", tags=("build",), concurrency=20),
                    RunnerSpec(name="build-spot", tags=("spot",), concurrency=20, lane="spot"),
                ),
                ecs=EcsSpec(
                    task_definitions=(TaskDefinitionSpec(name="debian", image=DEBIAN),),
                ),
            ),
            # Your VPC: its NAT and routes are not in this program, so there is nothing to
            # keep alive on destroy (`egress`). In a program that creates them, pass them.
            network=VpcRefs(
                vpc_id=config.require("vpcId"),
                private_subnet_ids=config.require_object("privateSubnetIds"),
            ),
            name_prefix=NAME_PREFIX,
            metrics_namespace="CIRunners",
            tokens={
                "build": config.require_secret("buildToken"),
                "build-spot": config.require_secret("buildSpotToken"),
            },
            tags=TAGS,
            cache=cache.bucket(),
        ),
    )
    return {
        "clusterName": fleet.clusters["fargate"].name,
        "taskDefinitionFamilies": {n: t.family for n, t in fleet.task_definitions.items()},
        "gitlabCiExample": fleet.stack_outputs["gitlabCiExample"],
    }


if __name__ == "__main__":
    for key, value in build().items():
        pulumi.export(key, value)
