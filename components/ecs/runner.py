"""ECS topology: runner managers on EC2 that start every CI job as a Fargate task.

Each manager runs gitlab-runner with the custom executor and GitLab's Fargate driver. Each job
is an ECS task from the task definition catalogue, reached over SSH from a manager. Runner
tokens live only in Secrets Manager; the managers read them at every boot. A task reaper
stops the tasks no manager will stop, and every task before `pulumi destroy` removes the
clusters and the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.domain.fleet_rules import ecs_fleet_problems
from components.domain.specs import EcsFleetSpec
from components.ecs.catalogue import render_gitlab_ci_example, task_family
from components.ecs.manager import (
    MANAGER_GROUP_TAG,
    ManagerArgs,
    MetricsLogGroup,
    create_managers,
)
from components.ecs.reaper_resources import REAPER_ROLE, TaskReaper, TaskReaperArgs
from components.ecs.security import SecurityGroupArgs, create_security_groups
from components.ecs.task_definitions import CatalogueArgs, create_catalogue
from components.gitlab.runners import RunnerTokens
from components.naming import topology_marker_name, type_token
from components.observability.catalogue import metrics_log_group_name
from components.observability.monitoring import MonitoringTargets
from components.shared.args import check_args
from components.shared.aws import AwsContext, child
from components.shared.cache import CacheBucket
from components.shared.images import ImageCacheInfo
from components.shared.marker import metrics_log_group_aliases
from components.shared.network import VpcRefs

TYPE_TOKEN = type_token("ecs", "EcsFargateRunner")
# Capacity provider that each cluster uses by default. The driver sets no launch type and no
# strategy on RunTask, so the cluster default is what makes a runner on-demand or Spot.
LANE_CAPACITY_PROVIDER = {"fargate": "FARGATE", "spot": "FARGATE_SPOT"}


@dataclass(frozen=True)
class EcsFargateRunnerArgs:
    fleet: EcsFleetSpec  # the runners, the catalogue and the managers' settings
    network: VpcRefs  # private subnets with egress; the fleet depends on `network.egress`
    # Physical names (clusters, task families, log groups, the roles' IAM path) start with it:
    # two fleets in one account need two prefixes.
    name_prefix: str
    metrics_namespace: str  # CloudWatch namespace of the runners' metrics (observability)
    tokens: RunnerTokens  # runner name -> secret glrt- token (components/gitlab/runners.py)
    tags: Mapping[str, str]  # AWS tags on everything the fleet creates
    cache: CacheBucket | None = None  # the S3 build cache; None: no [runners.cache] section
    image_cache: ImageCacheInfo | None = None  # lets the execution role fill the cache
    # switchFrom: the topology being left; its managers are scaled to zero (they finish their
    # running jobs through the termination hook and take no new one). Nothing else changes:
    # with observability they keep writing to `/<prefix>/metrics`, which the serving topology
    # owns, so their launch templates get no new version (no instance refresh).
    retired: bool = False


class EcsFargateRunner(pulumi.ComponentResource):
    """ECS clusters, job task definitions, the token secret and the runner manager."""

    stack_outputs: dict[str, Any]
    # The manager's files as it will hold them (config.toml still with token placeholders):
    # shown by the offline plan command.
    rendered_files: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: EcsFargateRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_args(f"EcsFargateRunner {name!r}", ecs_fleet_problems(args.fleet))
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._config = fleet = args.fleet.with_default_task_definitions()
        self._network = args.network
        self._metrics_namespace = args.metrics_namespace
        self._tags = dict(args.tags)
        self._tokens = args.tokens
        self._prefix = args.name_prefix
        self._aws = AwsContext.lookup(self)
        self._region = self._aws.region
        self._account = self._aws.account_id
        self._partition = self._aws.partition

        self.jobs_log_group = self._log_group("jobs")
        self.manager_log_group = self._log_group("manager")
        self.metrics_log_group = self._metrics_log_group(args.retired)
        # Both lanes' clusters always (an empty cluster costs nothing): when the last spot
        # runner moves to `fargate` or goes, the old managers still serve it while they drain,
        # so the manager policy, the reaper and the destroy drain must keep the spot cluster,
        # and deleting it would wait on their tasks (tests/ecs/test_reaper_day2.py).
        self.clusters: dict[str, aws.ecs.Cluster] = {}
        capacity: list[pulumi.Resource] = []
        for lane in LANE_CAPACITY_PROVIDER:
            cluster, providers = self._cluster(lane)
            self.clusters[lane] = cluster
            capacity.append(providers)
        self.manager_security_group, self.task_security_group = create_security_groups(
            SecurityGroupArgs(
                name=name,
                parent=self,
                vpc_id=args.network.vpc_id,
                gitlab_url=fleet.gitlab_url,
                prefix=self._prefix,
                tags=self._tags,
            )
        )
        catalogue = create_catalogue(
            CatalogueArgs(
                name=name,
                parent=self,
                config=fleet,
                prefix=self._prefix,
                tags=self._tags,
                region=self._region,
                account=self._account,
                partition=self._partition,
                jobs_log_group=self.jobs_log_group,
                image_cache=args.image_cache,
            )
        )
        self.execution_role = catalogue.execution_role
        self.task_definitions = catalogue.task_definitions
        self.token_secret, token_version = self._token_secret()
        managers = create_managers(
            ManagerArgs(
                name=name,
                parent=self,
                config=fleet,
                prefix=self._prefix,
                tags=self._tags,
                region=self._region,
                partition=self._partition,
                account=self._account,
                private_subnet_ids=args.network.private_subnet_ids,
                clusters=self.clusters,
                task_definitions=self.task_definitions,
                passable_roles=[self.execution_role, *catalogue.task_roles],
                token_secret=self.token_secret,
                log_group=self.manager_log_group,
                manager_security_group=self.manager_security_group,
                task_security_group=self.task_security_group,
                # Deleted before the clusters (capacity) and the network: a draining manager
                # talks to GitLab and Auto Scaling through the NAT and the endpoints.
                depends_on=[*capacity, token_version, *args.network.egress],
                tokens_version=token_version.version_id,
                cache=args.cache,
                metrics_log_group=self.metrics_log_group,
                metrics_namespace=args.metrics_namespace,
                retired=args.retired,
            )
        )
        self.managers = managers
        self.manager_group = managers.groups[0]
        self.rendered_files = managers.rendered_files
        self.reaper = self._reaper(capacity, managers.groups)
        uses_spot = any(r.lane == "spot" for r in fleet.runners)
        self.monitoring_targets = MonitoringTargets(
            fargate_classes=("OnDemand", "Spot") if uses_spot else ("OnDemand",),
            manager_groups=[g.name for g in managers.groups],
            cluster_arns=[c.arn for c in self.clusters.values()],
            clusters={r.lane: self.clusters[r.lane].name for r in fleet.runners},
            retired_by=[self.reaper.drain],
            functions={REAPER_ROLE: self.reaper.function.name},
        )
        # Deleted after the topology marker: the drain tells a destroy from a switch by it.
        self.marker_readers: list[pulumi.Resource] = [self.reaper.drain]
        self.stack_outputs = self._outputs()
        self.register_outputs(self.stack_outputs)

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return child(self, **kwargs)

    def _tagged(self, name: str) -> dict[str, str]:
        return {**self._tags, "Name": name}

    def _log_group(
        self, role: str, aliases: list[pulumi.Input[str]] | None = None
    ) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-{role}-logs",
            name=f"/{self._prefix}/{role}",
            retention_in_days=self._config.log_retention_days,
            tags=self._tags,
            opts=self._opts(aliases=aliases),
        )

    def _metrics_log_group(self, retired: bool) -> MetricsLogGroup | None:
        """Where the managers' CloudWatch agent writes the runners' metrics (EMF), with
        observability.enabled. The same group as EKS mode's: a switch hands it over
        (shared/marker.py). A retired topology (switchFrom) leaves it to the serving one and
        keeps writing to it by name: its managers' user data and policy stay as they were,
        so their launch template gets no new version and their groups no instance refresh."""
        if not self._config.observability.enabled:
            return None
        if not retired:
            group = self._log_group("metrics", metrics_log_group_aliases("ecs"))
            return MetricsLogGroup(name=group.name, arn=group.arn)
        name = metrics_log_group_name(self._prefix)
        # The provider's `arn` of a log group carries no `:*` (terraform-provider-aws
        # internal/service/logs: trimLogGroupARNWildcardSuffix).
        arn = pulumi.Output.all(self._partition, self._region, self._account).apply(
            lambda v: f"arn:{v[0]}:logs:{v[1]}:{v[2]}:log-group:{name}"
        )
        return MetricsLogGroup(name=name, arn=arn)

    def _cluster(self, lane: str) -> tuple[aws.ecs.Cluster, aws.ecs.ClusterCapacityProviders]:
        """A cluster whose default capacity provider is the lane's (FARGATE or FARGATE_SPOT)."""
        cluster_name = self._prefix if lane == "fargate" else f"{self._prefix}-{lane}"
        role = "cluster" if lane == "fargate" else f"{lane}-cluster"
        insights = "enabled" if self._config.ecs.container_insights else "disabled"
        cluster = aws.ecs.Cluster(
            f"{self._name}-{role}",
            name=cluster_name,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=insights)],
            tags=self._tagged(cluster_name),
            opts=self._opts(),
        )
        providers = aws.ecs.ClusterCapacityProviders(
            f"{self._name}-{role}-capacity",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider=LANE_CAPACITY_PROVIDER[lane], weight=1, base=0
                )
            ],
            opts=self._opts(),
        )
        return cluster, providers

    def _token_secret(self) -> tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]:
        """The only place the runner tokens are stored: {runner name: glrt- token}."""
        secret = aws.secretsmanager.Secret(
            f"{self._name}-runner-tokens",
            description="GitLab runner authentication tokens (JSON: runner name -> token); "
            "read by the runner manager at boot",
            # `pulumi destroy` removes it at once instead of leaving it scheduled for deletion.
            recovery_window_in_days=0,
            tags=self._tags,
            opts=self._opts(),
        )
        tokens = pulumi.Output.all(**self._tokens).apply(lambda t: json.dumps(t, sort_keys=True))
        version = aws.secretsmanager.SecretVersion(
            f"{self._name}-runner-tokens-version",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(tokens),
            opts=self._opts(),
        )
        return secret, version

    def _reaper(
        self, capacity: list[pulumi.Resource], groups: list[aws.autoscaling.Group]
    ) -> TaskReaper:
        """Stops orphaned and over-time job tasks every 5 minutes, and every task on destroy.

        Its drain depends on the clusters (through its input), their capacity providers, the
        manager groups, the task security group and the network: `pulumi destroy` runs it
        before deleting any of them. It first scales the groups to zero, so no manager takes
        a job while it stops the tasks; their jobs end with the tasks, so the groups' own
        drain (their termination hook) then finishes at once."""
        return TaskReaper(
            f"{self._name}-reaper",
            TaskReaperArgs(
                name_prefix=self._prefix,
                cluster_arns=[c.arn for c in self.clusters.values()],
                job_timeout_seconds=self._config.ecs.job_timeout_seconds,
                log_retention_days=self._config.log_retention_days,
                tags=self._tags,
                drain_depends_on=[*capacity, self.task_security_group, *self._network.egress],
                manager_groups=groups,
                manager_group_tag=(MANAGER_GROUP_TAG, self._prefix),
                topology_parameter=topology_marker_name(self._prefix),
                metrics_namespace=(
                    self._metrics_namespace if self._config.observability.enabled else ""
                ),
            ),
            opts=self._opts(),
        )

    def _outputs(self) -> dict[str, Any]:
        config = self._config
        families = {e.name: task_family(self._prefix, e.name) for e in config.ecs.task_definitions}
        outputs: dict[str, Any] = {
            "ecsClusterName": self.clusters["fargate"].name,
            "runners": [
                {
                    "name": r.name,
                    "tags": list(r.tags),
                    "lane": r.lane,
                    "cluster": self.clusters[r.lane].name,
                    "defaultTaskDefinition": families[r.task_definition],
                    "concurrency": r.concurrency,
                }
                for r in config.runners
            ],
            "taskDefinitionFamilies": {name: t.family for name, t in self.task_definitions.items()},
            "logGroups": {
                "jobs": self.jobs_log_group.name,
                "manager": self.manager_log_group.name,
            },
            "managerAutoScalingGroupName": self.manager_group.name,
            "managers": [
                {"autoScalingGroupName": group.name, "instanceType": kind, "jobs": shard.jobs}
                for group, kind, shard in zip(
                    self.managers.groups,
                    self.managers.instance_types,
                    self.managers.shards,
                    strict=True,
                )
            ],
            "ecsSpotClusterName": self.clusters["spot"].name,
            "taskReaperFunctionName": self.reaper.function_name,
            "managerSessionCommand": pulumi.Output.all(self.manager_group.name, self._region).apply(
                lambda v: (
                    "aws ssm start-session --region {1} --target $(aws autoscaling "
                    "describe-auto-scaling-groups --region {1} --auto-scaling-group-names {0} "
                    "--query 'AutoScalingGroups[0].Instances[0].InstanceId' --output text)".format(
                        *v
                    )
                )
            ),
            "runnerTokenSecretArn": self.token_secret.arn,
            "gitlabCiExample": render_gitlab_ci_example(config, families),
        }
        return outputs
