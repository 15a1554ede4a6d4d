"""Builds the topology chosen by `mode` on top of the shared network.

Both topology components satisfy `Topology`: what the stack exports, and the runner files they
render (shown by the offline plan and checked by the golden-file tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import pulumi

from components.config import ConfigError, StackConfig
from components.config.egress import proxy_environment
from components.domain.specs import EcsFleetSpec, EksFleetSpec, ExistingCluster
from components.gitlab.provider_ca import write_provider_ca
from components.gitlab.runners import GitLabRunners, GitLabRunnersArgs, RunnerTokens
from components.naming import PROJECT, cluster_name_for, resource_prefix
from components.observability.catalogue import metrics_namespace
from components.observability.monitoring import (
    FleetMonitoring,
    FleetMonitoringArgs,
    MonitoringTargets,
)
from components.preflight import run_preflight
from components.shared.cache import BuildCache, BuildCacheArgs, CacheBucket, bucket_prefix
from components.shared.images import (
    ImageCache,
    ImageCacheArgs,
    ImageCacheInfo,
    default_repository_prefix,
)
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


def ecs_fleet_spec(config: StackConfig) -> EcsFleetSpec:
    """What the ECS fleet takes from the stack config."""
    return EcsFleetSpec(
        gitlab_url=config.gitlab_url,
        runners=config.runners,
        ecs=config.ecs,
        log_retention_days=config.log_retention_days,
        observability=config.observability,
        ca_bundle=config.gitlab.ca_bundle,
        proxy_environment=proxy_environment(config),
    )


def eks_fleet_spec(config: StackConfig) -> EksFleetSpec:
    """What the EKS fleet takes from the stack config."""
    return EksFleetSpec(
        gitlab_url=config.gitlab_url,
        runners=config.runners,
        eks=config.eks,
        log_retention_days=config.log_retention_days,
        observability=config.observability,
        helper_image=config.images.helper_image,
        ca_bundle=config.gitlab.ca_bundle,
        proxy_environment=proxy_environment(config),
    )


def existing_cluster(config: StackConfig) -> ExistingCluster | None:
    """eks.existingCluster and eks.karpenter as the fleet's arg (preflight checked it)."""
    if config.eks.existing_cluster is None:
        return None
    return ExistingCluster(config.eks.existing_cluster, config.eks.karpenter)


def configured_tokens(config: StackConfig) -> RunnerTokens:
    """{runner name: secret token} from runnerTokens (runners created by hand in GitLab)."""
    return {r.name: pulumi.Output.secret(config.token_for(r.name).value) for r in config.runners}


def maximum_timeout(config: StackConfig) -> int:
    """The longest job GitLab gives these runners: what a stopping manager waits for.

    ECS: ecs.jobTimeoutSeconds; EKS: eks.jobTimeoutSeconds. Each is what a stopping manager
    waits for (there is no run_exec_timeout), so a job GitLab lets run longer would be cut."""
    if config.mode == "ecs":
        return config.ecs.job_timeout_seconds
    return config.eks.job_timeout_seconds


def through_image_cache(config: StackConfig, cache: ImageCacheInfo) -> StackConfig:
    """The config with its default images pointed at the cache (a user-set helper image is
    kept as written). A catalogue entry with its own registry login (repositoryCredentialsArn)
    keeps its image: the cache would pull it with the rule's credential, not that login, and
    ECS would be handed a registry login for an ECR image."""
    definitions = tuple(
        t if t.repository_credentials_arn else replace(t, image=cache.cached(t.image))
        for t in config.ecs.task_definitions
    )
    return replace(
        config,
        ecs=replace(config.ecs, task_definitions=definitions),
        eks=replace(config.eks, default_job_image=cache.cached(config.eks.default_job_image)),
        images=replace(
            config.images, helper_image=config.images.helper_image or cache.helper_image()
        ),
    )


def kubeconfig_credentials(aws_config: pulumi.Config) -> tuple[str | None, str | None]:
    """The AWS provider's profile and the role it assumes last (`aws:assumeRoles`), which the
    provider's kubeconfig must use too. Other credential sources (environment variables,
    AWS_PROFILE) reach `aws eks get-token` through the environment it inherits."""
    profile = aws_config.get("profile") or None
    roles = aws_config.get_object("assumeRoles") or []
    role = None
    if isinstance(roles, list) and roles and isinstance(roles[-1], dict):
        role = roles[-1].get("roleArn") or None
    return profile, role


