"""The runner managers: one EC2 instance per shard, each in its own Auto Scaling group of one.

Shard 0 keeps the resource names of the single-manager layout (`<name>-manager-lt`,
`<name>-manager-asg`); shard i > 0 adds `-<i>`. Every manager shares one role and instance
profile, renders its own config.toml (its share of each runner) and driver configs, resolves
the Amazon Linux AMI at launch, and drains before its group terminates it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.domain.specs import EcsFleetSpec
from components.ecs.iam import (
    EC2_SERVICE,
    ManagerPolicyScope,
    job_role_path,
    manager_lifecycle_policy,
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
from components.ecs.sizing import Shard, plan_shards, shard_instance_types, shard_subnet
from components.ecs.user_data import (
    ManagerBootSettings,
    ManagerMetrics,
    encode_user_data,
    render_user_data,
)
from components.observability.catalogue import GROUP_METRICS
from components.shared.aws import child
from components.shared.cache import CacheBucket
from components.shared.iam import assume_role_policy

# The user data needs Amazon Linux 2023 (dnf, AWS CLI v2, python3), whose root device is this.
MANAGER_ROOT_DEVICE = "/dev/xvda"
MANAGER_ROOT_VOLUME_GIB = 20
SSM_MANAGED_INSTANCE_POLICY = "AmazonSSMManagedInstanceCore"
# Where cloud-init keeps the user data script; the key of the script in rendered_files.
USER_DATA_FILE = "/var/lib/cloud/instance/user-data.txt"
LIFECYCLE_HOOK_NAME = "drain-running-jobs"
# Auto Scaling's largest heartbeat timeout; longer drains record heartbeats to extend it.
MAX_HEARTBEAT_SECONDS = 7200
# Time for the drain service to notice the hook and for gitlab-runner's final cleanup stages.
DRAIN_MARGIN_SECONDS = 300
# Time for Auto Scaling to terminate a drained instance and delete the group.
TERMINATION_MARGIN_SECONDS = 300

# Instance tag holding the token secret's version (see ManagerArgs.tokens_version).
TOKENS_VERSION_TAG = "gitlab-runner-tokens-version"
# Group tag naming the stack's manager groups (value: the resource prefix): the managers'
# lifecycle permissions follow it, so they outlive any group that is being removed.
MANAGER_GROUP_TAG = "gitlab-runner-managers"
# Instance tag: the subnets the manager's driver configs use (the same key as the task
# reaper's TASK_SUBNETS_TAG, components/ecs/reaper/instances.py; a test keeps them equal).
TASK_SUBNETS_TAG = "gitlab-runner-task-subnets"


@dataclass(frozen=True)
class MetricsLogGroup:
    """The log group the managers' CloudWatch agent writes the runners' metrics to (EMF)."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass(frozen=True)
