"""The ECS component under mocks: clusters, catalogue, security groups, tokens, manager."""

from __future__ import annotations

import base64
import json
import tomllib
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.domain.fargate_sizes import is_valid_fargate_size
from components.ecs.manager_files import CONFIG_PATH
from components.offline.mocks import MOCK_ACCOUNT, REDACTED, Plan
from tests.ecs.support import (
    ASG,
    CAPACITY,
    CLUSTER,
    COMPONENT,
    EXISTING_VPC,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    ROLE_POLICY,
    SECRET_VERSION,
    SG,
    SG_RULE,
    TASK_DEFINITION,
    component,
    container,
    named,
    user_data,
)
from tests.harness import SENTINEL_PREFIX, sentinel

PLANS = {
    "dev": "ecs_dev_plan",
    "existing-vpc": "ecs_existing_vpc_plan",
    "sharded": "ecs_sharded_plan",
}


def fargate_toml(plan: Plan, runner: str) -> dict[str, Any]:
    return tomllib.loads(plan.rendered_files[f"/etc/gitlab-runner/fargate-{runner}.toml"])


@pytest.mark.parametrize("plan_name", PLANS)
def test_every_ecs_resource_is_a_named_child_of_the_component(
    plan_name: str, request: pytest.FixtureRequest
) -> None:
    plan = request.getfixturevalue(PLANS[plan_name])
    parent = component(plan)
    assert parent.type == COMPONENT
    children = plan.children_of(parent)
    assert len(children) > 20
    assert all(child.name.startswith("ecs-") for child in children)
    for type_ in (CLUSTER, TASK_DEFINITION, SG, SG_RULE, SECRET_VERSION, LAUNCH_TEMPLATE, ASG):
        assert all(r.parent == parent.urn for r in plan.all(type_) if r.name.startswith("ecs-"))


def test_task_definitions_are_fargate_awsvpc_with_the_ci_coordinator_container(
    ecs_dev_plan: Plan,
) -> None:
    plan = ecs_dev_plan
    expected = {"debian": ("1024", "2048", None), "node": ("2048", "4096", {"sizeInGib": 40})}
    for entry, (cpu, memory, storage) in expected.items():
        definition = named(plan, TASK_DEFINITION, f"ecs-task-{entry}")
        assert definition["family"] == f"gitlab-runners-dev-{entry}"
        assert definition["requiresCompatibilities"] == ["FARGATE"]
        assert definition["networkMode"] == "awsvpc"
        assert (definition["cpu"], definition["memory"]) == (cpu, memory)
        assert is_valid_fargate_size(int(cpu), int(memory))
        assert definition["runtimePlatform"] == {
            "operatingSystemFamily": "LINUX",
            "cpuArchitecture": "X86_64",
        }
        assert definition.get("ephemeralStorage") == storage
        assert definition["executionRoleArn"] == (
            f"arn:aws:iam::{MOCK_ACCOUNT}:role/gitlab-runners-dev/ecs-execution-role"
        )
        assert "taskRoleArn" not in definition
        coordinator = container(plan, entry)
        assert coordinator["name"] == "ci-coordinator"
        assert coordinator["essential"] is True
        assert coordinator["portMappings"] == [
            {"containerPort": 22, "hostPort": 22, "protocol": "tcp"}
        ]
        assert coordinator["logConfiguration"] == {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/gitlab-runners-dev/jobs",
                "awslogs-region": "eu-west-1",
                "awslogs-stream-prefix": entry,
            },
        }
    assert container(plan, "node")["image"].endswith("docker-nodejs-gitlab-ci-fargate:latest")


def test_task_definition_environment_and_task_role_come_from_the_entry(
    ecs_existing_vpc_plan: Plan,
) -> None:
    plan = ecs_existing_vpc_plan
    node = named(plan, TASK_DEFINITION, "ecs-task-node")
    assert (
        node["taskRoleArn"]
        == f"arn:aws:iam::{MOCK_ACCOUNT}:role/gitlab-runners-dev/ecs-task-node-role"
    )
    assert container(plan, "node")["environment"] == [
        {"name": "NODE_ENV", "value": "test"},
        {"name": "TZ", "value": "UTC"},
    ]
    debian = named(plan, TASK_DEFINITION, "ecs-task-debian")
    assert "taskRoleArn" not in debian
    assert container(plan, "debian")["environment"] == []


