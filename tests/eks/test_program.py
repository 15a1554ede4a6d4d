"""EKS mode, evaluated as a whole program: the topology, the cluster, Fargate and outputs."""

from __future__ import annotations

import json

import pytest
import yaml

from components.offline.mocks import REDACTED, Plan
from tests.eks.support import (
    ADMIN_ROLE,
    CLUSTER,
    PROFILE,
    RUNNER_TYPE,
    deps,
    eks_config,
    kubernetes_section,
    role_arn,
    role_named,
)
from tests.harness import run_program


def test_topology_component_and_children(plan: Plan) -> None:
    top = plan.one(RUNNER_TYPE)
    assert top.name == "eks"
    children = plan.children_of(top)
    assert {c.name for c in children} >= {
        "eks-cluster",
        "eks-karpenter",
        "eks-karpenter-node",
        "eks-runner-fargate",
        "eks-runner-spot",
    }
    assert all(c.name.startswith("eks-") for c in children)


def test_cluster_inputs(plan: Plan) -> None:
    cluster = plan.one(CLUSTER).inputs
    assert cluster["name"] == "gitlab-runners-dev"
    assert cluster["version"] == "1.35"
    assert cluster["authenticationMode"] == "API"
    assert cluster["createOidcProvider"] is True
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["skipDefaultSecurityGroups"] is True
    assert cluster["vpcId"] == plan.outputs["vpcId"]
    assert cluster["privateSubnetIds"] == plan.outputs["privateSubnetIds"]
    assert cluster["fargate"]["selectors"] == [{"namespace": "kube-system"}]
    assert cluster["fargate"]["subnetIds"] == plan.outputs["privateSubnetIds"]
    pod_role = role_named(plan, "eks-cluster-pod-execution")
    assert cluster["fargate"]["podExecutionRoleArn"] == role_arn(pod_role.name)
    # The control plane log group exists (with retention) before EKS would create it.
    log_group = plan.one("aws:cloudwatch/logGroup:LogGroup", "eks-cluster-control-plane-logs")
    assert log_group.inputs["name"] == "/aws/eks/gitlab-runners-dev/cluster"
    assert log_group.inputs["retentionInDays"] == 30
    assert "eks-cluster-control-plane-logs" in deps(plan, plan.one(CLUSTER))


