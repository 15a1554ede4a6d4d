"""The package's inputs beyond the basics, through the provider's construct path under the
recording mocks: joining an existing EKS cluster, the EC2 lanes' limits, a private CA and a
proxy; and every bad input refused per property before anything registers, with the stack
file's own text where the input is a stack key."""

from __future__ import annotations

import base64
import gzip
import sys
from typing import Any

import pulumi
import pytest

from components.config import parse_config
from tests.harness import ROOT, sentinel
from tests.package.provider_support import (
    ECS,
    EKS,
    RUNNERS_ONE,
    construct_plan,
    one_refusal,
    wire_inputs,
)

sys.path.insert(0, str(ROOT / "provider"))

CA = (ROOT / "tests" / "example-ca.pem").read_text()
PROXY = "http://proxy.example.com:3128"


def test_the_eks_fleet_joins_an_existing_cluster_with_its_lane_settings() -> None:
    plan = construct_plan(
        EKS,
        wire_inputs(
            clusterName="team-k8s",
            existingCluster={"name": "team-k8s", "karpenter": "existing"},
            instanceCategories=["c", "m"],
            spotCpuLimit=16.0,
        ),
    )
    assert not plan.all("eks:index:Cluster")
    assert plan.all("gitlab-fargate-runners:eks:ExistingCluster")
    # Karpenter "existing": the cluster's own; the fleet installs no release of it.
    releases = {r.inputs["name"] for r in plan.all("kubernetes:helm.sh/v3:Release")}
    assert releases == {"gitlab-runner-build", "gitlab-runner-build-spot"}
    (pool,) = plan.all("kubernetes:karpenter.sh/v1:NodePool")
    assert pool.inputs["metadata"]["name"] == "ci-runners-spot"  # prefixed on a shared cluster
    assert pool.inputs["spec"]["limits"] == {"cpu": "16"}
    requirements = {
        r["key"]: r["values"] for r in pool.inputs["spec"]["template"]["spec"]["requirements"]
    }
    assert requirements["karpenter.k8s.aws/instance-category"] == ["c", "m"]
    assert plan.redacted_outputs["kubeconfig"] == "[secret]"
    # What the cluster's owner must grant (docs/bring-your-own.md, "What the cluster's owner
    # grants"): its Karpenter passes these node roles, its logging reaches this role.
    # (The other access entry is the start-wait sampler's, tests/eks/test_start_wait_sampler.py.)
    (entry,) = [
        e for e in plan.all("aws:eks/accessEntry:AccessEntry") if e.inputs["type"] == "EC2_LINUX"
    ]
    assert plan.outputs["karpenterNodeRoleArns"] == {"default": entry.inputs["principalArn"]}
    (profile,) = plan.all("aws:eks/fargateProfile:FargateProfile")
    assert plan.outputs["podExecutionRoleArn"] == profile.inputs["podExecutionRoleArn"]


