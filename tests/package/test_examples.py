"""The examples plan under the mocks, from their own stack files, with the package's args
(no stack-config loader), and two fleets in one program collide on nothing."""

from __future__ import annotations

import json

import pytest

from components.offline.mocks import Plan
from tests.harness import sentinel
from tests.package.examples import EXAMPLES, load_build, plan_example

ECS_TOKENS = {"buildToken": sentinel("build"), "buildSpotToken": sentinel("build-spot")}


@pytest.fixture(scope="module")
def ecs_example() -> Plan:
    return plan_example("ecs-existing-vpc", ECS_TOKENS)


def test_every_example_has_a_project_a_stack_file_and_requirements() -> None:
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        names = {p.name for p in folder.iterdir()}
        assert {"Pulumi.yaml", "Pulumi.dev.yaml"} <= names, folder.name
        assert "__main__.py" in names or folder.name.endswith("-yaml"), folder.name


def test_the_ecs_example_runs_in_the_given_vpc(ecs_example: Plan) -> None:
    subnets = {"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}
    groups = ecs_example.all("aws:autoscaling/group:Group")
    assert groups and all(set(g.inputs["vpcZoneIdentifiers"]) <= subnets for g in groups)
    (group,) = [
        r for r in ecs_example.all("aws:ec2/securityGroup:SecurityGroup") if "manager" in r.name
    ]
    assert group.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert not ecs_example.all("aws:ec2/vpc:Vpc")  # the VPC is yours, not created


def test_the_ecs_example_names_everything_with_its_prefix(ecs_example: Plan) -> None:
    clusters = {r.inputs["name"] for r in ecs_example.all("aws:ecs/cluster:Cluster")}
    assert clusters == {"ci-runners", "ci-runners-spot"}
    assert ecs_example.outputs["clusterName"] == "ci-runners"
    assert set(ecs_example.outputs["taskDefinitionFamilies"]) == {"debian"}


def test_the_ecs_example_keeps_its_tokens_secret(ecs_example: Plan) -> None:
    (version,) = ecs_example.all("aws:secretsmanager/secretVersion:SecretVersion")
    assert json.loads(version.inputs["secretString"]) == {
        "build": sentinel("build"),
        "build-spot": sentinel("build-spot"),
    }
    assert version.redacted_inputs["secretString"] == "[secret]"
    shown = json.dumps([r.redacted_inputs for r in ecs_example.resources], default=str)
    assert sentinel("build") not in shown


def test_the_example_builds_no_stack_config() -> None:
    source = (EXAMPLES / "ecs-existing-vpc" / "__main__.py").read_text()
    assert "components.config" not in source and "components.topology" not in source
    assert callable(load_build("ecs-existing-vpc"))


PROFILE = "aws:eks/fargateProfile:FargateProfile"
EKS_TOKENS = {"buildToken": sentinel("build"), "buildSpotToken": sentinel("build-spot")}


@pytest.mark.parametrize("karpenter", ["install", "existing"])
def test_the_eks_example_joins_the_named_cluster(karpenter: str) -> None:
    """No cluster, addon or cluster-wide object: what destroy removes is the fleet's own."""
    plan = plan_example("eks-existing-cluster", EKS_TOKENS, karpenter=karpenter)
    types = {r.type for r in plan.resources}
    assert "eks:index:Cluster" not in types and "aws:eks/addon:Addon" not in types
    profiles = {p.inputs["fargateProfileName"]: p for p in plan.all(PROFILE)}
    extra = {"karpenter"} if karpenter == "install" else set()
    assert set(profiles) == {"gitlab-runners"} | extra
    profile = profiles["gitlab-runners"]
    assert profile.inputs["clusterName"] == "platform"
    assert profile.inputs["subnetIds"] == ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    releases = {r.inputs["name"] for r in plan.all("kubernetes:helm.sh/v3:Release")}
    expected = {"gitlab-runner-build", "gitlab-runner-build-spot"}
    if karpenter == "install":
        expected |= {"karpenter", "karpenter-crd"}
    assert releases == expected
    # (The other access entry is the start-wait sampler's, tests/eks/test_start_wait_sampler.py.)
    (entry,) = [
        e for e in plan.all("aws:eks/accessEntry:AccessEntry") if e.inputs["type"] == "EC2_LINUX"
    ]
    assert entry.inputs["type"] == "EC2_LINUX"
    # The owner's Karpenter must be allowed to pass the node role (bring-your-own.md).
    assert plan.outputs["podExecutionRoleArn"] == profile.inputs["podExecutionRoleArn"]
    roles = {"default": entry.inputs["principalArn"]} if karpenter == "existing" else None
    assert plan.outputs.get("karpenterNodeRoleArns") == roles
    secrets = plan.all("kubernetes:core/v1:Secret")
    assert secrets and all(s.redacted_inputs.get("stringData") == "[secret]" for s in secrets)


def test_the_eks_example_builds_no_stack_config() -> None:
    source = (EXAMPLES / "eks-existing-cluster" / "__main__.py").read_text()
    assert "components.config" not in source and "components.topology" not in source