def test_api_endpoint_is_open_by_default_and_narrowed_on_request(
    plan: Plan, full_plan: Plan
) -> None:
    assert plan.one(CLUSTER).inputs["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert full_plan.one(CLUSTER).inputs["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert full_plan.one(CLUSTER).inputs["endpointPrivateAccess"] is True


def test_service_size_and_default_image_come_from_config(plan: Plan, full_plan: Plan) -> None:
    default = kubernetes_section(plan, "fargate")
    # The ECR Public default comes through this stack's pull-through cache.
    assert default["image"] == (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/glr-dev/ecr-public/docker/library/"
        "debian:bookworm-slim"
    )
    assert (default["service_cpu_request"], default["service_memory_request"]) == (
        "250m",
        "512Mi",
    )
    custom = kubernetes_section(full_plan, "fargate")
    assert custom["image"] == "registry.example.com/ci/base:1"
    assert (custom["service_cpu_limit"], custom["service_memory_limit"]) == ("500m", "1024Mi")


def test_access_entries(plan: Plan, full_plan: Plan) -> None:
    entries = plan.one(CLUSTER).inputs["accessEntries"]
    assert entries == {
        "karpenter-nodes": {"type": "EC2_LINUX", "principalArn": role_arn("eks-karpenter-node")}
    }
    # Besides pulumi-eks' only the start-wait sampler's (tests/eks/test_start_wait_sampler.py).
    assert [e.name for e in plan.all("aws:eks/accessEntry:AccessEntry")] == [
        "eks-start-wait-access"
    ]
    # The admin's entry is the program's, named by the role (tests/eks/test_admin_access.py).
    assert all(k.startswith("karpenter-") for k in full_plan.one(CLUSTER).inputs["accessEntries"])
    (admin,) = [
        e for e in full_plan.all("aws:eks/accessEntry:AccessEntry") if "start-wait" not in e.name
    ]
    assert admin.inputs["principalArn"] == ADMIN_ROLE
    (policy,) = [
        a
        for a in full_plan.all("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a.parent == admin.urn
    ]
    assert policy.parent == admin.urn
    assert policy.inputs["policyArn"] == (
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )
    assert policy.inputs["accessScope"] == {"type": "cluster"}


@pytest.mark.parametrize("which", ["plan", "full_plan"])
def test_fargate_profiles_are_created_one_after_another(
    which: str, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(which)
    profiles = plan.all(PROFILE)
    previous = plan.one(CLUSTER)
    for profile in profiles:
        assert previous.urn in profile.dependencies, f"{profile.name} must wait for {previous.name}"
        previous = profile
    assert len(profiles) >= 2


def test_pod_execution_role(plan: Plan) -> None:
    trust = json.loads(role_named(plan, "eks-cluster-pod-execution").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "eks-fargate-pods.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == (
        "arn:aws:eks:eu-west-1:123456789012:fargateprofile/gitlab-runners-dev/*"
    )
    managed = plan.one(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "eks-cluster-pod-execution-managed"
    )
    assert managed.inputs["policyArn"].endswith(":policy/AmazonEKSFargatePodExecutionRolePolicy")
    inline = json.loads(
        plan.one("aws:iam/rolePolicy:RolePolicy", "eks-cluster-pod-execution-logs").inputs["policy"]
    )
    (logs,) = inline["Statement"]
    assert all(action.startswith("logs:") and "*" not in action for action in logs["Action"])
    groups = {r.split("log-group:")[1].removesuffix(":*") for r in logs["Resource"]}
    assert groups == {"/aws/eks/gitlab-runners-dev/fargate", "gitlab-runners-dev-fluent-bit-logs"}


def test_fargate_logging(plan: Plan) -> None:
    namespace = plan.one("kubernetes:core/v1:Namespace", "eks-cluster-aws-observability")
    assert namespace.inputs["metadata"] == {
        "name": "aws-observability",
        "labels": {"aws-observability": "enabled"},
    }
    config_map = plan.one("kubernetes:core/v1:ConfigMap", "eks-cluster-aws-logging").inputs
    assert config_map["metadata"] == {"name": "aws-logging", "namespace": "aws-observability"}
    data = config_map["data"]
    assert set(data) == {"output.conf", "filters.conf", "parsers.conf", "flb_log_cw"}
    assert data["flb_log_cw"] == "true"
    assert "log_group_name /aws/eks/gitlab-runners-dev/fargate\n" in data["output.conf"]
    assert "region eu-west-1\n" in data["output.conf"]
    assert sum(len(k) + len(v) for k, v in data.items()) < 5300
    for group in ("eks-cluster-fargate-logs", "eks-cluster-fluent-bit-logs"):
        log_group = plan.one("aws:cloudwatch/logGroup:LogGroup", group)
        assert log_group.inputs["retentionInDays"] == 30


def test_kubeconfig_feeds_the_provider_and_is_exported_only_as_a_secret(plan: Plan) -> None:
    assert plan.redacted_outputs["kubeconfig"] == REDACTED
    kubeconfig = json.loads(plan.outputs["kubeconfig"])
    args = kubeconfig["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--cluster-name") + 1] == "gitlab-runners-dev"
    assert "--profile" not in args  # what people get; the provider's may differ (aws:profile)
    provider = plan.one("pulumi:providers:kubernetes", "eks-cluster-k8s")
    assert provider.redacted_inputs["kubeconfig"] == REDACTED
    assert json.loads(provider.inputs["kubeconfig"]) == kubeconfig


def test_stack_outputs(plan: Plan) -> None:
    eks_keys = set(plan.outputs) - {"mode", "vpcId", "privateSubnetIds", "imageCache"}
    assert eks_keys == {
        "clusterName",
        "kubeconfig",
        "runners",
        "fargateLogGroup",
        "karpenterInterruptionQueue",
        "gitlabCiExample",
        "cacheBucket",
        "dashboardUrl",
    }
    assert plan.outputs["clusterName"] == "gitlab-runners-dev"
    assert plan.outputs["fargateLogGroup"] == "/aws/eks/gitlab-runners-dev/fargate"
    assert plan.outputs["karpenterInterruptionQueue"] == "gitlab-runners-dev-karpenter"
    assert plan.outputs["runners"] == [
        {
            "name": "fargate",
            "namespace": "gitlab-runner-fargate",
            "release": "gitlab-runner-fargate",
            "lane": "fargate",
            "tags": ["eks-fargate"],
            "placement": {"manager": "fargate", "jobs": "fargate", "architecture": "amd64"},
        },
        {
            "name": "spot",
            "namespace": "gitlab-runner-spot",
            "release": "gitlab-runner-spot",
            "lane": "spot",
            "tags": ["eks-spot"],
            "placement": {"manager": "fargate", "jobs": "spot", "architecture": "amd64"},
        },
    ]


def test_gitlab_ci_example(plan: Plan, full_plan: Plan) -> None:
    jobs = yaml.safe_load(plan.outputs["gitlabCiExample"])
    assert jobs["hello-fargate"]["tags"] == ["eks-fargate"]
    assert jobs["hello-fargate"]["parallel"] == 20
    assert jobs["test-on-spot"]["tags"] == ["eks-spot"]
    assert "docker-in-docker" not in jobs
    full = yaml.safe_load(full_plan.outputs["gitlabCiExample"])
    dind = full["docker-in-docker"]
    assert dind["tags"] == ["eks-privileged"]
    assert dind["services"][0]["name"].endswith("-dind")
    assert dind["services"][0]["alias"] == "docker"
    assert dind["variables"]["DOCKER_HOST"] == "tcp://docker:2376"
    assert dind["variables"]["DOCKER_TLS_CERTDIR"] == "/certs"


def test_existing_vpc_without_public_subnets() -> None:
    plan = run_program(
        eks_config(
            network={
                "vpcId": "vpc-0123456789abcdef0",
                "privateSubnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
            }
        )
    )
    cluster = plan.one(CLUSTER).inputs
    assert cluster["vpcId"] == "vpc-0123456789abcdef0"
    assert cluster["privateSubnetIds"] == ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
    assert "publicSubnetIds" not in cluster
    for profile in plan.all(PROFILE):
        assert profile.inputs["subnetIds"] == cluster["privateSubnetIds"]