def test_cluster_settings_with_a_joined_cluster_are_the_stack_files_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_a, **_k: warned.append(message))
    inputs = wire_inputs(
        clusterName="team-k8s",
        existingCluster={"name": "team-k8s"},
        kubernetesVersion="1.34",
        adminRoleArns=["arn:aws:iam::123456789012:role/admin"],
    )
    construct_plan(EKS, inputs)
    stack = parse_config(
        {
            "mode": "eks",
            "runners": RUNNERS_ONE,
            "runnerTokens": {"build": sentinel("build")},
            "eks": {
                "existingCluster": "team-k8s",
                "kubernetesVersion": "1.34",
                "adminRoleArns": ["arn:aws:iam::123456789012:role/admin"],
            },
            "network": {
                "vpcId": "vpc-0123456789abcdef0",
                "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            },
        }
    )[1]
    ours = [w.removeprefix("EksRunnerFleet 'ci': ") for w in warned if "ignored" in w]
    assert len(ours) == 2 and set(ours) <= set(stack)


def test_the_ecs_fleet_trusts_the_private_ca_and_uses_the_proxy() -> None:
    plan = construct_plan(ECS, wire_inputs(caBundle=CA, httpProxy=PROXY, noProxy=["10.0.0.0/16"]))
    (template,) = plan.all("aws:ec2/launchTemplate:LaunchTemplate")
    script = gzip.decompress(base64.b64decode(template.inputs["userData"])).decode()
    assert f"HTTPS_PROXY={PROXY}" in script and "tls-ca-file" in script
    assert CA.strip().splitlines()[1] in script
    no_proxy = next(line for line in script.splitlines() if line.startswith("NO_PROXY="))
    assert no_proxy.endswith(",10.0.0.0/16") and ".amazonaws.com" in no_proxy


def test_the_fleet_uses_your_cache_bucket_and_creates_none() -> None:
    bucket = {
        "name": pulumi.Output.from_input("team-ci-cache"),
        "arn": pulumi.Output.from_input("arn:aws:s3:::team-ci-cache"),
        "region": "eu-central-1",
    }
    plan = construct_plan(ECS, wire_inputs(buildCacheBucket=bucket))
    assert not plan.all("aws:s3/bucket:Bucket")
    policies = repr([p.inputs for p in plan.all("aws:iam/rolePolicy:RolePolicy")])
    assert "arn:aws:s3:::team-ci-cache/*" in policies
    (template,) = plan.all("aws:ec2/launchTemplate:LaunchTemplate")
    script = gzip.decompress(base64.b64decode(template.inputs["userData"])).decode()
    assert 'BucketName = "team-ci-cache"' in script
    assert 'BucketLocation = "eu-central-1"' in script


# (component, inputs, the property refused, the stack config with that value or None).
ARM_SPOT = {
    "runners": [{"name": "build", "lane": "spot", "architecture": "arm64"}],
    "runnerTokens": {"build": "x"},
}
BIG_SPOT_STACK = [{"name": "build", "lane": "spot", "cpu": 8192, "memory": 16384}]
BIG_SPOT = {
    "runners": [{**BIG_SPOT_STACK[0], "cpu": 8192.0, "memory": 16384.0}],
    "runnerTokens": {"build": "x"},
}
BAD: list[tuple[str, dict[str, Any], str, dict[str, Any] | None]] = [
    (ECS, {"runners": [{"name": "build", "concurrency": 1.5}]}, "runners[0].concurrency", None),
    (ECS, {"runners": [{"name": "build", "concurrency": "20"}]}, "runners[0].concurrency", None),
    (ECS, {"maxJobsPerManager": True}, "maxJobsPerManager", None),
    # Above the stack key's cap no manager type is sized for a shard: ecs/sizing.py raised
    # ValueError mid-construct (a traceback, resources half registered).
    (
        ECS,
        {"maxJobsPerManager": 500.0, "runners": [{"name": "build", "concurrency": 500.0}]},
        "maxJobsPerManager",
        {"ecs": {"maxJobsPerManager": 500}},
    ),
    (
        ECS,
        {"taskDefinitions": [{"name": "debian", "image": "debian", "cpu": 1024.5}]},
        "taskDefinitions[0].cpu",
        None,
    ),
    (
        ECS,
        {"taskDefinitions": [{"name": "debian", "image": "debian", "architecture": "amd64"}]},
        "taskDefinitions[0].architecture",
        {
            "ecs": {
                "taskDefinitions": [{"name": "debian", "image": "debian", "architecture": "amd64"}]
            }
        },
    ),
    (
        ECS,
        {"runnerVersion": "v19.3.0"},
        "runnerVersion",
        {"ecs": {"runnerVersion": "v19.3.0"}},
    ),
    (
        ECS,
        {"gitlabUrl": "https://gitlab.corp.example:99999"},
        "gitlabUrl",
        {"gitlabUrl": "https://gitlab.corp.example:99999"},
    ),
    (
        EKS,
        {"gitlabUrl": "https://ci:hunter2@gitlab.corp.example"},
        "gitlabUrl",
        {"gitlabUrl": "https://ci:hunter2@gitlab.corp.example"},
    ),
    (ECS, {"runnerTokens": {"build": "x"}}, "runnerTokens.build-spot", None),
    (ECS, {"runnerTokens": "glrt-SENTINEL-one-for-all"}, "runnerTokens", None),
    (ECS, {"runners": [{"name": "build", "lane": "gpu"}]}, "runners[0].lane", None),
    (ECS, {"runners": [{"name": "build"}, {"name": "build"}]}, "runners", None),
    (ECS, {"caBundle": "not a pem"}, "caBundle", {"gitlab": {"caBundle": "not a pem"}}),
    (
        ECS,
        {"httpProxy": "http://me:hunter2@proxy:3128"},
        "httpProxy",
        {"network": {"httpProxy": "http://me:hunter2@proxy:3128"}},
    ),
    (ECS, {"noProxy": ["*.corp"]}, "noProxy", {"network": {"noProxy": ["*.corp"]}}),
    (
        ECS,
        {
            "buildCache": False,
            "buildCacheBucket": {"name": "b", "arn": "arn:aws:s3:::b", "region": "x"},
        },
        "buildCacheBucket",
        None,
    ),
    (EKS, {"spotCpuLimit": 0.0}, "spotCpuLimit", {"mode": "eks", "eks": {"spotCpuLimit": 0}}),
    (EKS, {"privilegedCpuLimit": 8.5}, "privilegedCpuLimit", None),
    (
        EKS,
        {"instanceCategories": ["c5"]},
        "instanceCategories",
        {"mode": "eks", "eks": {"instanceCategories": ["c5"]}},
    ),
    (
        EKS,
        {"existingCluster": {"name": "ci-k8s", "karpenter": "maybe"}},
        "existingCluster.karpenter",
        None,
    ),
    (EKS, {"existingCluster": {"name": "team-k8s"}}, "clusterName", None),
    (EKS, {"runners": [{"name": "build", "lane": "gpu"}]}, "runners[0].lane", None),
    # What the stack file refuses across keys (domain/lane_rules.py, through every door):
    # category d has x86 families only (d3), none for an arm64 spot runner;
    (
        EKS,
        {**ARM_SPOT, "instanceCategories": ["d"]},
        "instanceCategories",
        {"mode": "eks", "runners": ARM_SPOT["runners"], "eks": {"instanceCategories": ["d"]}},
    ),
    (
        EKS,
        {**BIG_SPOT, "spotCpuLimit": 4.0},
        "runners[0]",
        {"mode": "eks", "runners": BIG_SPOT_STACK, "eks": {"spotCpuLimit": 4}},
    ),
]


@pytest.mark.parametrize(
    ("token", "inputs", "path", "stack"), BAD, ids=[f"{t[-14:-11]}-{p}" for t, _, p, _ in BAD]
)
def test_a_bad_input_is_one_property_error_and_nothing_registers(
    token: str, inputs: dict[str, Any], path: str, stack: dict[str, Any] | None
) -> None:
    if "runnerTokens" in inputs:  # secret, as a consumer passes it
        inputs = {**inputs, "runnerTokens": pulumi.Output.secret(inputs["runnerTokens"])}
    reason = one_refusal(token, inputs, path, stack)
    assert "hunter2" not in reason and "Traceback" not in reason