class ManagerArgs:
    name: str  # the ECS component's name
    parent: pulumi.Resource
    config: EcsFleetSpec
    prefix: str
    tags: Mapping[str, str]
    region: pulumi.Output[str]
    partition: pulumi.Output[str]
    account: pulumi.Output[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    clusters: Mapping[str, aws.ecs.Cluster]  # lane -> cluster
    task_definitions: Mapping[str, aws.ecs.TaskDefinition]
    passable_roles: Sequence[aws.iam.Role]  # execution role + task roles
    token_secret: aws.secretsmanager.Secret
    log_group: aws.cloudwatch.LogGroup
    manager_security_group: aws.ec2.SecurityGroup
    task_security_group: aws.ec2.SecurityGroup
    depends_on: Sequence[pulumi.Resource]  # what must exist before a manager starts
    # The token secret's version: a new version (tokens rotated or changed) makes a new launch
    # template version, so the instance refresh boots managers that read the new tokens.
    tokens_version: pulumi.Input[str]
    cache: CacheBucket | None = None  # the S3 build cache, when enabled
    # observability.enabled: the EMF log group and namespace of the runners' metrics.
    metrics_log_group: MetricsLogGroup | None = None
    metrics_namespace: str = ""
    # switchFrom names this topology: every group is scaled to zero. Each manager leaves
    # through its termination hook (its running jobs end first) and none comes back.
    retired: bool = False


@dataclass(frozen=True)
class Managers:
    shards: list[Shard]
    instance_types: list[str]
    groups: list[aws.autoscaling.Group]
    rendered_files: dict[str, pulumi.Output[str]]


def stop_timeout_seconds(config: EcsFleetSpec) -> int:
    """How long stopping gitlab-runner waits for its running jobs."""
    return config.ecs.job_timeout_seconds + SHUTDOWN_TIMEOUT_SECONDS


def heartbeat_timeout_seconds(config: EcsFleetSpec) -> int:
    return min(MAX_HEARTBEAT_SECONDS, stop_timeout_seconds(config) + DRAIN_MARGIN_SECONDS)


def group_delete_timeout_seconds(config: EcsFleetSpec) -> int:
    """How long deleting a manager group may take: the provider scales it to 0 and waits for
    its instance, which drains first (heartbeats keep a drain longer than the heartbeat
    timeout alive), then terminates (terraform-provider-aws autoscaling/group.go drainGroup,
    bounded by the delete timeout; its default is 10 minutes)."""
    return stop_timeout_seconds(config) + DRAIN_MARGIN_SECONDS + TERMINATION_MARGIN_SECONDS


def _role(args: ManagerArgs) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    role = aws.iam.Role(
        f"{args.name}-manager-role",
        description="GitLab runner manager: start, watch and stop CI job tasks",
        assume_role_policy=json.dumps(assume_role_policy(EC2_SERVICE)),
        tags=dict(args.tags),
        opts=child(args.parent),
    )
    aws.iam.RolePolicyAttachment(
        f"{args.name}-manager-ssm",
        role=role.name,
        policy_arn=args.partition.apply(
            lambda p: f"arn:{p}:iam::aws:policy/{SSM_MANAGED_INSTANCE_POLICY}"
        ),
        opts=child(args.parent),
    )
    scope = pulumi.Output.all(
        clusters=pulumi.Output.all(*[c.arn for c in args.clusters.values()]),
        definitions=pulumi.Output.all(*[t.arn for t in args.task_definitions.values()]),
        roles=pulumi.Output.all(*[r.arn for r in args.passable_roles]),
        secret=args.token_secret.arn,
        logs=args.log_group.arn,
        cache=args.cache.bucket_arn if args.cache else None,
        metrics=args.metrics_log_group.arn if args.metrics_log_group else None,
    )
    document = scope.apply(
        lambda v: json.dumps(
            manager_policy(
                ManagerPolicyScope(
                    cluster_arns=v["clusters"],
                    task_definition_arns=v["definitions"],
                    family_prefix=args.prefix,
                    passable_role_arns=v["roles"],
                    role_path=job_role_path(args.prefix),
                    secret_arn=v["secret"],
                    log_group_arn=v["logs"],
                    cache_bucket_arn=v["cache"],
                    metrics_log_group_arn=v["metrics"],
                )
            )
        )
    )
    policy = aws.iam.RolePolicy(
        f"{args.name}-manager-policy", role=role.id, policy=document, opts=child(args.parent)
    )
    return role, policy


def _fargate_tomls(
    args: ManagerArgs, shard: Shard, shard_count: int
) -> pulumi.Output[dict[str, str]]:
    """One driver config per runner on this manager: its lane's cluster, its default task
    definition and its subnet (sizing.shard_subnet: a runner's managers spread over zones)."""
    config = args.config
    inputs = pulumi.Output.all(
        region=args.region,
        subnets=args.private_subnet_ids,
        security_group=args.task_security_group.id,
        clusters={lane: c.name for lane, c in args.clusters.items()},
        families={name: t.family for name, t in args.task_definitions.items()},
    )

    def render(v: dict[str, Any]) -> dict[str, str]:
        return {
            share.runner.name: render_fargate_toml(
                FargateDriverSettings(
                    runner_name=share.runner.name,
                    cluster=v["clusters"][share.runner.lane],
                    region=v["region"],
                    subnet=shard_subnet(v["subnets"], share.index, shard.index, shard_count),
                    security_group=v["security_group"],
                    task_definition=v["families"][share.runner.task_definition],
                    platform_version=config.ecs.platform_version,
                    ssh_username=config.ecs.ssh_username,
                )
            )
            for share in shard.runners
        }

    return inputs.apply(render)


def _user_data(
    args: ManagerArgs, shard: Shard, shard_count: int
) -> tuple[pulumi.Output[str], dict[str, pulumi.Output[str]]]:
    """The shard's encoded boot script, and the files it writes (for the plan) by path."""
    config = args.config
    cache = args.cache.settings() if args.cache else None
    config_toml = pulumi.Output.from_input(cache).apply(
        lambda c: render_config_toml(config, shard, c)
    )
    fargate_tomls = _fargate_tomls(args, shard, shard_count)
    script = pulumi.Output.all(
        config_toml=config_toml,
        region=args.region,
        secret=args.token_secret.arn,
        logs=args.log_group.name,
        fargate=fargate_tomls,
        metrics=args.metrics_log_group.name if args.metrics_log_group else None,
    ).apply(
        lambda v: render_user_data(
            ManagerBootSettings(
                runner_version=config.ecs.runner_version,
                runner_sha256=config.ecs.runner_sha256,
                driver_version=config.ecs.driver_version,
                driver_sha256=config.ecs.driver_sha256,
                region=v["region"],
                secret_arn=v["secret"],
                log_group_name=v["logs"],
                config_toml=v["config_toml"],
                fargate_tomls=v["fargate"],
                stop_timeout_seconds=stop_timeout_seconds(config),
                lifecycle_hook_name=LIFECYCLE_HOOK_NAME,
                heartbeat_seconds=heartbeat_timeout_seconds(config) // 2,
                metrics=ManagerMetrics(args.metrics_namespace, v["metrics"], args.prefix)
                if v["metrics"]
                else None,
                ca_bundle=config.ca_bundle,
                proxy_environment=config.proxy_environment,
            )
        )
    )
    # Shard 0's files keep their plain paths; other managers' are prefixed with the manager.
    key = "" if shard.index == 0 else f"manager-{shard.index}:"
    files = {f"{key}{CONFIG_PATH}": config_toml}
    for share in shard.runners:
        files[f"{key}{fargate_config_path(share.runner.name)}"] = fargate_tomls.apply(
            lambda tomls, n=share.runner.name: tomls[n]
        )
    files[f"{key}{USER_DATA_FILE}"] = script
    return script.apply(encode_user_data), files


def _task_subnets(args: ManagerArgs, shard: Shard, shard_count: int) -> pulumi.Output[str]:
    """The subnets this manager's driver configs start tasks in, space-separated: its
    instance's TASK_SUBNETS_TAG, which tells the task reaper whose tasks it may own."""
    return pulumi.Output.from_input(args.private_subnet_ids).apply(
        lambda ids: " ".join(
            sorted({shard_subnet(ids, r.index, shard.index, shard_count) for r in shard.runners})
        )
    )


def _group(
    args: ManagerArgs,
    shard: Shard,
    shard_count: int,
    instance_type: str,
    profile: aws.iam.InstanceProfile,
) -> tuple[aws.autoscaling.Group, dict[str, pulumi.Output[str]]]:
    """One manager, kept alive by an Auto Scaling group of one; returns the group and the
    files its user data writes.

    The group pins the launch template's latest version, so a change to the user data
    (runners, versions, task definitions) starts an instance refresh: the new manager comes
    up first (min healthy 100%, max 200%), then the old one leaves through the termination
    hook and drains. The AMI is resolved at launch (`resolve:ssm:`), so a new Amazon Linux
    release changes nothing until the next launch.

    Deleting the group (a shard removed, `pulumi destroy`) drains too: no `force_delete`, so
    the provider scales the group to 0 and waits, and the termination hook is the group's own
    (`initial_lifecycle_hooks`), so nothing deletes it first. Initial hooks are create-only
    (pulumi-aws Group docs: "will only work when creating a new Auto Scaling group. For all
    other use-cases, please use autoscaling.LifecycleHook") and force a new group
    (terraform-provider-aws group.go: ForceNew, and Read never sets them), hence
    `ignore_changes`: a group created before they existed is not replaced, and neither is
    one whose heartbeat changes. The same hook as its own resource is what puts the hook on
    such a group and keeps its heartbeat current (PutLifecycleHook overwrites the initial one);
    `deleted_with` the group, its delete is skipped when the group goes, so it cannot remove
    the hook before the group drains."""
    suffix = shard.suffix()
    instance_name = f"{args.prefix}-runner-manager{suffix}"
    hook: dict[str, Any] = {
        "name": LIFECYCLE_HOOK_NAME,
        "lifecycle_transition": "autoscaling:EC2_INSTANCE_TERMINATING",
        "heartbeat_timeout": heartbeat_timeout_seconds(args.config),
        # A manager that dies while draining must not block its group for ever.
        "default_result": "CONTINUE",
    }
    tagged = {**args.tags, "Name": instance_name}
    user_data, files = _user_data(args, shard, shard_count)
    template = aws.ec2.LaunchTemplate(
        f"{args.name}-manager{suffix}-lt",
        description="GitLab runner manager (custom executor + AWS Fargate driver)",
        image_id=f"resolve:ssm:{args.config.ecs.manager_ami_parameter}",
        instance_type=instance_type,
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
        vpc_security_group_ids=[args.manager_security_group.id],
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
                tags={
                    **tagged,
                    TOKENS_VERSION_TAG: args.tokens_version,
                    TASK_SUBNETS_TAG: _task_subnets(args, shard, shard_count),
                },
            )
            for kind in ("instance", "volume")
        ],
        tags=dict(args.tags),
        opts=child(args.parent),
    )
    live = 0 if args.retired else 1
    group = aws.autoscaling.Group(
        f"{args.name}-manager{suffix}-asg",
        min_size=live,
        max_size=2 * live,  # room for the replacement during an instance refresh
        desired_capacity=live,
        vpc_zone_identifiers=args.private_subnet_ids,
        launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
            id=template.id, version=template.latest_version.apply(str)
        ),
        # Free one-minute group metrics: the manager-down alarm and the dashboard read them.
        enabled_metrics=list(GROUP_METRICS) if args.metrics_log_group else None,
        metrics_granularity="1Minute" if args.metrics_log_group else None,
        health_check_type="EC2",
        health_check_grace_period=300,
        force_delete=False,
        initial_lifecycle_hooks=[aws.autoscaling.GroupInitialLifecycleHookArgs(**hook)],
        instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
            strategy="Rolling",
            preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                min_healthy_percentage=100, max_healthy_percentage=200
            ),
        ),
        tags=[
            aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
            for k, v in {**tagged, MANAGER_GROUP_TAG: args.prefix}.items()
        ],
        opts=child(
            args.parent,
            depends_on=list(args.depends_on),
            ignore_changes=["initialLifecycleHooks"],
            custom_timeouts=pulumi.CustomTimeouts(
                delete=f"{group_delete_timeout_seconds(args.config)}s"
            ),
        ),
    )
    aws.autoscaling.LifecycleHook(
        f"{args.name}-manager{suffix}-drain-hook",
        autoscaling_group_name=group.name,
        **hook,
        opts=child(args.parent, deleted_with=group),
    )
    return group, files


