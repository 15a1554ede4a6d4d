"""The fleets as a Pulumi component package: `EcsRunnerFleet` and `EksRunnerFleet`.

Pulumi's component analyzer (pulumi/provider/experimental/analyzer.py) reads the schema from
the annotations: each `__init__` takes `args` typed by a TypedDict of fleet_args.py, and the
class's annotated public attributes are its outputs. This module must not use `from __future__
import annotations` (the analyzer reads real types).

Each fleet maps its args onto the package's own args (components/domain/specs.py) with the pure
`*_spec` functions of fleet_specs.py and builds the same component the stack program builds, as
its child.
"""

import pulumi
from fleet_args import EcsRunnerFleetArgs, EksRunnerFleetArgs
from fleet_specs import (
    FleetArgs,
    cache_expiration_days,
    ecs_fleet_spec,
    eks_fleet_spec,
    existing_cluster,
    kubeconfig_credentials,
)

from components.domain.specs import RunnerSpec
from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs
from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs
from components.observability.catalogue import metrics_namespace
from components.shared.cache import BuildCache, BuildCacheArgs, CacheBucket, bucket_prefix_for
from components.shared.network import VpcRefs


def _tokens(args: FleetArgs, runners: tuple[RunnerSpec, ...]) -> dict[str, pulumi.Output[str]]:
    """One secret Output per runner, from the map (secret whatever the caller passed)."""
    every = pulumi.Output.secret(args["runnerTokens"])
    return {r.name: every.apply(lambda t, n=r.name: t[n]) for r in runners}


def _cache(name: str, args: FleetArgs, parent: pulumi.Resource) -> CacheBucket | None:
    """Your bucket, a new one, or none (the provider refuses a bucket with buildCache false)."""
    yours = args.get("buildCacheBucket")
    if yours is not None:
        return CacheBucket(yours["name"], yours["arn"], yours["region"])
    if not args.get("buildCache", True):
        return None
    return BuildCache(
        f"{name}-cache",
        BuildCacheArgs(
            expiration_days=cache_expiration_days(args),
            tags=dict(args.get("tags") or {}),
            bucket_prefix=bucket_prefix_for(args["namePrefix"]),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    ).bucket()


def _network(args: FleetArgs) -> VpcRefs:
    return VpcRefs(
        vpc_id=args["vpcId"],
        private_subnet_ids=args["privateSubnetIds"],
        public_subnet_ids=args.get("publicSubnetIds"),
    )


class EcsRunnerFleet(pulumi.ComponentResource):
    """GitLab runner managers on EC2 (custom executor + GitLab's AWS Fargate driver) that run
    every CI job as an ECS Fargate task, with a task definition catalogue, a task reaper and,
    by default, an S3 build cache and CloudWatch metrics."""

    clusterName: pulumi.Output[str]
    """The on-demand ECS cluster."""
    taskDefinitionFamilies: pulumi.Output[dict[str, str]]
    """Catalogue entry -> task family: what jobs set in FARGATE_TASK_DEFINITION."""
    managerAutoScalingGroupNames: pulumi.Output[list[str]]
    """One Auto Scaling group per runner manager."""
    gitlabCiExample: pulumi.Output[str]
    """A .gitlab-ci.yml that exercises the runners."""

    def __init__(
        self, name: str, args: EcsRunnerFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gitlab-fargate-runners:index:EcsRunnerFleet", name, {}, opts)
        spec = ecs_fleet_spec(args)
        cache = _cache(name, args, self)
        fleet = EcsFargateRunner(
            f"{name}-ecs",
            EcsFargateRunnerArgs(
                fleet=spec,
                network=_network(args),
                name_prefix=args["namePrefix"],
                metrics_namespace=metrics_namespace(args["namePrefix"]),
                tokens=_tokens(args, spec.runners),
                tags=dict(args.get("tags") or {}),
                cache=cache,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.clusterName = fleet.clusters["fargate"].name
        self.taskDefinitionFamilies = pulumi.Output.all(
            **{n: t.family for n, t in fleet.task_definitions.items()}
        )
        self.managerAutoScalingGroupNames = pulumi.Output.all(
            *[g.name for g in fleet.managers.groups]
        )
        self.gitlabCiExample = pulumi.Output.from_input(fleet.stack_outputs["gitlabCiExample"])
        self.register_outputs(
            {
                "clusterName": self.clusterName,
                "taskDefinitionFamilies": self.taskDefinitionFamilies,
                "managerAutoScalingGroupNames": self.managerAutoScalingGroupNames,
                "gitlabCiExample": self.gitlabCiExample,
            }
        )


class EksRunnerFleet(pulumi.ComponentResource):
    """A Fargate-backed EKS cluster with Karpenter and one gitlab-runner Helm release per
    runner (Kubernetes executor: jobs' `image:` and `services:` are honoured); EC2 lanes for
    spot, privileged (Docker-in-Docker) and arm64 jobs."""

    clusterName: pulumi.Output[str]
    """The EKS cluster."""
    kubeconfig: pulumi.Output[str]
    """A kubeconfig for the cluster (secret)."""
    gitlabCiExample: pulumi.Output[str]
    """A .gitlab-ci.yml that exercises the runners."""
    podExecutionRoleArn: pulumi.Output[str] | None
    """With `existingCluster`: the fleet's Fargate pod execution role, for the cluster's owner
    to grant its Fargate log group to (docs/bring-your-own.md)."""
    karpenterNodeRoleArns: pulumi.Output[dict[str, str]] | None
    """With `existingCluster` and karpenter "existing": node class -> the fleet's node role,
    which the cluster's Karpenter must be allowed to pass (iam:PassRole)."""

    def __init__(
        self, name: str, args: EksRunnerFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gitlab-fargate-runners:index:EksRunnerFleet", name, {}, opts)
        spec = eks_fleet_spec(args)
        cache = _cache(name, args, self)
        fleet = EksFargateRunner(
            f"{name}-eks",
            EksFargateRunnerArgs(
                fleet=spec,
                network=_network(args),
                cluster_name=args["clusterName"],
                name_prefix=args["namePrefix"],
                metrics_namespace=metrics_namespace(args["namePrefix"]),
                tokens=_tokens(args, spec.runners),
                tags=dict(args.get("tags") or {}),
                cache=cache,
                existing_cluster=existing_cluster(args),
                kubeconfig_credentials=kubeconfig_credentials(args),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.clusterName = pulumi.Output.from_input(args["clusterName"])
        self.kubeconfig = pulumi.Output.secret(fleet.stack_outputs["kubeconfig"])
        self.gitlabCiExample = pulumi.Output.from_input(fleet.stack_outputs["gitlabCiExample"])
        # Only a fleet on a cluster it joins has them (components/eks/runner.py).
        joined = {
            key: pulumi.Output.from_input(fleet.stack_outputs[key])
            for key in ("podExecutionRoleArn", "karpenterNodeRoleArns")
            if key in fleet.stack_outputs
        }
        self.podExecutionRoleArn = joined.get("podExecutionRoleArn")
        self.karpenterNodeRoleArns = joined.get("karpenterNodeRoleArns")
        self.register_outputs(
            {
                "clusterName": self.clusterName,
                "kubeconfig": self.kubeconfig,
                "gitlabCiExample": self.gitlabCiExample,
                **joined,
            }
        )
