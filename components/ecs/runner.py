"""ECS topology: one runner manager on EC2 that starts every CI job as a Fargate task.

The manager runs gitlab-runner with the custom executor and GitLab's Fargate driver. Each job
is an ECS task from the task definition catalogue, reached over SSH from the manager. Runner
tokens live only in Secrets Manager; the manager reads them at every boot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import StackConfig
from components.ecs.catalogue import (
    container_definitions,
    needs_ephemeral_storage,
    render_gitlab_ci_example,
    task_family,
)
from components.ecs.iam import (
    EC2_SERVICE,
    ECS_TASKS_SERVICE,
    ManagerPolicyScope,
    assume_role_policy,
    execution_role_policy,
    manager_policy,
)
from components.ecs.manager_files import (
    CONFIG_PATH,
    SHUTDOWN_TIMEOUT_SECONDS,
    FargateDriverSettings,
    fargate_config_path,
    render_config_toml,
    render_fargate_toml,
)
from components.ecs.security import SecurityGroupArgs, create_security_groups
from components.ecs.user_data import ManagerBootSettings, encode_user_data, render_user_data
from components.gitlab.runners import RunnerTokens
from components.naming import resource_prefix, type_token
from components.shared.aws import AwsContext, child
from components.shared.cache import BuildCache
from components.shared.images import ImageCacheInfo, pull_through_policy
from components.shared.network import Network

TYPE_TOKEN = type_token("ecs", "EcsFargateRunner")
# Capacity provider that each cluster uses by default. The driver sets no launch type and no
# strategy on RunTask, so the cluster default is what makes a runner on-demand or Spot.
LANE_CAPACITY_PROVIDER = {"fargate": "FARGATE", "spot": "FARGATE_SPOT"}
# The user data needs Amazon Linux 2023 (dnf, AWS CLI v2, python3), whose root device is this.
MANAGER_ROOT_DEVICE = "/dev/xvda"
MANAGER_ROOT_VOLUME_GIB = 20
SSM_MANAGED_INSTANCE_POLICY = "AmazonSSMManagedInstanceCore"
HTTPS_PORT = 443
# Where cloud-init keeps the user data script; the key of the script in rendered_files.
USER_DATA_FILE = "/var/lib/cloud/instance/user-data.txt"
# Instance tag holding the token secret's version: a new version (tokens rotated or changed)
# makes a new launch template version, so the instance refresh boots a manager that reads it.
TOKENS_VERSION_TAG = "gitlab-runner-tokens-version"


@dataclass(frozen=True)
class EcsFargateRunnerArgs:
    config: StackConfig
    network: Network
    tags: Mapping[str, str]
    tokens: RunnerTokens  # runner name -> secret glrt- token (components/gitlab/runners.py)
    cache: BuildCache | None = None
    image_cache: ImageCacheInfo | None = None  # lets the execution role fill the cache


class EcsFargateRunner(pulumi.ComponentResource):
    """ECS clusters, job task definitions, the token secret and the runner manager."""

    stack_outputs: dict[str, Any]
    # The manager's files as it will hold them (config.toml still with token placeholders):
    # shown by the offline plan command.
    rendered_files: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: EcsFargateRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._config = args.config
        self._network = args.network
        self._tags = dict(args.tags)
        self._tokens = args.tokens
        self._cache = args.cache
        self._image_cache = args.image_cache
        self._prefix = resource_prefix(pulumi.get_stack())
        self._aws = AwsContext.lookup(self)
        self._region = self._aws.region
        self._account = self._aws.account_id
        self._partition = self._aws.partition
        self.rendered_files = {}

        self.jobs_log_group = self._log_group("jobs")
        self.manager_log_group = self._log_group("manager")
        lanes = ["fargate"] + (
            ["spot"] if any(r.lane == "spot" for r in args.config.runners) else []
        )
        self.clusters: dict[str, aws.ecs.Cluster] = {}
        capacity: list[pulumi.Resource] = []
        for lane in lanes:
            cluster, providers = self._cluster(lane)
            self.clusters[lane] = cluster
            capacity.append(providers)
        self.manager_security_group, self.task_security_group = create_security_groups(
            SecurityGroupArgs(
                name=name,
                parent=self,
                vpc_id=args.network.vpc_id,
                gitlab_url=args.config.gitlab_url,
                prefix=self._prefix,
                tags=self._tags,
            )
        )
        self.execution_role = self._execution_role()
        self.task_definitions, task_roles = self._catalogue()
        self.token_secret, token_version = self._token_secret()
        self._tokens_version = token_version.version_id
        manager_role, manager_policy_resource = self._manager_role(task_roles)
        self.manager_group = self._manager(
            manager_role, depends_on=[*capacity, token_version, manager_policy_resource]
        )
        self.stack_outputs = self._outputs()
        self.register_outputs(self.stack_outputs)

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return child(self, **kwargs)

    def _tagged(self, name: str) -> dict[str, str]:
        return {**self._tags, "Name": name}

    def _log_group(self, role: str) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-{role}-logs",
            name=f"/{self._prefix}/{role}",
            retention_in_days=self._config.log_retention_days,
            tags=self._tags,
            opts=self._opts(),
        )

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

    def _ecs_task_trust(self) -> pulumi.Output[str]:
        return self._account.apply(
            lambda account: json.dumps(assume_role_policy(ECS_TASKS_SERVICE, account))
        )

    def _execution_role(self) -> aws.iam.Role:
        """Used by ECS itself to pull the job image and write the container's logs."""
        role = aws.iam.Role(
            f"{self._name}-execution-role",
            description="ECS task execution role for GitLab CI job tasks (image pull, logs)",
            assume_role_policy=self._ecs_task_trust(),
            tags=self._tags,
            opts=self._opts(),
        )
        cache = self._image_cache
        cache_statements = (
            pull_through_policy(cache.repository_arn_pattern)["Statement"] if cache else []
        )
        policy = pulumi.Output.all(
            self.jobs_log_group.arn, self._partition, self._region, self._account
        ).apply(
            lambda v: json.dumps(
                execution_role_policy(
                    v[0], f"arn:{v[1]}:ecr:{v[2]}:{v[3]}:repository/*", cache_statements
                )
            )
        )
        aws.iam.RolePolicy(
            f"{self._name}-execution-policy", role=role.id, policy=policy, opts=self._opts()
        )
        return role

    def _catalogue(self) -> tuple[dict[str, aws.ecs.TaskDefinition], list[aws.iam.Role]]:
        """One Fargate task definition per catalogue entry; a task role only where asked for."""
        definitions: dict[str, aws.ecs.TaskDefinition] = {}
        task_roles: list[aws.iam.Role] = []
        for entry in self._config.ecs.task_definitions:
            task_role = None
            if entry.task_role_policy_arns:
                task_role = aws.iam.Role(
                    f"{self._name}-task-{entry.name}-role",
                    description=f"Role of CI jobs that use task definition '{entry.name}'",
                    assume_role_policy=self._ecs_task_trust(),
                    tags=self._tags,
                    opts=self._opts(),
                )
                for index, policy_arn in enumerate(entry.task_role_policy_arns):
                    aws.iam.RolePolicyAttachment(
                        f"{self._name}-task-{entry.name}-policy-{index}",
                        role=task_role.name,
                        policy_arn=policy_arn,
                        opts=self._opts(),
                    )
                task_roles.append(task_role)
            containers = pulumi.Output.all(self.jobs_log_group.name, self._region).apply(
                lambda v, e=entry: json.dumps(container_definitions(e, v[0], v[1]))
            )
            definitions[entry.name] = aws.ecs.TaskDefinition(
                f"{self._name}-task-{entry.name}",
                family=task_family(self._prefix, entry.name),
                requires_compatibilities=["FARGATE"],
                network_mode="awsvpc",
                cpu=str(entry.cpu),
                memory=str(entry.memory),
                runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                    operating_system_family="LINUX", cpu_architecture="X86_64"
                ),
                execution_role_arn=self.execution_role.arn,
                task_role_arn=task_role.arn if task_role is not None else None,
                container_definitions=containers,
                ephemeral_storage=(
                    aws.ecs.TaskDefinitionEphemeralStorageArgs(
                        size_in_gib=entry.ephemeral_storage_gib
                    )
                    if needs_ephemeral_storage(entry)
                    else None
                ),
                tags=self._tags,
                opts=self._opts(),
            )
        return definitions, task_roles

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

    def _manager_role(
        self, task_roles: list[aws.iam.Role]
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        role = aws.iam.Role(
            f"{self._name}-manager-role",
            description="GitLab runner manager: start, watch and stop CI job tasks",
            assume_role_policy=json.dumps(assume_role_policy(EC2_SERVICE)),
            tags=self._tags,
            opts=self._opts(),
        )
        aws.iam.RolePolicyAttachment(
            f"{self._name}-manager-ssm",
            role=role.name,
            policy_arn=self._partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/{SSM_MANAGED_INSTANCE_POLICY}"
            ),
            opts=self._opts(),
        )
        scope = pulumi.Output.all(
            clusters=pulumi.Output.all(*[c.arn for c in self.clusters.values()]),
            definitions=pulumi.Output.all(*[t.arn for t in self.task_definitions.values()]),
            roles=pulumi.Output.all(self.execution_role.arn, *[r.arn for r in task_roles]),
            secret=self.token_secret.arn,
            logs=self.manager_log_group.arn,
            cache=self._cache.bucket_arn if self._cache else None,
        )
        public_ips = self._config.network.public_task_ips
        document = scope.apply(
            lambda v: json.dumps(
                manager_policy(
                    ManagerPolicyScope(
                        cluster_arns=v["clusters"],
                        task_definition_arns=v["definitions"],
                        passable_role_arns=v["roles"],
                        secret_arn=v["secret"],
                        log_group_arn=v["logs"],
                        public_task_ips=public_ips,
                        cache_bucket_arn=v["cache"],
                    )
                )
            )
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-manager-policy", role=role.id, policy=document, opts=self._opts()
        )
        return role, policy

    def _fargate_tomls(self) -> pulumi.Output[dict[str, str]]:
        """One driver config per runner: its lane's cluster, its default task definition, and
        a subnet picked round-robin so the runners spread their tasks over the zones."""
        config = self._config
        subnet_ids = (
            self._network.public_subnet_ids
            if config.network.public_task_ips
            else self._network.private_subnet_ids
        )
        inputs = pulumi.Output.all(
            region=self._region,
            subnets=subnet_ids,
            security_group=self.task_security_group.id,
            clusters={lane: c.name for lane, c in self.clusters.items()},
            families={name: t.family for name, t in self.task_definitions.items()},
        )

        def render(v: dict[str, Any]) -> dict[str, str]:
            if not v["subnets"]:
                raise ValueError("the network has no subnets for the job tasks")
            return {
                runner.name: render_fargate_toml(
                    FargateDriverSettings(
                        runner_name=runner.name,
                        cluster=v["clusters"][runner.lane],
                        region=v["region"],
                        subnet=v["subnets"][index % len(v["subnets"])],
                        security_group=v["security_group"],
                        task_definition=v["families"][runner.task_definition],
                        enable_public_ip=config.network.public_task_ips,
                        platform_version=config.ecs.platform_version,
                        ssh_username=config.ecs.ssh_username,
                    )
                )
                for index, runner in enumerate(config.runners)
            }

        return inputs.apply(render)

    def _manager(
        self, role: aws.iam.Role, depends_on: list[pulumi.Resource]
    ) -> aws.autoscaling.Group:
        """One manager instance, kept alive by an Auto Scaling group of exactly one.

        The group pins the launch template's latest version, so any change to the user data
        (config, versions, task definitions) makes a new version and triggers an instance
        refresh. With one instance, the refresh stops the old manager before the new one
        starts (min healthy 0%): two managers would not break anything, but a max of 1 is
        what keeps costs and GitLab's runner list predictable."""
        config = self._config
        profile = aws.iam.InstanceProfile(
            f"{self._name}-manager-profile", role=role.name, tags=self._tags, opts=self._opts()
        )
        ami = aws.ssm.get_parameter_output(
            name=config.ecs.manager_ami_parameter, opts=pulumi.InvokeOutputOptions(parent=self)
        ).value
        cache = self._cache.settings() if self._cache else None
        config_toml = pulumi.Output.from_input(cache).apply(lambda c: render_config_toml(config, c))
        fargate_tomls = self._fargate_tomls()
        script = pulumi.Output.all(
            region=self._region,
            secret=self.token_secret.arn,
            logs=self.manager_log_group.name,
            fargate=fargate_tomls,
            config_toml=config_toml,
        ).apply(
            lambda v: render_user_data(
                ManagerBootSettings(
                    runner_version=config.ecs.runner_version,
                    driver_version=config.ecs.driver_version,
                    region=v["region"],
                    secret_arn=v["secret"],
                    log_group_name=v["logs"],
                    config_toml=v["config_toml"],
                    fargate_tomls=v["fargate"],
                    stop_timeout_seconds=config.ecs.job_timeout_seconds + SHUTDOWN_TIMEOUT_SECONDS,
                )
            )
        )
        self.rendered_files[CONFIG_PATH] = config_toml
        for runner in config.runners:
            self.rendered_files[fargate_config_path(runner.name)] = fargate_tomls.apply(
                lambda files, n=runner.name: files[n]
            )
        self.rendered_files[USER_DATA_FILE] = script
        user_data = script.apply(encode_user_data)
        instance_name = f"{self._prefix}-runner-manager"
        template = aws.ec2.LaunchTemplate(
            f"{self._name}-manager-lt",
            description="GitLab runner manager (custom executor + AWS Fargate driver)",
            image_id=ami,
            instance_type=config.ecs.manager_instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            vpc_security_group_ids=[self.manager_security_group.id],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=MANAGER_ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=MANAGER_ROOT_VOLUME_GIB,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            user_data=user_data,
            update_default_version=True,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind,
                    tags={**self._tagged(instance_name), TOKENS_VERSION_TAG: self._tokens_version},
                )
                for kind in ("instance", "volume")
            ],
            tags=self._tags,
            opts=self._opts(),
        )
        return aws.autoscaling.Group(
            f"{self._name}-manager-asg",
            min_size=1,
            max_size=1,
            desired_capacity=1,
            vpc_zone_identifiers=self._network.private_subnet_ids,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            health_check_type="EC2",
            health_check_grace_period=300,
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=0, max_healthy_percentage=100
                ),
            ),
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                for k, v in self._tagged(instance_name).items()
            ],
            opts=self._opts(depends_on=depends_on),
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
        if "spot" in self.clusters:
            outputs["ecsSpotClusterName"] = self.clusters["spot"].name
        return outputs