@pytest.mark.parametrize("plan_name", PLANS)
def test_task_definitions_pass_botocore_and_moto_validation(
    plan_name: str, request: pytest.FixtureRequest
) -> None:
    plan = request.getfixturevalue(PLANS[plan_name])
    with mock_aws():
        ecs = boto3.client("ecs", region_name="eu-west-1")
        for resource in plan.all(TASK_DEFINITION):
            inputs = resource.inputs
            request: dict[str, Any] = {
                "family": inputs["family"],
                "containerDefinitions": json.loads(inputs["containerDefinitions"]),
                "requiresCompatibilities": inputs["requiresCompatibilities"],
                "networkMode": inputs["networkMode"],
                "cpu": inputs["cpu"],
                "memory": inputs["memory"],
                "runtimePlatform": inputs["runtimePlatform"],
                "executionRoleArn": inputs["executionRoleArn"],
                "tags": [{"key": k, "value": v} for k, v in inputs["tags"].items()],
            }
            if "taskRoleArn" in inputs:
                request["taskRoleArn"] = inputs["taskRoleArn"]
            if "ephemeralStorage" in inputs:
                request["ephemeralStorage"] = {
                    "sizeInGiB": int(inputs["ephemeralStorage"]["sizeInGib"])
                }
            registered = ecs.register_task_definition(**request)["taskDefinition"]
            assert registered["family"] == inputs["family"]
            assert registered["containerDefinitions"][0]["name"] == "ci-coordinator"


