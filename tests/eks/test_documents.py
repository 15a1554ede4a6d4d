"""EKS mode's pure builders: IAM documents, Karpenter objects, logging config, runner TOML."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from typing import Any

import pytest
import yaml
from parliament import analyze_policy_string

from components.config import parse_config
from components.domain.fargate_sizes import EKS_FARGATE_POD_OVERHEAD_MIB, FARGATE_SIZES
from components.eks.fargate_logging import (
    MAX_LOGGING_CONFIG_CHARS,
    aws_logging_data,
    fargate_log_group_name,
    logging_config_size,
)
from components.eks.job_size import job_pod_size, millicores
from components.eks.karpenter import INTERRUPTION_EVENTS
from components.eks.karpenter_objects import (
    ec2_node_class,
    karpenter_values,
    node_pool,
    node_pool_specs,
)
from components.eks.policies import (
    ec2_trust_policy,
    fargate_logging_policy,
    fargate_pod_execution_trust_policy,
    interruption_queue_policy,
    irsa_trust_policy,
    karpenter_controller_policies,
)
from components.eks.runner import gitlab_ci_example
from components.eks.runner_chart import runner_chart_values, runners_config_toml
from components.eks.start_wait_sampler import sampler_policy
from components.topology import eks_fleet_spec
from tests.harness import sentinel

CLUSTER = "gitlab-runners-prod"
ACCOUNT = "210987654321"
REGION = "us-east-2"
NODE_ROLES = [
    f"arn:aws:iam::{ACCOUNT}:role/karpenter-node-abc123",
    f"arn:aws:iam::{ACCOUNT}:role/karpenter-privileged-node-def456",
]
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{CLUSTER}-karpenter"
# Actions AWS offers no resource-level permission for: the only ones allowed on "*".
UNSCOPABLE = {
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    # The Lambda guide: it "only works if it's allowed on all resources" (the sampler's role).
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
    "pricing:GetProducts",
    "iam:ListInstanceProfiles",
}


def eks_stack(**overrides: Any):
    raw = {
        "mode": "eks",
        "runners": [
            {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 50},
            {"name": "spot", "lane": "spot", "tags": ["eks-spot"]},
            {"name": "docker", "lane": "privileged", "tags": ["eks-privileged"]},
        ],
        "runnerTokens": {n: sentinel(n) for n in ("fargate", "spot", "docker")},
        **overrides,
    }
    config, _ = parse_config(raw)
    return config


def as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def permission_documents() -> dict[str, dict[str, Any]]:
    docs = karpenter_controller_policies("aws", REGION, ACCOUNT, CLUSTER, NODE_ROLES, QUEUE)
    docs["fargate-logging"] = fargate_logging_policy(
        "aws", REGION, ACCOUNT, [fargate_log_group_name(CLUSTER), f"{CLUSTER}-fluent-bit-logs"]
    )
    docs["queue"] = interruption_queue_policy(QUEUE)
    docs["start-wait-sampler"] = sampler_policy(
        "aws",
        REGION,
        ACCOUNT,
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/gitlab-runners-prod/start-wait-sampler",
        ["subnet-0a", "subnet-0b"],
        "vpc-0fleet",
    )
    return docs


@pytest.mark.parametrize("name", sorted(permission_documents()))
def test_permission_documents_grant_explicit_actions_on_scoped_resources(name: str) -> None:
    doc = permission_documents()[name]
    assert doc["Version"] == "2012-10-17"
    for statement in doc["Statement"]:
        actions = as_list(statement["Action"])
        if statement["Effect"] == "Deny":
            continue  # a blanket Deny (non-TLS queue access) only narrows
        assert all("*" not in action for action in actions), statement
        if "*" in as_list(statement["Resource"]):
            assert set(actions) <= UNSCOPABLE, statement


@pytest.mark.parametrize("name", sorted(permission_documents()))
def test_parliament_finds_nothing_unexpected(name: str) -> None:
    policy = analyze_policy_string(json.dumps(permission_documents()[name]))
    # RESOURCE_MISMATCH: RunInstances/CreateFleet are split over statements by resource type
    # (each scoped by tags), as the sampler's CreateNetworkInterface is (its groups by VPC),
    # and SSM public parameters have no account in their ARN.
    unexpected = [f for f in policy.findings if f.issue != "RESOURCE_MISMATCH"]
    assert unexpected == []
    mismatched = {
        item["action"] for f in policy.findings for item in f.detail if isinstance(item, dict)
    }
    assert mismatched <= {
        "ec2:RunInstances",
        "ec2:CreateFleet",
        "ec2:CreateNetworkInterface",
        "ssm:GetParameter",
    }


def test_karpenter_can_only_launch_and_terminate_what_it_tagged() -> None:
    docs = karpenter_controller_policies("aws", REGION, ACCOUNT, CLUSTER, NODE_ROLES, QUEUE)
    statements = [s for doc in docs.values() for s in doc["Statement"]]
    owned = f"kubernetes.io/cluster/{CLUSTER}"
    for statement in statements:
        actions = set(as_list(statement["Action"]))
        resources = as_list(statement["Resource"])
        if actions & {"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}:
            condition = statement["Condition"]
            assert condition["StringEquals"][f"aws:ResourceTag/{owned}"] == "owned"
            assert condition["StringLike"]["aws:ResourceTag/karpenter.sh/nodepool"] == "*"
        if "ec2:CreateLaunchTemplate" in actions or any(":instance/" in r for r in resources):
            condition = statement["Condition"]
            tagged = condition["StringEquals"]
            assert (
                tagged.get(f"aws:RequestTag/{owned}") == "owned"
                or tagged.get(f"aws:ResourceTag/{owned}") == "owned"
            ), statement
        if "iam:PassRole" in actions:
            assert resources == NODE_ROLES
        if actions & {"sqs:ReceiveMessage", "sqs:DeleteMessage"}:
            assert resources == [QUEUE]
        if "eks:DescribeCluster" in actions:
            assert resources == [f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"]
        assert all(r == "*" or f":{REGION}:" in r or ":iam::" in r for r in resources)


def test_karpenter_policies_fit_managed_policy_size() -> None:
    docs = karpenter_controller_policies("aws", REGION, ACCOUNT, CLUSTER * 3, NODE_ROLES, QUEUE)
    assert all(len(json.dumps(doc, separators=(",", ":"))) < 6144 for doc in docs.values())


def test_trust_policies() -> None:
    fargate = fargate_pod_execution_trust_policy("aws", REGION, ACCOUNT, CLUSTER)["Statement"][0]
    assert fargate["Principal"] == {"Service": "eks-fargate-pods.amazonaws.com"}
    assert fargate["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:eks:{REGION}:{ACCOUNT}:fargateprofile/{CLUSTER}/*"
    )
    node = ec2_trust_policy("amazonaws.com.cn")["Statement"][0]
    assert node["Principal"] == {"Service": "ec2.amazonaws.com.cn"}
    issuer = "oidc.eks.us-east-2.amazonaws.com/id/ABC"
    irsa = irsa_trust_policy("arn:aws:iam::1:oidc-provider/x", f"https://{issuer}", "ns", "sa")
    assert irsa["Statement"][0]["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:ns:sa",
        f"{issuer}:aud": "sts.amazonaws.com",
    }


def test_logging_config_stays_under_the_eks_limit_for_long_names() -> None:
    data = aws_logging_data("ap-southeast-5", fargate_log_group_name("c" * 100))
    assert logging_config_size(data) < MAX_LOGGING_CONFIG_CHARS
    assert data["flb_log_cw"] == "true"
    assert "auto_create_group false" in data["output.conf"]
    assert "[PARSER]" in data["parsers.conf"] and "Name kubernetes" in data["filters.conf"]


def test_node_pools_follow_the_configured_lanes() -> None:
    config = eks_stack(eks={"spotCpuLimit": 100, "instanceCategories": ["c", "m"]})
    specs = {s.name: s for s in node_pool_specs(eks_fleet_spec(config))}
    assert set(specs) == {"spot", "privileged"}
    spot = node_pool(specs["spot"], config.eks)
    assert spot["apiVersion"] == "karpenter.sh/v1" and spot["kind"] == "NodePool"
    requirements = {r["key"]: r["values"] for r in spot["spec"]["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["spot"]
    assert requirements["karpenter.k8s.aws/instance-category"] == ["c", "m"]
    assert requirements["kubernetes.io/arch"] == ["amd64"]
    assert requirements["kubernetes.io/os"] == ["linux"]
    assert spot["spec"]["limits"] == {"cpu": "100"}
    assert spot["spec"]["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert spot["spec"]["template"]["spec"]["expireAfter"]
    privileged = node_pool(specs["privileged"], config.eks)
    requirements = {
        r["key"]: r["values"] for r in privileged["spec"]["template"]["spec"]["requirements"]
    }
    assert requirements["karpenter.sh/capacity-type"] == ["on-demand"]
    only_fargate = eks_stack(
        runners=[{"name": "fargate"}], runnerTokens={"fargate": sentinel("fargate")}
    )
    assert node_pool_specs(eks_fleet_spec(only_fargate)) == []
    ec2_managers = replace(only_fargate, eks=replace(only_fargate.eks, manager_placement="ec2"))
    assert [s.name for s in node_pool_specs(eks_fleet_spec(ec2_managers))] == ["system"]


def test_ec2_node_class_document() -> None:
    doc = ec2_node_class(
        "default", "node-role", ["subnet-0a", "subnet-0b"], "sg-0c", "al2023@v20260930", {}
    )
    assert doc["apiVersion"] == "karpenter.k8s.aws/v1" and doc["kind"] == "EC2NodeClass"
    spec = doc["spec"]
    assert spec["role"] == "node-role"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260930"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1  # pods cannot reach IMDS
    assert spec["blockDeviceMappings"][0]["ebs"]["encrypted"] is True


def test_interruption_events_and_karpenter_values() -> None:
    sources = {p["source"][0] for p in INTERRUPTION_EVENTS.values()}
    assert sources == {"aws.health", "aws.ec2"}
    values = karpenter_values(CLUSTER, "q", "arn:role")
    assert values["settings"] == {"clusterName": CLUSTER, "interruptionQueue": "q"}
    resources = values["controller"]["resources"]
    assert resources["requests"] == resources["limits"]


def valid_eks_sizes() -> list[tuple[int, int]]:
    """Every Fargate size the config accepts for an EKS runner with default helper size."""
    return [
        (cpu, memory)
        for cpu, memories in FARGATE_SIZES.items()
        for memory in memories
        if cpu - 128 >= 64 and memory - 256 - EKS_FARGATE_POD_OVERHEAD_MIB >= 128
    ]


@pytest.mark.parametrize(("cpu", "memory"), valid_eks_sizes())
def test_fargate_job_pod_requests_add_up_to_the_configured_size(cpu: int, memory: int) -> None:
    config = eks_stack()
    runner = replace(config.runners[0], cpu=cpu, memory=memory)
    size = job_pod_size(runner, config.eks)
    assert size.pod_cpu_m == millicores(cpu)
    assert size.pod_memory_mib + EKS_FARGATE_POD_OVERHEAD_MIB == memory
    assert size.build_cpu_m > 0 and size.build_memory_mib >= 128


def test_millicores() -> None:
    assert millicores(1024) == 1000
    assert millicores(128) == 125
    assert millicores(4096) == 4000
    assert millicores(100) == 97  # rounded down so pods never exceed their size


def test_ec2_lanes_have_no_fargate_overhead() -> None:
    config = eks_stack()
    spot = config.runners[1]
    size = job_pod_size(spot, config.eks)
    assert size.pod_memory_mib == spot.memory


def test_privileged_toml_and_values_hold_no_token() -> None:
    config = eks_stack()
    docker = config.runners[2]
    toml = tomllib.loads(runners_config_toml(docker, config.eks))
    kubernetes = toml["runners"][0]["kubernetes"]
    assert kubernetes["privileged"] is True
    assert kubernetes["node_tolerations"] == {
        "gitlab-fargate-runners/pool=privileged": "NoSchedule"
    }
    values = runner_chart_values(eks_fleet_spec(config), docker)
    assert sentinel("docker") not in json.dumps(values)
    entry = toml["runners"][0]
    assert "token" not in entry and "glrt-" not in runners_config_toml(docker, config.eks)


def test_ci_example_has_one_job_per_lane() -> None:
    jobs = yaml.safe_load(gitlab_ci_example(eks_fleet_spec(eks_stack())))
    assert jobs["hello-fargate"]["parallel"] == 50
    assert jobs["test-on-spot"]["tags"] == ["eks-spot"]
    assert jobs["docker-in-docker"]["variables"]["DOCKER_TLS_CERTDIR"] == "/certs"
    big = eks_stack(
        runners=[{"name": "fargate", "concurrency": 500}],
        runnerTokens={"fargate": sentinel("fargate")},
    )
    assert (
        yaml.safe_load(gitlab_ci_example(eks_fleet_spec(big)))["hello-fargate"]["parallel"] == 200
    )


def test_a_package_runner_without_request_concurrency_gets_the_stack_files_default() -> None:
    """A RunnerSpec built in code with no request_concurrency must poll GitLab as the stack
    file's runner does (1 per 25 of concurrency, components/domain/eks_sizing.py), not with one
    request for a 100-job runner."""
    config = eks_stack()
    runner = replace(config.runners[0], concurrency=100, request_concurrency=None)
    entry = tomllib.loads(runners_config_toml(runner, config.eks))["runners"][0]
    assert entry["request_concurrency"] == 4
    explicit = replace(runner, request_concurrency=2)
    entry = tomllib.loads(runners_config_toml(explicit, config.eks))["runners"][0]
    assert entry["request_concurrency"] == 2
