"""EKS mode against what pulumi-eks, EKS and the AWS provider do on their own (issue 15.1-15.5,
issue 14.5): nothing pulumi-eks already makes is made twice, a private endpoint admits its
operators, `aws:profile` reaches the provider's kubeconfig, the deployer gets no second access
entry, and the cluster with everything on it goes before the network's egress on destroy."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from components.config import ConfigError, parse_config
from components.offline import mock_answers
from components.offline.eks_model import ADDON, conflicts
from components.offline.mocks import REDACTED, Plan, RecordedResource, evaluate
from components.offline.order import Order
from tests.eks.support import CLUSTER, PROFILE, RELEASE, eks_config
from tests.harness import run_program, shared_plan

EVERY_LANE = [
    {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
    {"name": "spot", "lane": "spot", "tags": ["eks-spot"], "concurrency": 10},
    {"name": "docker", "lane": "privileged", "tags": ["eks-privileged"], "concurrency": 5},
]
PROVIDER = "pulumi:providers:kubernetes"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEPLOYER_SESSION = "arn:aws:sts::123456789012:assumed-role/platform-deployer/ci-4711"
# The same role as configured, with the path its session ARN does not show.
DEPLOYER_ROLE = "arn:aws:iam::123456789012:role/automation/platform-deployer"
OTHER_ADMIN = "arn:aws:iam::123456789012:role/platform-admins"


@pytest.fixture(scope="module")
def every_lane() -> Plan:
    return run_program(eks_config(runners=EVERY_LANE))


@pytest.fixture(scope="module")
def private() -> Plan:
    eks = {
        "endpointAccess": "private",
        "privateAccessCidrs": ["10.100.0.0/16", "192.168.8.0/24"],
        "privateAccessSecurityGroupIds": ["sg-0123456789abcdef0"],
    }
    return shared_plan(eks_config(runners=EVERY_LANE[:1], eks=eks))


def _exec_args(kubeconfig: str) -> list[str]:
    return json.loads(kubeconfig)["users"][0]["user"]["exec"]["args"]


# 15.1 and 15.2: nothing pulumi-eks makes is made again


@pytest.mark.parametrize("stack", ["every_lane", "plan", "full_plan"])
def test_nothing_pulumi_eks_creates_is_created_again(
    stack: str, request: pytest.FixtureRequest
) -> None:
    """A runner on every lane; the default stack; managers on EC2 with an admin role."""
    assert conflicts(request.getfixturevalue(stack), mock_answers.MOCK_CALLER_ARN) == []


def test_the_programs_vpc_cni_replaces_pulumi_eks_one(every_lane: Plan) -> None:
    cluster = every_lane.one(CLUSTER).inputs
    assert cluster["useDefaultVpcCni"] is True  # cluster.ts:1092: no VpcCniAddon
    (addon,) = every_lane.all(ADDON)
    assert addon.inputs["addonName"] == "vpc-cni"
    assert addon.inputs["serviceAccountRoleArn"].endswith(":role/eks-cluster-vpc-cni")
    # coredns and kube-proxy are pulumi-eks' own, CoreDNS configured through its options.
    assert cluster["corednsAddonOptions"]["configurationValues"]["replicaCount"] == 2
    assert "kubeProxyAddonOptions" not in cluster


@pytest.mark.parametrize("kubernetes", ["1.34", "1.35"])
def test_vpc_cni_follows_the_clusters_kubernetes_version(kubernetes: str) -> None:
    plan = run_program(eks_config(eks={"kubernetesVersion": kubernetes}))
    (addon,) = plan.all(ADDON)
    expected = mock_answers.MOCK_ADDON_VERSIONS["vpc-cni"][kubernetes]
    assert addon.inputs["addonVersion"] == expected
    assert expected.startswith("v1.") and "-eksbuild." in expected


# 15.3: a private endpoint admits its operators


def test_private_endpoint_admits_443_from_the_configured_networks(private: Plan) -> None:
    # The operators' rules; the start-wait sampler's own is tests/eks/test_start_wait_sampler.py.
    rules = [r for r in private.all(INGRESS) if "start-wait" not in r.name]
    sources = {r.inputs.get("cidrIpv4") or r.inputs.get("referencedSecurityGroupId") for r in rules}
    assert sources == {"10.100.0.0/16", "192.168.8.0/24", "sg-0123456789abcdef0"}
    for rule in rules:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
            "tcp",
            443,
            443,
        )
        assert rule.inputs["securityGroupId"] == "sg-0mockeksclustersg"  # the cluster's
    # The Kubernetes provider (and so every object on the cluster) waits for the rules.
    provider = private.one(PROVIDER)
    assert {r.urn for r in rules} <= set(provider.dependencies)


def test_private_endpoint_without_access_is_refused_for_a_new_vpc() -> None:
    config = eks_config(eks={"endpointAccess": "private"})
    with pytest.raises(ConfigError) as error:
        parse_config(config)
    message = str(error.value)
    assert "eks.privateAccessCidrs" in message and "eks.privateAccessSecurityGroupIds" in message
    assert "pulumi config set --path 'eks.privateAccessCidrs[0]'" in message


def test_private_endpoint_without_access_is_warned_about_for_an_existing_vpc() -> None:
    network = {
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    }
    _, warnings = parse_config(eks_config(eks={"endpointAccess": "private"}, network=network))
    assert any(w.startswith("eks.endpointAccess: private with neither") for w in warnings)


def test_security_group_ids_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"eks\.privateAccessSecurityGroupIds.*sg-0123"):
        parse_config(eks_config(eks={"privateAccessSecurityGroupIds": ["bastion"]}))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("privateAccessCidrs", "10.100.0.0/16"),
        ("privateAccessSecurityGroupIds", "sg-0123456789abcdef0"),
    ],
)
def test_a_source_listed_twice_is_refused(key: str, value: str) -> None:
    """Each source is one ingress rule named after it (cluster_access.py): a repeated one
    would register two resources with one URN, which the engine refuses at preview."""
    eks = {"endpointAccess": "private", key: [value, value]}
    with pytest.raises(ConfigError, match=rf"eks\.{key}.*{re.escape(value)}"):
        parse_config(eks_config(eks=eks))


# 15.4: aws:profile and the assumed role reach the provider's kubeconfig


def _with_aws(extra: dict[str, str]) -> Plan:
    return evaluate(eks_config(), extra_config={"aws:region": "eu-west-1", **extra})


def test_the_profile_reaches_the_providers_exec_args() -> None:
    plan = _with_aws({"aws:profile": "ci-deployer"})
    provider = plan.one(PROVIDER)
    assert provider.redacted_inputs["kubeconfig"] == REDACTED
    args = _exec_args(provider.inputs["kubeconfig"])
    assert args[args.index("--profile") + 1] == "ci-deployer"
    assert "--role" not in args
    # The exported kubeconfig is the people's: a secret, and without the deployer's profile.
    assert plan.redacted_outputs["kubeconfig"] == REDACTED
    assert "--profile" not in _exec_args(plan.outputs["kubeconfig"])


def test_the_assumed_role_reaches_the_providers_exec_args() -> None:
    roles = [{"roleArn": "arn:aws:iam::111111111111:role/hop"}, {"roleArn": DEPLOYER_ROLE}]
    plan = _with_aws({"aws:profile": "base", "aws:assumeRoles": json.dumps(roles)})
    args = _exec_args(plan.one(PROVIDER).inputs["kubeconfig"])
    assert args[args.index("--role") + 1] == DEPLOYER_ROLE  # the last role of the chain
    assert args[args.index("--profile") + 1] == "base"


def test_without_profile_the_provider_uses_kubeconfig_json(every_lane: Plan) -> None:
    provider = every_lane.one(PROVIDER)
    assert provider.inputs["kubeconfig"] == every_lane.outputs["kubeconfig"]


# 15.5: the deployer listed in eks.adminRoleArns gets no second entry


@pytest.fixture(scope="module")
def deployed_by_an_admin() -> tuple[Plan, list[str]]:
    warnings: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mock_answers, "MOCK_CALLER_ARN", DEPLOYER_SESSION)
        patch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
        plan = run_program(eks_config(eks={"adminRoleArns": [OTHER_ADMIN, DEPLOYER_ROLE]}))
    return plan, warnings


def _entries(plan: Plan) -> dict[str, Any]:
    """Every access entry: pulumi-eks' (by key) and the program's (by resource name)."""
    made = {e.name: e.inputs for e in plan.all("aws:eks/accessEntry:AccessEntry")}
    return {**plan.one(CLUSTER).inputs["accessEntries"], **made}


def test_the_deployer_gets_no_second_access_entry(
    deployed_by_an_admin: tuple[Plan, list[str]],
) -> None:
    plan, warnings = deployed_by_an_admin
    entries = _entries(plan)
    admins = [e["principalArn"] for key, e in entries.items() if "-admin-" in key]
    assert admins == [OTHER_ADMIN]
    assert all(e["principalArn"] != DEPLOYER_ROLE for e in entries.values())
    assert conflicts(plan, DEPLOYER_SESSION) == []
    (warning,) = [w for w in warnings if w.startswith("eks.adminRoleArns[1]")]
    assert DEPLOYER_ROLE in warning and DEPLOYER_SESSION in warning


def test_another_deployer_keeps_every_admin_entry() -> None:
    plan = run_program(eks_config(eks={"adminRoleArns": [OTHER_ADMIN, DEPLOYER_ROLE]}))
    assert {e["principalArn"] for e in _entries(plan).values()} >= {OTHER_ADMIN, DEPLOYER_ROLE}
    assert conflicts(plan, mock_answers.MOCK_CALLER_ARN) == []


# 14.5: destroy deletes the cluster and everything on it before the egress


def _on_the_cluster(plan: Plan) -> list[RecordedResource]:
    """The cluster, its Fargate profiles, every Helm release and every Karpenter object."""
    return [
        r
        for r in plan.resources
        if r.type in (CLUSTER, PROFILE, RELEASE)
        or r.type.startswith(("kubernetes:karpenter.sh/", "kubernetes:karpenter.k8s.aws/"))
    ]


def _egress(plan: Plan) -> list[RecordedResource]:
    """NAT gateways, the private route tables and their associations, the VPC endpoints."""
    return [
        r
        for r in plan.resources
        if r.type in ("aws:ec2/natGateway:NatGateway", "aws:ec2/vpcEndpoint:VpcEndpoint")
        or (r.type.startswith("aws:ec2/routeTable") and "-private-" in r.name)
    ]


def test_destroy_deletes_the_cluster_and_its_workloads_before_egress(every_lane: Plan) -> None:
    order = Order(every_lane)
    workloads, egress = _on_the_cluster(every_lane), _egress(every_lane)
    assert {r.type for r in egress} >= {
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
    }
    assert len({r.type for r in workloads}) >= 5  # cluster, profiles, releases, pools, classes
    late = [
        f"{w.name} / {e.name}" for w in workloads for e in egress if not order.deleted_before(w, e)
    ]
    assert late == []