def test_clusters_default_to_fargate_and_fargate_spot(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    assert named(plan, CLUSTER, "ecs-cluster")["name"] == "gitlab-runners-dev"
    assert named(plan, CLUSTER, "ecs-spot-cluster")["name"] == "gitlab-runners-dev-spot"
    for name, provider, cluster in (
        ("ecs-cluster-capacity", "FARGATE", "gitlab-runners-dev"),
        ("ecs-spot-cluster-capacity", "FARGATE_SPOT", "gitlab-runners-dev-spot"),
    ):
        capacity = named(plan, CAPACITY, name)
        assert capacity["clusterName"] == cluster
        assert sorted(capacity["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
        assert capacity["defaultCapacityProviderStrategies"] == [
            {"capacityProvider": provider, "weight": 1, "base": 0}
        ]
    settings = named(plan, CLUSTER, "ecs-cluster")["settings"]
    assert settings == [{"name": "containerInsights", "value": "disabled"}]


def test_spot_lane_runner_uses_the_spot_cluster(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    assert fargate_toml(plan, "fargate")["Fargate"]["Cluster"] == "gitlab-runners-dev"
    assert fargate_toml(plan, "fargate-spot")["Fargate"]["Cluster"] == "gitlab-runners-dev-spot"
    runners = {r["name"]: r for r in plan.outputs["runners"]}
    assert runners["fargate-spot"] == {
        "name": "fargate-spot",
        "tags": ["fargate-spot"],
        "lane": "spot",
        "cluster": "gitlab-runners-dev-spot",
        "defaultTaskDefinition": "gitlab-runners-dev-debian",
        "concurrency": 20,
    }
    assert runners["fargate"]["cluster"] == "gitlab-runners-dev"
    assert plan.outputs["ecsSpotClusterName"] == "gitlab-runners-dev-spot"


def test_spot_cluster_exists_without_a_spot_runner(ecs_existing_vpc_plan: Plan) -> None:
    """Both clusters always: removing the last spot runner must not delete the cluster its
    draining managers still use (tests/ecs/test_reaper_day2.py); an empty one costs nothing."""
    plan = ecs_existing_vpc_plan
    assert sorted(r.name for r in plan.all(CLUSTER)) == ["ecs-cluster", "ecs-spot-cluster"]
    assert sorted(r.name for r in plan.all(CAPACITY)) == [
        "ecs-cluster-capacity",
        "ecs-spot-cluster-capacity",
    ]
    assert plan.outputs["ecsSpotClusterName"] == "gitlab-runners-dev-spot"
    settings = named(plan, CLUSTER, "ecs-cluster")["settings"]
    assert settings == [{"name": "containerInsights", "value": "enabled"}]


def test_fargate_toml_points_at_private_subnets_round_robin_without_public_ips(
    ecs_dev_plan: Plan,
) -> None:
    plan = ecs_dev_plan
    subnets = [fargate_toml(plan, r)["Fargate"]["Subnet"] for r in ("fargate", "fargate-spot")]
    assert subnets == ["network-private-0-mock-id", "network-private-1-mock-id"]
    for runner in ("fargate", "fargate-spot"):
        driver = fargate_toml(plan, runner)["Fargate"]
        assert driver["EnablePublicIP"] is False
        assert "UsePublicIP" not in driver  # unknown to older drivers; not needed here
        assert driver["SecurityGroup"] == "ecs-task-sg-mock-id"
        assert driver["Region"] == "eu-west-1"
        assert driver["TaskDefinition"] == "gitlab-runners-dev-debian"
        assert driver["PlatformVersion"] == "1.4.0"


def test_existing_vpc_uses_its_subnets_and_creates_no_vpc(ecs_existing_vpc_plan: Plan) -> None:
    plan = ecs_existing_vpc_plan
    assert plan.all("aws:ec2/vpc:Vpc") == []
    driver = fargate_toml(plan, "build")["Fargate"]
    assert driver["Subnet"] in EXISTING_VPC["privateSubnetIds"]
    assert driver["EnablePublicIP"] is False
    for sg in ("ecs-manager-sg", "ecs-task-sg"):
        assert named(plan, SG, sg)["vpcId"] == EXISTING_VPC["vpcId"]
    assert (
        named(plan, ASG, "ecs-manager-asg")["vpcZoneIdentifiers"]
        == (EXISTING_VPC["privateSubnetIds"])
    )


def test_runner_default_task_definition_comes_from_the_runner() -> None:
    from tests.harness import dev_config, run_program

    plan = run_program(
        dev_config(runners=[{"name": "fargate", "taskDefinition": "node"}], network=EXISTING_VPC)
    )
    assert fargate_toml(plan, "fargate")["Fargate"]["TaskDefinition"] == "gitlab-runners-dev-node"
    assert plan.outputs["runners"][0]["defaultTaskDefinition"] == "gitlab-runners-dev-node"


def rules(plan: Plan) -> list[dict[str, Any]]:
    return [r.inputs for r in plan.all(SG_RULE) if r.name.startswith("ecs-")]


@pytest.mark.parametrize("plan_name", PLANS)
def test_tasks_accept_ssh_only_from_the_manager_and_nothing_is_open(
    plan_name: str, request: pytest.FixtureRequest
) -> None:
    plan = request.getfixturevalue(PLANS[plan_name])
    ingress = [r for r in rules(plan) if r["type"] == "ingress"]
    assert ingress == [
        {
            "type": "ingress",
            "securityGroupId": "ecs-task-sg-mock-id",
            "protocol": "tcp",
            "fromPort": 22,
            "toPort": 22,
            "sourceSecurityGroupId": "ecs-manager-sg-mock-id",
            "description": ingress[0]["description"],
        }
    ]
    for sg in ("ecs-manager-sg", "ecs-task-sg"):
        inputs = named(plan, SG, sg)
        assert not inputs.get("ingress") and not inputs.get("egress")  # rules are separate
    for rule in rules(plan):
        assert rule["description"]
        if rule["type"] == "ingress":
            assert "0.0.0.0/0" not in rule.get("cidrBlocks", [])


def test_manager_egress_is_https_to_the_world_and_ssh_to_tasks(
    ecs_dev_plan: Plan, ecs_existing_vpc_plan: Plan
) -> None:
    def egress(plan: Plan, sg: str) -> list[tuple[Any, ...]]:
        return sorted(
            (
                r["protocol"],
                r["fromPort"],
                r["toPort"],
                tuple(r.get("cidrBlocks", [])),
                r.get("sourceSecurityGroupId"),
            )
            for r in rules(plan)
            if r["type"] == "egress" and r["securityGroupId"] == f"{sg}-mock-id"
        )

    world = ("0.0.0.0/0",)
    assert egress(ecs_dev_plan, "ecs-manager-sg") == [
        ("tcp", 22, 22, (), "ecs-task-sg-mock-id"),
        ("tcp", 443, 443, world, None),
    ]
    # A self-managed GitLab on another port gets that port too.
    assert ("tcp", 8443, 8443, world, None) in egress(ecs_existing_vpc_plan, "ecs-manager-sg")
    assert egress(ecs_dev_plan, "ecs-task-sg") == [("-1", 0, 0, world, None)]


@pytest.mark.parametrize("plan_name", PLANS)
def test_token_appears_only_in_the_secret_version(
    plan_name: str, request: pytest.FixtureRequest
) -> None:
    plan = request.getfixturevalue(PLANS[plan_name])
    holders = [
        r.name for r in plan.resources if SENTINEL_PREFIX in json.dumps(r.inputs, default=str)
    ]
    assert holders == ["ecs-runner-tokens-version"]
    version = named(plan, SECRET_VERSION, "ecs-runner-tokens-version")
    runners = [r["name"] for r in plan.outputs["runners"]]
    assert json.loads(version["secretString"]) == {name: sentinel(name) for name in runners}
    redacted = plan.one(SECRET_VERSION).redacted_inputs
    assert redacted["secretString"] == REDACTED
    # Base64/gzip would hide a token from the checks above: look inside the user data too.
    script = user_data(plan)
    assert SENTINEL_PREFIX not in script and "glrt-" not in script
    assert SENTINEL_PREFIX not in json.dumps(plan.outputs, default=str)
    assert SENTINEL_PREFIX not in json.dumps(plan.rendered_files)
    for resource in plan.resources:
        for value in resource.inputs.values():
            if isinstance(value, str) and len(value) > 64:
                try:
                    decoded = base64.b64decode(value, validate=True)
                except ValueError:
                    continue
                assert SENTINEL_PREFIX.encode() not in decoded, resource.name


def test_manager_is_one_imdsv2_instance_with_the_ami_resolved_at_launch(
    ecs_dev_plan: Plan,
) -> None:
    plan = ecs_dev_plan
    template = named(plan, LAUNCH_TEMPLATE, "ecs-manager-lt")
    # Resolved by EC2 at each launch: a new AMI does not change the template on `pulumi up`.
    assert template["imageId"] == (
        "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    )
    assert template["instanceType"] == "m6i.large"  # sized for the example's 40 jobs
    assert template["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    assert template["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeSize": 20,
                "volumeType": "gp3",
                "encrypted": "true",
                "deleteOnTermination": "true",
            },
        }
    ]
    assert "keyName" not in template
    assert template["iamInstanceProfile"] == {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:instance-profile/ecs-manager-profile"
    }
    assert template["vpcSecurityGroupIds"] == ["ecs-manager-sg-mock-id"]
    assert template["updateDefaultVersion"] is True
    profile = named(plan, "aws:iam/instanceProfile:InstanceProfile", "ecs-manager-profile")
    assert profile["role"] == "ecs-manager-role"
    group = named(plan, ASG, "ecs-manager-asg")
    assert (group["minSize"], group["maxSize"], group["desiredCapacity"]) == (1, 2, 1)
    assert group["vpcZoneIdentifiers"] == ["network-private-0-mock-id", "network-private-1-mock-id"]
    assert group["launchTemplate"] == {"id": "ecs-manager-lt-mock-id", "version": "1"}
    assert group["instanceRefresh"] == {
        "strategy": "Rolling",
        # The new manager is healthy before the old one leaves (and drains).
        "preferences": {"minHealthyPercentage": 100, "maxHealthyPercentage": 200},
    }
    # Deleting the group drains its manager (issue 14): scale to 0, wait for the hook.
    assert group["forceDelete"] is False


def test_manager_waits_for_capacity_providers_token_and_permissions(ecs_dev_plan: Plan) -> None:
    """Without a default capacity provider RunTask fails; without the token or the policy the
    first boot would spin on retries."""
    plan = ecs_dev_plan
    waits_for = set(plan.one(ASG, "ecs-manager-asg").dependencies)
    for type_, name in (
        (CAPACITY, "ecs-cluster-capacity"),
        (CAPACITY, "ecs-spot-cluster-capacity"),
        (SECRET_VERSION, "ecs-runner-tokens-version"),
        (ROLE_POLICY, "ecs-manager-policy"),
    ):
        assert plan.one(type_, name).urn in waits_for, name


def test_log_groups_have_the_configured_retention(ecs_existing_vpc_plan: Plan) -> None:
    plan = ecs_existing_vpc_plan
    groups = {r.inputs["name"]: r.inputs for r in plan.all(LOG_GROUP)}
    assert set(groups) == {
        "/gitlab-runners-dev/jobs",
        "/gitlab-runners-dev/manager",
        "/gitlab-runners-dev/task-reaper",
        "/gitlab-runners-dev/metrics",
        "/aws/events/gitlab-runners-dev/tasks-not-started",
    }
    assert {g["retentionInDays"] for g in groups.values()} == {30}


def test_stack_outputs(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    outputs = plan.outputs
    assert {
        "ecsClusterName",
        "ecsSpotClusterName",
        "runners",
        "taskDefinitionFamilies",
        "logGroups",
        "managerAutoScalingGroupName",
        "managerSessionCommand",
        "runnerTokenSecretArn",
        "gitlabCiExample",
    } <= set(outputs)
    assert outputs["ecsClusterName"] == "gitlab-runners-dev"
    assert outputs["taskDefinitionFamilies"] == {
        "debian": "gitlab-runners-dev-debian",
        "node": "gitlab-runners-dev-node",
    }
    assert outputs["logGroups"] == {
        "jobs": "/gitlab-runners-dev/jobs",
        "manager": "/gitlab-runners-dev/manager",
    }
    assert outputs["managerAutoScalingGroupName"] == "ecs-manager-asg"
    assert "aws ssm start-session" in outputs["managerSessionCommand"]
    assert outputs["runnerTokenSecretArn"].startswith("arn:aws:secretsmanager:")
    assert plan.redacted_outputs["runnerTokenSecretArn"] != REDACTED  # an ARN, not the value
    assert all(key[0].islower() and "_" not in key for key in outputs)
    config_toml = tomllib.loads(plan.rendered_files[CONFIG_PATH])
    assert [r["name"] for r in config_toml["runners"]] == ["fargate", "fargate-spot"]
