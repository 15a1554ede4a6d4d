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
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from components.domain.fleet_rules import eks_fleet_problems, existing_cluster_problems
from components.domain.specs import KARPENTER_INSTALL, EksFleetSpec, ExistingCluster, RunnerSpec
from components.eks.cache_role import manager_cache
from components.eks.cluster import (
    FARGATE_PROFILES,
    EksCluster,
    EksClusterArgs,
    FargateProfileSpec,
)
from components.eks.existing_cluster import ExistingClusterArgs, JoinedCluster
from components.eks.karpenter import Karpenter, KarpenterArgs, create_node_role
from components.eks.karpenter_objects import (
    NODE_CLASS,
    PRIVILEGED_NODE_CLASS,
    node_classes_for,
    node_pool_specs,
)
from components.eks.metrics_collector import MetricsCollector, MetricsCollectorArgs
from components.eks.placement import FARGATE, RUNNERS_PROFILE, placement_for
from components.eks.policies import (
    NODE_MANAGED_POLICIES,
    PRIVILEGED_NODE_MANAGED_POLICIES,
    VPC_CNI_POLICY,
)
from components.eks.runner_chart import (
    GitLabRunnerChart,
    GitLabRunnerChartArgs,
    ManagerCache,
    release_name,
    runner_summary,
)
from components.eks.spot_role import spot_service_linked_role
from components.eks.start_wait_sampler import ROLE as SAMPLER_ROLE
from components.eks.start_wait_sampler import fleet_sampler, start_estimates
from components.eks.warm import warm_priority_class
from components.gitlab.runners import RunnerTokens
from components.naming import slug, type_token
from components.observability.monitoring import MonitoringTargets
from components.shared.args import check_args
from components.shared.aws import AwsContext, child
from components.shared.cache import CacheBucket
from components.shared.images import ImageCacheInfo, pull_through_policy
from components.shared.network import VpcRefs

TYPE_TOKEN = type_token("eks", "EksFargateRunner")

# GitLab allows at most 200 parallel copies of one job.
MAX_PARALLEL = 200
EXAMPLE_IMAGE = "public.ecr.aws/docker/library/alpine:3.21"
DOCKER_IMAGE = "public.ecr.aws/docker/library/docker:27"
DIND_IMAGE = "public.ecr.aws/docker/library/docker:27-dind"


def _first_runner(config: EksFleetSpec, lane: str) -> RunnerSpec | None:
    return next((r for r in config.runners if r.lane == lane), None)


def gitlab_ci_example(config: EksFleetSpec) -> str:
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
    fleet: EksFleetSpec  # the runners, the cluster's and Karpenter's settings
    network: VpcRefs  # private subnets with egress; the fleet depends on `network.egress`
    cluster_name: str  # also Karpenter's discovery tag value
    # Physical names of what the fleet creates besides the cluster (the metrics log group).
    name_prefix: str
    metrics_namespace: str  # CloudWatch namespace of the runners' metrics (observability)
    tokens: RunnerTokens  # runner name -> secret glrt- token (components/gitlab/runners.py)
    tags: Mapping[str, str]  # AWS tags on everything the fleet creates
    cache: CacheBucket | None = None  # the S3 build cache; None: no [runners.cache] section
    image_cache: ImageCacheInfo | None = None  # lets nodes and Fargate pods fill the cache
    # The AWS profile and role the Kubernetes provider's `aws eks get-token` must use (the
    # stack program passes aws:profile and the last aws:assumeRoles role); None: default chain.
    kubeconfig_credentials: tuple[str | None, str | None] = (None, None)
    # switchFrom: the topology being left; every manager Deployment is scaled to zero (each
    # pod's preStop drain finishes its jobs, its RBAC and cluster stay) and takes no new job.
    # Its releases' other values stay as they were (no rollout); it has no metrics collector:
    # the serving topology owns `/<prefix>/metrics`.
    retired: bool = False
    # A cluster you already run: the fleet creates none and adds only its own pieces to it
    # (components/eks/existing_cluster.py); `cluster_name` must then be its name.
    existing_cluster: ExistingCluster | None = None


def joined_profiles(install_karpenter: bool) -> tuple[FargateProfileSpec, ...]:
    """The Fargate profiles the fleet adds to a cluster it joins: the runners', and
    Karpenter's when it installs Karpenter there."""
    return tuple(p for p in FARGATE_PROFILES if install_karpenter or p.name != "karpenter")