def create_managers(args: ManagerArgs) -> Managers:
    config = args.config
    shards = plan_shards(config.runners, config.ecs.max_jobs_per_manager)
    role, policy = _role(args)
    # Before the groups, and deleted after them: a draining manager completes its hook.
    lifecycle = aws.iam.RolePolicy(
        f"{args.name}-manager-lifecycle-policy",
        role=role.id,
        policy=pulumi.Output.all(args.partition, args.region, args.account).apply(
            lambda v: json.dumps(manager_lifecycle_policy(*v, MANAGER_GROUP_TAG, args.prefix))
        ),
        opts=child(args.parent),
    )
    args = replace(args, depends_on=[*args.depends_on, policy, lifecycle])
    profile = aws.iam.InstanceProfile(
        f"{args.name}-manager-profile",
        role=role.name,
        tags=dict(args.tags),
        opts=child(args.parent),
    )
    types = shard_instance_types(shards, config.ecs.manager_instance_type)
    files: dict[str, pulumi.Output[str]] = {}
    groups = []
    for shard, kind in zip(shards, types, strict=True):
        group, shard_files = _group(args, shard, len(shards), kind, profile)
        groups.append(group)
        files.update(shard_files)
    return Managers(shards=shards, instance_types=types, groups=groups, rendered_files=files)
