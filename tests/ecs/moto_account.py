"""A moto account for the task reaper's handler: two clusters like the stack's, a task
definition, a subnet and security group, and a manager group on demand. The `account`
fixture (tests/ecs/conftest.py) yields it with the handler's clients and clock patched."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ec2.models import ec2_backends
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from components.ecs.reaper import handler as reaper

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TIMEOUT = 3600
MARGIN = 600
GRACE = 300
FARGATE_CLUSTER = "gitlab-runners-dev"
SPOT_CLUSTER = "gitlab-runners-dev-spot"
MANAGER_GROUP = "gitlab-runners-dev-manager"


@dataclass
class FakeAccount:
    ecs: Any
    ec2: Any
    autoscaling: Any
    subnet: str
    security_group: str
    now: datetime
    tasks: dict[str, str] = field(default_factory=dict)  # name -> ARN

    def run_task(self, name: str, cluster: str, age: timedelta) -> str:
        arn = self.ecs.run_task(
            cluster=cluster,
            taskDefinition="gitlab-runners-dev-default",
            networkConfiguration={
                # What the driver sends: one subnet, one security group, no launch type.
                "awsvpcConfiguration": {
                    "subnets": [self.subnet],
                    "securityGroups": [self.security_group],
                    "assignPublicIp": "DISABLED",
                }
            },
        )["tasks"][0]["taskArn"]
        # moto records no createdAt: set it on its model (DescribeTasks then returns it).
        ecs_backends[ACCOUNT][REGION].tasks[cluster][arn].created_at = self.now - age
        self.tasks[name] = arn
        return arn

    def manager_group(self, instances: int, launched_ago: timedelta | None = None) -> None:
        template = self.ec2.create_launch_template(
            LaunchTemplateName="manager-template",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
        )["LaunchTemplate"]["LaunchTemplateId"]
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=MANAGER_GROUP,
            MinSize=0,
            MaxSize=1,
            DesiredCapacity=instances,
            LaunchTemplate={"LaunchTemplateId": template},
            VPCZoneIdentifier=self.subnet,
        )
        if launched_ago is not None:
            group = self.autoscaling.describe_auto_scaling_groups(
                AutoScalingGroupNames=[MANAGER_GROUP]
            )["AutoScalingGroups"][0]
            for member in group["Instances"]:
                instance = ec2_backends[ACCOUNT][REGION].get_instance(member["InstanceId"])
                instance.launch_time = (self.now - launched_ago).replace(tzinfo=None)

    def status(self, name: str) -> str:
        arn = self.tasks[name]
        cluster = arn.split(":task/")[1].split("/")[0]
        return self.ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]["lastStatus"]


@cache
def botocore_session() -> boto3.session.Session:
    """One session for every moto test: its loader parses each service model only once."""
    return boto3.session.Session(region_name=REGION)


def client(service: str) -> Any:
    return botocore_session().client(service, config=reaper.BOTO_CONFIG)


def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAccount]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "REAPER_CLUSTERS": ",".join([FARGATE_CLUSTER, SPOT_CLUSTER]),
        "REAPER_AUTOSCALING_GROUPS": MANAGER_GROUP,
        "REAPER_JOB_TIMEOUT_SECONDS": str(TIMEOUT),
        "REAPER_MARGIN_SECONDS": str(MARGIN),
        "REAPER_GRACE_SECONDS": str(GRACE),
        "REAPER_POLL_SECONDS": "0",
        "REAPER_SETTLE_SECONDS": "0",  # the drain's 15 s settle wait would be real time
        # Skip loading ~1300 sample AMIs per EC2 backend: seconds saved per test.
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():
        monkeypatch.setenv(key, value)
    # moto advances a described task towards STOPPED by default; real tasks keep running.
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
    try:
        with mock_aws():
            ec2 = client("ec2")
            ecs = client("ecs")
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            # moto's awsvpc task ENI needs DNS hostnames on the VPC.
            ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
            security_group = ec2.create_security_group(
                GroupName="tasks", Description="job tasks", VpcId=vpc
            )["GroupId"]
            for name, provider in ((FARGATE_CLUSTER, "FARGATE"), (SPOT_CLUSTER, "FARGATE_SPOT")):
                # Like the stack: the driver sets no launch type, the default strategy decides.
                ecs.create_cluster(
                    clusterName=name,
                    capacityProviders=["FARGATE", "FARGATE_SPOT"],
                    defaultCapacityProviderStrategy=[{"capacityProvider": provider, "weight": 1}],
                )
            ecs.register_task_definition(
                family="gitlab-runners-dev-default",
                requiresCompatibilities=["FARGATE"],
                networkMode="awsvpc",
                cpu="1024",
                memory="2048",
                # moto needs a container-level memory to account resources (AWS does not).
                containerDefinitions=[
                    {"name": "ci-coordinator", "image": "registry.example/ci:1", "memory": 2048}
                ],
            )
            fake = FakeAccount(
                ecs=ecs,
                ec2=ec2,
                autoscaling=client("autoscaling"),
                subnet=subnet,
                security_group=security_group,
                now=datetime.now(UTC),
            )
            monkeypatch.setattr(reaper, "_now", lambda: fake.now)
            monkeypatch.setattr(reaper, "_client", client)
            yield fake
    finally:
        state_manager.unset_transition("ecs::task")