class EksFargateRunner(pulumi.ComponentResource):
    """The EKS topology: cluster, Fargate profiles and logging, Karpenter, one runner chart per
    configured runner. `stack_outputs` holds what the stack exports."""

    def __init__(
        self, name: str, args: EksFargateRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_args(
            f"EksFargateRunner {name!r}",
            [
                *eks_fleet_problems(args.fleet, args.existing_cluster),
                *existing_cluster_problems(args.existing_cluster, args.cluster_name, args.fleet),
            ],
        )
        super().__init__(TYPE_TOKEN, name, None, opts)
        existing = args.existing_cluster
        config = args.fleet
        if existing is not None:
            # NodePool names are label values: 63 characters at most, the pool's name included.
            config = replace(config, pool_prefix=f"{slug(args.name_prefix)[:40].strip('-')}-")
        tags = dict(args.tags)
        ctx = AwsContext.lookup(self)
        pools = node_pool_specs(config)
        # On a cluster it joins, the fleet adds Karpenter's pieces only for EC2 lanes.
        node_roles = self._node_roles(name, config, ctx, tags, joining=existing is not None)
        install_karpenter = existing is None or (
            bool(pools) and existing.karpenter == KARPENTER_INSTALL
        )
        cluster = self._cluster(name, args, node_roles, ctx, tags, install_karpenter)
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
        karpenter: Karpenter | None = None
        if node_roles:
            karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(
                    config=config,
                    cluster_name=args.cluster_name,
                    provider=cluster.provider,
                    node_roles=node_roles,
                    oidc_provider_arn=cluster.oidc_provider_arn,
                    oidc_issuer=cluster.oidc_issuer,
                    partition=ctx.partition,
                    region=ctx.region,
                    account_id=ctx.account_id,
                    subnet_ids=args.network.private_subnet_ids,
                    security_group_id=cluster.security_group_id,
                    depends_on=(
                        (cluster.fargate_profiles["karpenter"], *cluster.pods_need)
                        if install_karpenter
                        else ()
                    ),
                    nodes_need=(*cluster.nodes_need, *self._spot_role(name, config, tags)),
                    tags=tags,
                    install=install_karpenter,
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
                *cluster.pods_need,
            ]
            cache: pulumi.Output[ManagerCache] | None = None
            if args.cache is not None:
                oidc = (cluster.oidc_provider_arn, cluster.oidc_issuer)
                cache, cache_policy = manager_cache(
                    f"{name}-runner-{runner.name}-cache", runner, args.cache, oidc, tags, self
                )
                needs.append(cache_policy)
            if placement.pools:
                assert karpenter is not None  # node_pool_specs covers every runner's pools
                needs.extend(karpenter.ready)
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
                    retired=args.retired,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        # EKS Fargate pods count against the account's on-demand Fargate vCPU quota.
        self.monitoring_targets = MonitoringTargets(
            fargate_classes=("OnDemand",),
            runner_start_seconds=start_estimates(config),
            cluster_name=args.cluster_name,
            fargate_profile_names=(
                ()
                if existing is None
                else tuple(p.name for p in joined_profiles(install_karpenter))
            ),
        )
        self.metrics_collector: MetricsCollector | None = None
        # A retired topology (switchFrom) is not watched and leaves the metrics log group to
        # the serving one; its releases keep `metrics.enabled` as it was (no rollout).
        if config.observability.enabled and not args.retired:
            self.metrics_collector = MetricsCollector(
                f"{name}-metrics",
                MetricsCollectorArgs(
                    config=config,
                    prefix=args.name_prefix,
                    namespace=args.metrics_namespace,
                    region=ctx.region,
                    provider=cluster.provider,
                    oidc_provider_arn=cluster.oidc_provider_arn,
                    oidc_issuer=cluster.oidc_issuer,
                    depends_on=[*cluster.pods_need, *(c.namespace for c in charts.values())],
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            names = (args.name_prefix, args.metrics_namespace)
            sampler = fleet_sampler(
                f"{name}-start-wait",
                config,
                cluster,
                args.cluster_name,
                args.network,
                ctx,
                names,
                tags,
                self,
            )
            self.monitoring_targets = replace(
                self.monitoring_targets, functions={SAMPLER_ROLE: sampler.function.name}
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
        # Nothing of EKS reads the topology marker on delete (components/topology.py).
        self.marker_readers: list[pulumi.Resource] = []
        self.stack_outputs: dict[str, Any] = {
            "clusterName": args.cluster_name,
            "kubeconfig": cluster.kubeconfig,
            "runners": [runner_summary(r, config.eks) for r in config.runners],
        }
        if isinstance(cluster, EksCluster):
            self.stack_outputs["fargateLogGroup"] = cluster.fargate_log_group.name
        else:
            # For the cluster's owner: the role to grant its Fargate log group to, and the
            # node roles its own Karpenter must be allowed to pass (docs/bring-your-own.md).
            self.stack_outputs["podExecutionRoleArn"] = cluster.pod_execution_role.arn
            if node_roles and not install_karpenter:
                self.stack_outputs["karpenterNodeRoleArns"] = {
                    n: role.arn for n, role in node_roles.items()
                }
        if karpenter is not None and karpenter.queue is not None:
            self.stack_outputs["karpenterInterruptionQueue"] = karpenter.queue.name
        self.stack_outputs["gitlabCiExample"] = gitlab_ci_example(config)
        self.register_outputs(self.stack_outputs)

    def _cluster(
        self,
        name: str,
        args: EksFargateRunnerArgs,
        node_roles: Mapping[str, aws.iam.Role],
        ctx: AwsContext,
        tags: dict[str, str],
        install_karpenter: bool,
    ) -> EksCluster | JoinedCluster:
        """A cluster of its own, or the fleet's part of the one it joins."""
        role_arns = {n: role.arn for n, role in node_roles.items()}
        if args.existing_cluster is None:
            return EksCluster(
                f"{name}-cluster",
                EksClusterArgs(
                    config=args.fleet,
                    network=args.network,
                    cluster_name=args.cluster_name,
                    node_role_arns=role_arns,
                    aws=ctx,
                    fargate_profiles=FARGATE_PROFILES,
                    tags=tags,
                    kubeconfig_credentials=args.kubeconfig_credentials,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return JoinedCluster(
            f"{name}-cluster",
            ExistingClusterArgs(
                cluster=args.existing_cluster,
                network=args.network,
                node_role_arns=role_arns,
                aws=ctx,
                fargate_profiles=joined_profiles(install_karpenter),
                tags=tags,
                kubeconfig_credentials=args.kubeconfig_credentials,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _node_roles(
        self, name: str, config: EksFleetSpec, ctx: AwsContext, tags: dict[str, str], joining: bool
    ) -> dict[str, Any]:
        """One node role per EC2NodeClass the configured pools use. On a cluster of its own the
        default role exists even without pools: it is what the cluster grants node access to
        from day one. On a cluster it joins, the owner's VPC CNI may run with the nodes'
        credentials (no IRSA role of this stack's), so the roles carry the CNI policy too."""
        used = set(node_classes_for(node_pool_specs(config)))
        classes = used if joining else used | {NODE_CLASS}
        cni = (VPC_CNI_POLICY,) if joining else ()
        described = {
            NODE_CLASS: (
                f"{name}-karpenter-node",
                "Nodes launched by Karpenter for the spot lane and system pool",
                NODE_MANAGED_POLICIES,
            ),
            PRIVILEGED_NODE_CLASS: (
                f"{name}-karpenter-privileged-node",
                "Nodes launched by Karpenter for privileged (Docker-in-Docker) jobs",
                PRIVILEGED_NODE_MANAGED_POLICIES,
            ),
        }
        return {
            node_class: create_node_role(
                role_name,
                description,
                (*policies, *cni),
                ctx.dns_suffix,
                ctx.partition,
                tags,
                parent=self,
            )
            for node_class, (role_name, description, policies) in described.items()
            if node_class in classes
        }

    def _spot_role(
        self, name: str, config: EksFleetSpec, tags: dict[str, str]
    ) -> tuple[pulumi.Resource, ...]:
        """The Spot service-linked role, when a runner uses the spot lane and this stack
        manages it (components/eks/spot_role.py)."""
        if not any(r.lane == "spot" for r in config.runners):
            return ()
        role = spot_service_linked_role(f"{name}-spot-service-role", tags, parent=self)
        return () if role is None else (role,)