def _build_topology(
    config: StackConfig,
    network: Network,
    tags: dict[str, str],
    tokens: RunnerTokens,
    build_cache: CacheBucket | None,
    image_cache: ImageCacheInfo | None,
    retired: bool = False,
) -> Topology:
    stack = pulumi.get_stack()
    if config.mode == "ecs":
        from components.ecs.runner import EcsFargateRunner, EcsFargateRunnerArgs

        return EcsFargateRunner(
            "ecs",
            EcsFargateRunnerArgs(
                fleet=ecs_fleet_spec(config),
                network=network.refs(),
                name_prefix=resource_prefix(stack),
                metrics_namespace=metrics_namespace(stack),
                tags=tags,
                tokens=tokens,
                cache=build_cache,
                image_cache=image_cache,
                retired=retired,
            ),
        )
    from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs

    existing = existing_cluster(config)
    return EksFargateRunner(
        "eks",
        EksFargateRunnerArgs(
            fleet=eks_fleet_spec(config),
            network=network.refs(),
            cluster_name=existing.name if existing is not None else cluster_name_for(stack),
            existing_cluster=existing,
            name_prefix=resource_prefix(stack),
            metrics_namespace=metrics_namespace(stack),
            tags=tags,
            tokens=tokens,
            cache=build_cache,
            image_cache=image_cache,
            kubeconfig_credentials=kubeconfig_credentials(pulumi.Config("aws")),
            retired=retired,
        ),
    )


def provider_ca_file(config: StackConfig) -> str | None:
    """With createRunners and caBundle, the CA file the GitLab provider reads on this machine
    (components/gitlab/provider_ca.py), written before any resource so that a checkout it
    cannot be written in stops the program before anything is created."""
    bundle = config.gitlab.ca_bundle
    if not (config.gitlab.create_runners and bundle):
        return None
    try:
        return write_provider_ca(bundle)
    except OSError as error:
        raise ConfigError(
            [
                f"gitlab.caBundle: cannot write the GitLab provider's CA file "
                f"({error}); gitlab.createRunners reads it from the project directory: run "
                "pulumi in a writable checkout of the project"
            ]
        ) from error


def build_stack(config: StackConfig, warn: Callable[[str], None] = pulumi.log.warn) -> StackResult:
    """Check the account can carry the configured concurrency, then create every resource."""
    run_preflight(config, warn)
    cacert_file = provider_ca_file(config)
    stack = pulumi.get_stack()
    tags = stack_tags(stack)
    network = Network("network", NetworkArgs(config.network, tags))
    image_cache = None
    if config.images.pull_through_cache:
        prefix = config.images.repository_prefix or default_repository_prefix(stack)
        image_cache = ImageCache("images", ImageCacheArgs(config.images, prefix)).info
        config = through_image_cache(config, image_cache)
    common: dict[str, object] = {
        "mode": config.mode,
        "vpcId": network.vpc_id,
        "privateSubnetIds": network.private_subnet_ids,
    }
    if config.gitlab.create_runners:
        assert config.gitlab_token is not None  # the config refuses createRunners without it
        runners = GitLabRunners(
            "gitlab",
            GitLabRunnersArgs(
                gitlab_url=config.gitlab_url,
                token=config.gitlab_token.value,
                settings=config.gitlab,
                runners=config.runners,
                maximum_timeout_seconds=maximum_timeout(config),
                owner=f"{PROJECT}/{stack}",
                cacert_file=cacert_file,
            ),
        )
        tokens: RunnerTokens = runners.tokens
        common["gitlabRunnerIds"] = runners.runner_ids
    else:
        tokens = configured_tokens(config)
    build_cache = None
    if config.cache.enabled:
        build_cache = BuildCache(
            "cache", BuildCacheArgs(config.cache.expiration_days, tags, bucket_prefix(stack))
        )
        common["cacheBucket"] = build_cache.bucket_name
    if image_cache is not None:
        common["imageCache"] = image_cache.outputs()
    cache_bucket = build_cache.bucket() if build_cache is not None else None
    topology = _build_topology(config, network, tags, tokens, cache_bucket, image_cache)
    readers = list(topology.marker_readers)
    if config.retiring is not None:
        # switchFrom: the old topology stays, its managers at zero, until its jobs have ended.
        leaving = config.retiring
        if image_cache is not None:
            leaving = through_image_cache(leaving, image_cache)
        retired = _build_topology(
            leaving, network, tags, tokens, cache_bucket, image_cache, retired=True
        )
        readers += retired.marker_readers
        common["switchFrom"] = leaving.mode
    # Deleted first on destroy; survives a switch (components/shared/marker.py).
    TopologyMarker("topology", resource_prefix(stack), config.mode, tags, readers)
    if config.observability.enabled:
        monitoring = FleetMonitoring(
            "observability",
            FleetMonitoringArgs(
                mode=config.mode,
                runners=tuple(r.name for r in config.runners),
                alerts=config.alerts,
                log_retention_days=config.log_retention_days,
                prefix=resource_prefix(stack),
                namespace=metrics_namespace(stack),
                targets=topology.monitoring_targets,
                tags=tags,
            ),
        )
        common["dashboardUrl"] = monitoring.dashboard_url
        if monitoring.topic_arn is not None:
            common["alertsTopicArn"] = monitoring.topic_arn
        if monitoring.eviction_rule_arn is not None:
            common["fargateEvictionRuleArn"] = monitoring.eviction_rule_arn
    return StackResult(
        outputs={**common, **topology.stack_outputs},
        rendered_files=topology.rendered_files,
    )
