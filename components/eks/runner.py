"""EKS topology: GitLab Runner's Kubernetes executor on an EKS cluster backed by Fargate, with
Karpenter adding EC2 capacity for the lanes Fargate cannot serve.

Unlike the ECS Fargate driver, the Kubernetes executor honours `image:` and `services:`, so
any job image works. Lanes are runner tags (set on each runner in GitLab):

- fargate (e.g. tag `eks-fargate`): every job is its own Fargate pod of the runner's size.
- spot (`eks-spot`): jobs on Karpenter Spot nodes; cheaper, may be interrupted.
- privileged (`eks-privileged`): jobs on on-demand Karpenter nodes with privileged containers,
  for Docker-in-Docker (Fargate has neither Spot on EKS nor privileged mode).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from components.config import RunnerSpec, StackConfig
from components.eks.cache_role import manager_cache
from components.eks.cluster import FARGATE_PROFILES, EksCluster, EksClusterArgs
from components.eks.karpenter import Karpenter, KarpenterArgs, create_node_role
from components.eks.karpenter_objects import (
    NODE_CLASS,
    PRIVILEGED_NODE_CLASS,
    node_classes_for,
    node_pool_specs,
)
from components.eks.metrics_collector import MetricsCollector, MetricsCollectorArgs
from components.eks.placement import FARGATE, RUNNERS_PROFILE, placement_for
from components.eks.policies import NODE_MANAGED_POLICIES, PRIVILEGED_NODE_MANAGED_POLICIES
from components.eks.runner_chart import (
    GitLabRunnerChart,
    GitLabRunnerChartArgs,
    ManagerCache,
    release_name,
    runner_summary,
)
from components.eks.spot_role import spot_service_linked_role
from components.eks.warm import warm_priority_class
from components.gitlab.runners import RunnerTokens
from components.naming import resource_prefix, type_token
from components.observability.monitoring import MonitoringTargets
from components.shared.aws import AwsContext, child
from components.shared.cache import BuildCache
from components.shared.images import ImageCacheInfo, pull_through_policy
from components.shared.network import Network

TYPE_TOKEN = type_token("eks", "EksFargateRunner")

# GitLab allows at most 200 parallel copies of one job.
MAX_PARALLEL = 200
EXAMPLE_IMAGE = "public.ecr.aws/docker/library/alpine:3.21"
DOCKER_IMAGE = "public.ecr.aws/docker/library/docker:27"
DIND_IMAGE = "public.ecr.aws/docker/library/docker:27-dind"


def _first_runner(config: StackConfig, lane: str) -> RunnerSpec | None:
    return next((r for r in config.runners if r.lane == lane), None)


def gitlab_ci_example(config: StackConfig) -> str:
    """A ready-to-paste .gitlab-ci.yml exercising each configured lane."""
    jobs: dict[str, Any] = {}
    fargate = _first_runner(config, FARGATE)
    if fargate is not None:
        jobs["hello-fargate"] = {
            "image": EXAMPLE_IMAGE,
            "tags": list(fargate.tags),
            "parallel": min(fargate.concurrency, MAX_PARALLEL),
            "script": [
                'echo "job $CI_NODE_INDEX/$CI_NODE_TOTAL in its own Fargate pod"',
                "cat /etc/os-release",
            ],
        }
    spot = _first_runner(config, "spot")
    if spot is not None:
        jobs["test-on-spot"] = {
            "image": EXAMPLE_IMAGE,
            "tags": list(spot.tags),
            # A Spot reclaim surfaces as a runner system failure: run the job again.
            "retry": {"max": 2, "when": ["runner_system_failure", "stuck_or_timeout_failure"]},
            "script": ['echo "running on a Karpenter Spot node"', "nproc"],
        }
    privileged = _first_runner(config, "privileged")
    if privileged is not None:
        jobs["docker-in-docker"] = {
            "image": DOCKER_IMAGE,
            "tags": list(privileged.tags),
            "services": [{"name": DIND_IMAGE, "alias": "docker"}],
            "variables": {
                "DOCKER_HOST": "tcp://docker:2376",
                "DOCKER_TLS_CERTDIR": "/certs",
                "DOCKER_TLS_VERIFY": "1",
                "DOCKER_CERT_PATH": "$DOCKER_TLS_CERTDIR/client",
            },
            "script": [
                "until docker info >/dev/null 2>&1; do sleep 1; done",
                "docker run --rm public.ecr.aws/docker/library/hello-world:latest",
            ],
        }
    header = (
        "# .gitlab-ci.yml for the EKS runners of this stack. Each job's `tags:` must match the\n"
        "# tags set on the runner in GitLab (Settings > CI/CD > Runners > Edit).\n"
    )
    return header + yaml.safe_dump(jobs, sort_keys=False, width=100)


class _ValuesDumper(yaml.SafeDumper):
    """Writes multi-line strings (the runners.config TOML) as literal blocks, as a person
    writes values.yaml, so reviewers read the TOML as it is."""


_ValuesDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


@dataclass(frozen=True)
class EksFargateRunnerArgs:
    config: StackConfig
    network: Network
    cluster_name: str
    tags: Mapping[str, str]
    tokens: RunnerTokens  # runner name -> secret glrt- token (components/gitlab/runners.py)
    cache: BuildCache | None = None
    image_cache: ImageCacheInfo | None = None  # lets nodes and Fargate pods fill the cache


class EksFargateRunner(pulumi.ComponentResource):
    """The EKS topology: cluster, Fargate profiles and logging, Karpenter, one runner chart per
    configured runner. `stack_outputs` holds what the stack exports."""

    def __init__(
        self, name: str, args: EksFargateRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        config = args.config
        tags = dict(args.tags)
        ctx = AwsContext.lookup(self)
        node_roles = self._node_roles(name, config, ctx, tags)
        cluster = EksCluster(
            f"{name}-cluster",
            EksClusterArgs(
                config=config,
                network=args.network,
                cluster_name=args.cluster_name,
                node_role_arns={n: role.arn for n, role in node_roles.items()},
                aws=ctx,
                fargate_profiles=FARGATE_PROFILES,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.image_cache is not None:
            cache_policy = json.dumps(pull_through_policy(args.image_cache.repository_arn_pattern))
            pulling_roles = {
                **{
                    "karpenter-node" if n == NODE_CLASS else f"karpenter-node-{n}": role
                    for n, role in node_roles.items()
                },
                "pod-execution": cluster.pod_execution_role,
            }
            for label, role in pulling_roles.items():
                aws.iam.RolePolicy(
                    f"{name}-{label}-image-cache",
                    role=role.id,
                    policy=cache_policy,
                    opts=child(self),
                )
        karpenter = Karpenter(
            f"{name}-karpenter",
            KarpenterArgs(
                config=config,
                cluster_name=args.cluster_name,
                provider=cluster.provider,
                node_roles=node_roles,
                oidc_provider_arn=cluster.cluster.oidc_provider_arn,
                oidc_issuer=cluster.cluster.oidc_issuer,
                partition=ctx.partition,
                region=ctx.region,
                account_id=ctx.account_id,
                subnet_ids=args.network.private_subnet_ids,
                security_group_id=cluster.cluster.cluster_security_group_id,
                depends_on=(cluster.fargate_profiles["karpenter"], cluster.logging_config),
                nodes_need=(cluster.vpc_cni, *self._spot_role(name, config, tags)),
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        charts: dict[str, GitLabRunnerChart] = {}
        warm_class = (
            warm_priority_class(f"{name}-warm-priority", cluster.provider, self)
            if any(r.warm_jobs and r.lane != FARGATE for r in config.runners)
            else None
        )
        for runner in config.runners:
            placement = placement_for(runner, config.eks)
            # What the runner's pods need while they run, and so while they drain: the
            # namespace is deleted before any of it (runner_chart.py).
            needs: list[pulumi.Resource] = [
                cluster.fargate_profiles[RUNNERS_PROFILE],
                cluster.logging_config,
            ]
            cache: pulumi.Output[ManagerCache] | None = None
            if args.cache is not None:
                oidc = (cluster.cluster.oidc_provider_arn, cluster.cluster.oidc_issuer)
                cache, cache_policy = manager_cache(
                    f"{name}-runner-{runner.name}-cache", runner, args.cache, oidc, tags, self
                )
                needs.append(cache_policy)
            if placement.pools:
                needs.append(karpenter.release)
                needs.extend(karpenter.node_pools[pool] for pool in placement.pools)
            if warm_class is not None and runner.warm_jobs:
                needs.append(warm_class)
            charts[runner.name] = GitLabRunnerChart(
                f"{name}-runner-{runner.name}",
                GitLabRunnerChartArgs(
                    config=config,
                    runner=runner,
                    provider=cluster.provider,
                    depends_on=needs,
                    token=args.tokens[runner.name],
                    cache=cache,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        # EKS Fargate pods count against the account's on-demand Fargate vCPU quota.
        self.monitoring_targets = MonitoringTargets(fargate_classes=("OnDemand",))
        self.metrics_collector: MetricsCollector | None = None
        if config.observability.enabled:
            self.metrics_collector = MetricsCollector(
                f"{name}-metrics",
                MetricsCollectorArgs(
                    config=config,
                    prefix=resource_prefix(pulumi.get_stack()),
                    stack=pulumi.get_stack(),
                    region=ctx.region,
                    provider=cluster.provider,
                    oidc_provider_arn=cluster.cluster.oidc_provider_arn,
                    oidc_issuer=cluster.cluster.oidc_issuer,
                    depends_on=[cluster.logging_config, *(c.namespace for c in charts.values())],
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        # What the offline plan shows reviewers: each release's values and its runners.config.
        self.rendered_files: dict[str, pulumi.Output[str]] = {}
        for runner in config.runners:
            base = f"helm/{release_name(runner)}"
            values = charts[runner.name].values
            self.rendered_files[f"{base}/values.yaml"] = values.apply(
                lambda v: yaml.dump(v, Dumper=_ValuesDumper, sort_keys=False)
            )
            self.rendered_files[f"{base}/runners.config.toml"] = values.apply(
                lambda v: v["runners"]["config"]
            )
        if self.metrics_collector is not None:
            self.rendered_files["metrics-collector/collector.yaml"] = (
                self.metrics_collector.config_yaml
            )
        self.stack_outputs: dict[str, Any] = {
            "clusterName": args.cluster_name,
            "kubeconfig": cluster.kubeconfig,
            "runners": [runner_summary(r, config.eks) for r in config.runners],
            "fargateLogGroup": cluster.fargate_log_group.name,
            "karpenterInterruptionQueue": karpenter.queue.name,
            "gitlabCiExample": gitlab_ci_example(config),
        }
        self.register_outputs(self.stack_outputs)

    def _node_roles(
        self, name: str, config: StackConfig, ctx: AwsContext, tags: dict[str, str]
    ) -> dict[str, Any]:
        """One node role per EC2NodeClass the configured pools use. The default role exists
        even without pools: it is what the cluster grants node access to from day one."""
        classes = set(node_classes_for(node_pool_specs(config))) | {NODE_CLASS}
        roles = {
            NODE_CLASS: create_node_role(
                f"{name}-karpenter-node",
                "Nodes launched by Karpenter for the spot lane and system pool",
                NODE_MANAGED_POLICIES,
                ctx.dns_suffix,
                ctx.partition,
                tags,
                parent=self,
            )
        }
        if PRIVILEGED_NODE_CLASS in classes:
            roles[PRIVILEGED_NODE_CLASS] = create_node_role(
                f"{name}-karpenter-privileged-node",
                "Nodes launched by Karpenter for privileged (Docker-in-Docker) jobs",
                PRIVILEGED_NODE_MANAGED_POLICIES,
                ctx.dns_suffix,
                ctx.partition,
                tags,
                parent=self,
            )
        return roles

    def _spot_role(
        self, name: str, config: StackConfig, tags: dict[str, str]
    ) -> tuple[pulumi.Resource, ...]:
        """The Spot service-linked role, when a runner uses the spot lane and this stack
        manages it (components/eks/spot_role.py)."""
        if not any(r.lane == "spot" for r in config.runners):
            return ()
        role = spot_service_linked_role(f"{name}-spot-service-role", tags, parent=self)
        return () if role is None else (role,)
