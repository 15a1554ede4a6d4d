"""Builds the topology chosen by `mode` on top of the shared network.

Both topology components satisfy `Topology`: what the stack exports, and the runner files they
render (shown by the offline plan and checked by the golden-file tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pulumi

from components.config import StackConfig
from components.gitlab.runners import (
    GitLabRunners,
    GitLabRunnersArgs,
    RunnerTokens,
    configured_tokens,
)
from components.naming import PROJECT, cluster_name_for, resource_prefix
from components.observability.catalogue import metrics_namespace
from components.observability.monitoring import (
    FleetMonitoring,
    FleetMonitoringArgs,
    MonitoringTargets,
)
from components.preflight import run_preflight
from components.shared.cache import BuildCache, BuildCacheArgs
from components.shared.images import ImageCache, ImageCacheArgs, ImageCacheInfo
from components.shared.marker import TopologyMarker
from components.shared.network import Network, NetworkArgs

StackOutputs = Mapping[str, object]


class Topology(Protocol):
    """What `mode` selects: EcsFargateRunner or EksFargateRunner."""

    @property
    def stack_outputs(self) -> StackOutputs: ...

    @property
    def rendered_files(self) -> Mapping[str, pulumi.Output[str]]: ...

    @property
    def monitoring_targets(self) -> MonitoringTargets: ...

    @property
    def marker_readers(self) -> Sequence[pulumi.Resource]: ...


@dataclass(frozen=True)
class StackResult:
    outputs: StackOutputs  # exported as stack outputs
    rendered_files: Mapping[str, pulumi.Output[str]]  # runner config files, for the plan


def stack_tags(stack: str) -> dict[str, str]:
    return {"project": PROJECT, "stack": stack, "managed-by": "pulumi"}


def _build_topology(
    config: StackConfig,
    network: Network,
    tags: dict[str, str],
    tokens: RunnerTokens,
    build_cache: BuildCache | None,
    image_cache: ImageCacheInfo | None,
    retired: bool = False,
) -> Topology:
    if config.mode == "ecs":
        from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs

        return EcsFargateRunner(
            "ecs",
            EcsFargateRunnerArgs(
                config=config,
                network=network,
                tags=tags,
                tokens=tokens,
                cache=build_cache,
                image_cache=image_cache,
                retired=retired,
            ),
        )
    from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs

    return EksFargateRunner(
        "eks",
        EksFargateRunnerArgs(
            config=config,
            network=network,
            cluster_name=cluster_name_for(pulumi.get_stack()),
            tags=tags,
            tokens=tokens,
            cache=build_cache,
            image_cache=image_cache,
            retired=retired,
        ),
    )


def build_stack(config: StackConfig, warn: Callable[[str], None] = pulumi.log.warn) -> StackResult:
    """Check the account can carry the configured concurrency, then create every resource."""
    run_preflight(config, warn)
    tags = stack_tags(pulumi.get_stack())
    network = Network("network", NetworkArgs(config.network, tags))
    image_cache = None
    if config.images.pull_through_cache:
        image_cache = ImageCache(
            "images", ImageCacheArgs(config.images, pulumi.get_stack(), tags)
        ).info
        config = image_cache.apply_to(config)
    common: dict[str, object] = {
        "mode": config.mode,
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
    }
    if config.gitlab.create_runners:
        runners = GitLabRunners("gitlab", GitLabRunnersArgs(config))
        tokens: RunnerTokens = runners.tokens
        common["gitlabRunnerIds"] = runners.runner_ids
    else:
        tokens = configured_tokens(config)
    build_cache = None
    if config.cache.enabled:
        build_cache = BuildCache("cache", BuildCacheArgs(config.cache.expiration_days, tags))
        common["cacheBucket"] = build_cache.bucket_name
    if image_cache is not None:
        common["imageCache"] = image_cache.outputs()
    topology = _build_topology(config, network, tags, tokens, build_cache, image_cache)
    readers = list(topology.marker_readers)
    if config.retiring is not None:
        # switchFrom: the old topology stays, its managers at zero, until its jobs have ended.
        leaving = config.retiring
        if image_cache is not None:
            leaving = image_cache.apply_to(leaving)
        retired = _build_topology(
            leaving, network, tags, tokens, build_cache, image_cache, retired=True
        )
        readers += retired.marker_readers
        common["switchFrom"] = leaving.mode
    # Deleted first on destroy; survives a switch (components/shared/marker.py).
    TopologyMarker("topology", resource_prefix(pulumi.get_stack()), config.mode, tags, readers)
    if config.observability.enabled:
        stack = pulumi.get_stack()
        monitoring = FleetMonitoring(
            "observability",
            FleetMonitoringArgs(
                config=config,
                prefix=resource_prefix(stack),
                namespace=metrics_namespace(stack),
                targets=topology.monitoring_targets,
                tags=tags,
            ),
        )
        common["dashboardUrl"] = monitoring.dashboard_url
        if monitoring.topic_arn is not None:
            common["alertsTopicArn"] = monitoring.topic_arn
    return StackResult(
        outputs={**common, **topology.stack_outputs},
        rendered_files=topology.rendered_files,
    )
