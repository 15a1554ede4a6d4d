"""eks.existingCluster (issue 24 item 4): the fleet joins a cluster someone else runs.

The plan is what `pulumi destroy` removes, so what it lacks stays on the cluster: no
eks:index:Cluster, no addons, no admin entries or API rules for people (the start-wait sampler
has its own, narrow ones), no aws-observability ConfigMap.
The fleet's own pieces are there, on the named cluster: its Fargate profiles, pod execution
role, runner releases, IRSA roles trusting the cluster's OIDC provider, and Karpenter (or, on a
cluster that runs Karpenter v1, only its node classes, pools, node roles and their access
entries). A cluster the fleet cannot join is refused at preview, before any resource."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.offline import mocks
from components.offline.mock_answers import (
    MOCK_CLUSTER_SUBNETS,
    MOCK_CLUSTER_VERSION,
    MOCK_CLUSTER_VPC,
    existing_cluster,
)
from components.offline.mocks import Plan, evaluate
from components.preflight_cluster import ClusterFacts, cluster_problems
from tests.eks.support import FULL_RUNNERS, NODE_CLASS, NODE_POOL, PROFILE, RELEASE, deps, release
from tests.eks.support import eks_config as base_config
from tests.harness import ROOT, run_program
from tests.test_preflight import ProviderError

CLUSTER = "platform"
PREFIX = "gitlab-runners-dev-"  # the stack program's name prefix (components/naming.py)
GET_CLUSTER = "aws:eks/getCluster:getCluster"
GET_OIDC = "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"
NETWORK = {"vpcId": MOCK_CLUSTER_VPC, "privateSubnetIds": list(MOCK_CLUSTER_SUBNETS)}
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
FARGATE_ONLY = [{"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20}]


def joining(karpenter: str = "install", runners: Any = FULL_RUNNERS, **eks: Any) -> dict:
    return base_config(
        runners=runners,
        network=NETWORK,
        eks={"existingCluster": CLUSTER, "karpenter": karpenter, **eks},
    )


@pytest.fixture(scope="module")
def installs() -> Plan:
    """All three lanes; the fleet installs Karpenter on the cluster."""
    return run_program(joining())


@pytest.fixture(scope="module")
def uses_existing() -> Plan:
    """All three lanes; the cluster runs Karpenter v1 already."""
    return run_program(joining("existing"))


def node_entries(plan: Plan) -> list[Any]:
    """The access entries of the fleet's Karpenter node roles (not the start-wait sampler's)."""
    return [e for e in plan.all(ACCESS_ENTRY) if e.inputs["type"] == "EC2_LINUX"]


def _types(plan: Plan) -> set[str]:
    return {r.type for r in plan.resources}


@pytest.mark.parametrize("which", ["installs", "uses_existing"])
def test_the_plan_holds_no_cluster_and_nothing_cluster_wide(
    which: str, request: pytest.FixtureRequest
) -> None:
    """What destroy would remove: nothing the cluster's owner runs."""
    plan: Plan = request.getfixturevalue(which)
    types = _types(plan)
    assert "eks:index:Cluster" not in types
    assert "aws:eks/addon:Addon" not in types
    # Only the start-wait sampler's: view in the runner namespaces, HTTPS from its own group.
    (association,) = plan.all("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.inputs["accessScope"]["type"] == "namespace"
    assert association.inputs["policyArn"].endswith("/AmazonEKSViewPolicy")
    (rule,) = plan.all("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["referencedSecurityGroupId"] == "eks-start-wait-sg-mock-id"
    assert rule.inputs["securityGroupId"] == "sg-0existingcluster0"  # the cluster's group
    names = {r.inputs.get("metadata", {}).get("name") for r in plan.resources}
    assert "aws-observability" not in names and "aws-logging" not in names
    groups = [r.inputs["name"] for r in plan.all("aws:cloudwatch/logGroup:LogGroup")]
    assert not [g for g in groups if g.startswith(f"/aws/eks/{CLUSTER}")]
    assert not plan.all("aws:ec2/vpc:Vpc")
    # Every access entry is a node role's, of type EC2_LINUX, or the sampler's (no admin).
    entries = {e.name: e.inputs["type"] for e in plan.all(ACCESS_ENTRY)}
    assert entries.pop("eks-start-wait-access") == "STANDARD"
    assert set(entries.values()) == {"EC2_LINUX"}


def test_the_start_wait_sampler_reads_the_joined_clusters_api(installs: Plan) -> None:
    """The endpoint and CA of the cluster it joins (aws.eks.get_cluster), in its subnets."""
    (function,) = [
        f for f in installs.all("aws:lambda/function:Function") if "start-wait" in f.name
    ]
    variables = function.inputs["environment"]["variables"]
    found = existing_cluster(CLUSTER, "eu-west-1")
    assert variables["SAMPLER_CLUSTER"] == CLUSTER
    assert variables["SAMPLER_ENDPOINT"] == found["endpoint"]
    assert variables["SAMPLER_CA"] == found["certificateAuthorities"][0]["data"]
    assert function.inputs["vpcConfig"]["subnetIds"] == list(MOCK_CLUSTER_SUBNETS)
    (association,) = installs.all("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.inputs["clusterName"] == CLUSTER


def test_the_fleet_adds_its_fargate_profiles_to_the_named_cluster(installs: Plan) -> None:
    profiles = {p.inputs["fargateProfileName"]: p for p in installs.all(PROFILE)}
    assert set(profiles) == {"karpenter", "gitlab-runners"}
    (role,) = [
        r for r in installs.all("aws:iam/role:Role") if r.name == "eks-cluster-pod-execution"
    ]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":fargateprofile/{CLUSTER}/*")
    for profile in profiles.values():
        assert profile.inputs["clusterName"] == CLUSTER
        assert profile.inputs["subnetIds"] == list(MOCK_CLUSTER_SUBNETS)
        assert profile.inputs["podExecutionRoleArn"].endswith("role/eks-cluster-pod-execution")
    # One profile at a time per cluster: the runners' waits for Karpenter's.
    assert "eks-cluster-fargate-karpenter" in deps(installs, profiles["gitlab-runners"])


def test_the_runner_releases_go_to_the_cluster_through_its_own_kubeconfig(
    installs: Plan,
) -> None:
    (provider,) = installs.all("pulumi:providers:kubernetes")
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    assert provider.redacted_inputs["kubeconfig"] == "[secret]"
    cluster = existing_cluster(CLUSTER, "eu-west-1")
    assert kubeconfig["clusters"][0]["cluster"] == {
        "server": cluster["endpoint"],
        "certificate-authority-data": cluster["certificateAuthorities"][0]["data"],
    }
    args = kubeconfig["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--cluster-name") + 1] == CLUSTER
    runners = [r for r in installs.all(RELEASE) if r.name.startswith("eks-runner-")]
    assert {r.name for r in runners} == {f"eks-runner-{n['name']}-release" for n in FULL_RUNNERS}
    assert {r.provider for r in runners} == {provider.urn}
    assert installs.outputs["clusterName"] == CLUSTER


def test_the_kubeconfig_uses_the_profile_and_role_the_stack_deploys_with() -> None:
    role = "arn:aws:iam::123456789012:role/deployer"
    plan = evaluate(
        joining(runners=FARGATE_ONLY),
        extra_config={
            "aws:region": "eu-west-1",
            "aws:profile": "ci",
            "aws:assumeRoles": json.dumps([{"roleArn": role}]),
        },
    )
    (provider,) = plan.all("pulumi:providers:kubernetes")
    args = json.loads(provider.inputs["kubeconfig"])["users"][0]["user"]["exec"]["args"]
    assert args[-4:] == ["--role", role, "--profile", "ci"]
    # The exported kubeconfig is for people, as for a cluster of the stack's own: no profile.
    exported = json.loads(plan.outputs["kubeconfig"])["users"][0]["user"]["exec"]["args"]
    assert "--profile" not in exported and "--role" not in exported
    assert plan.redacted_outputs["kubeconfig"] == "[secret]"


def test_irsa_roles_trust_the_clusters_oidc_provider(installs: Plan) -> None:
    issuer = existing_cluster(CLUSTER, "eu-west-1")["identities"][0]["oidcs"][0]["issuer"]
    host = issuer.removeprefix("https://")
    for name in ("eks-runner-fargate-cache", "eks-karpenter-controller", "eks-metrics-role"):
        role = installs.one("aws:iam/role:Role", name)
        statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{host}"), name
        assert f"{host}:sub" in statement["Condition"]["StringEquals"], name


def test_installing_karpenter_there_brings_its_controller(installs: Plan) -> None:
    (karpenter,) = [r for r in installs.all(RELEASE) if r.inputs.get("name") == "karpenter"]
    assert karpenter.inputs["values"]["settings"]["clusterName"] == CLUSTER
    assert installs.all("aws:sqs/queue:Queue")
    assert "eks-cluster-fargate-karpenter" in deps(installs, karpenter)
    entries = {e.name: e for e in node_entries(installs)}
    assert set(entries) == {"eks-cluster-karpenter-nodes", "eks-cluster-karpenter-privileged"}
    assert {e.inputs["clusterName"] for e in entries.values()} == {CLUSTER}


def test_on_a_cluster_with_karpenter_only_pools_classes_roles_and_entries(
    uses_existing: Plan,
) -> None:
    plan = uses_existing
    assert not [r for r in plan.all(RELEASE) if "karpenter" in r.name]
    assert not plan.all("aws:sqs/queue:Queue")
    assert not [r for r in plan.resources if "karpenter-controller" in r.name]
    assert {p.inputs["fargateProfileName"] for p in plan.all(PROFILE)} == {"gitlab-runners"}
    # Cluster-scoped names carry the fleet's prefix: the cluster's Karpenter has its own
    # (its `default` EC2NodeClass above all), and Kubernetes refuses a second of one name.
    pools = {p.inputs["metadata"]["name"]: p for p in plan.all(NODE_POOL)}
    assert set(pools) == {f"{PREFIX}spot", f"{PREFIX}privileged"}
    classes = {c.inputs["metadata"]["name"]: c for c in plan.all(NODE_CLASS)}
    assert set(classes) == {f"{PREFIX}default", f"{PREFIX}privileged"}
    template = pools[f"{PREFIX}spot"].inputs["spec"]["template"]
    assert template["spec"]["nodeClassRef"]["name"] == f"{PREFIX}default"
    assert template["spec"]["taints"][0]["value"] == f"{PREFIX}spot"
    assert classes[f"{PREFIX}default"].inputs["spec"]["securityGroupSelectorTerms"] == [
        {"id": "sg-0existingcluster0"}
    ]
    # The runners' pods select and tolerate the prefixed pools.
    values = release(plan, "spot").inputs["values"]
    jobs = tomllib.loads(values["runners"]["config"])["runners"][0]["kubernetes"]
    assert jobs["node_selector"]["karpenter.sh/nodepool"] == f"{PREFIX}spot"
    assert jobs["node_tolerations"] == {f"gitlab-fargate-runners/pool={PREFIX}spot": "NoSchedule"}
    # A node joins through its role's access entry: pools and classes wait for them.
    for pool in plan.all(NODE_POOL):
        assert {"eks-cluster-karpenter-nodes", "eks-cluster-karpenter-privileged"} <= deps(
            plan, pool
        )
    # The owner's VPC CNI may run with the nodes' credentials (EKS's default without an IRSA
    # role for aws-node), so on a cluster the fleet joins the node roles carry its policy.
    attached = {
        r.name
        for r in plan.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.inputs["policyArn"].endswith(":policy/AmazonEKS_CNI_Policy")
    }
    assert attached == {
        "eks-karpenter-node-AmazonEKS_CNI_Policy",
        "eks-karpenter-privileged-node-AmazonEKS_CNI_Policy",
    }
    roles = plan.outputs["karpenterNodeRoleArns"]
    assert set(roles) == {"default", "privileged"}
    assert {e.inputs["principalArn"] for e in node_entries(plan)} == set(roles.values())


def test_fargate_lanes_alone_add_no_karpenter_at_all() -> None:
    plan = run_program(joining(runners=FARGATE_ONLY))
    assert not [r for r in plan.resources if "karpenter" in r.name]
    assert not node_entries(plan)
    assert {p.inputs["fargateProfileName"] for p in plan.all(PROFILE)} == {"gitlab-runners"}


def _refused(monkeypatch: pytest.MonkeyPatch, config: dict) -> ConfigError:
    """The error, and that no resource was created before it."""
    created: list[str] = []
    new_resource = mocks.RecordingMocks.new_resource

    def spy(self: mocks.RecordingMocks, args: Any) -> tuple[str, dict]:
        created.append(args.name)
        return new_resource(self, args)

    monkeypatch.setattr(mocks.RecordingMocks, "new_resource", spy)
    with pytest.raises(ConfigError) as raised:
        run_program(config)
    assert created == []
    return raised.value


def _cluster_answer(monkeypatch: pytest.MonkeyPatch, **facts: Any) -> None:
    monkeypatch.setitem(
        mocks.INVOKES_BY_TOKEN,
        GET_CLUSTER,
        lambda args, region: existing_cluster(args["name"], region, **facts),
    )


def test_a_cluster_without_access_entries_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _cluster_answer(monkeypatch, authentication_mode="CONFIG_MAP")
    (problem,) = _refused(monkeypatch, joining()).problems
    assert problem.startswith(f"eks.existingCluster: '{CLUSTER}' has authentication mode ")
    assert "CONFIG_MAP" in problem
    assert "--access-config authenticationMode=API_AND_CONFIG_MAP" in problem


def test_a_cluster_in_another_vpc_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _cluster_answer(monkeypatch, vpc_id="vpc-0fedcba9876543210")
    (problem,) = _refused(monkeypatch, joining()).problems
    assert problem.startswith(f"network.vpcId: '{MOCK_CLUSTER_VPC}' is not the VPC of ")
    assert "set network.vpcId vpc-0fedcba9876543210" in problem


@pytest.mark.parametrize("version", ["1.24", "1.28", "1.41"])
def test_a_kubernetes_version_the_program_cannot_serve_is_refused(
    version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cluster_answer(monkeypatch, version=version)
    (problem,) = _refused(monkeypatch, joining()).problems
    assert problem.startswith(f"eks.existingCluster: '{CLUSTER}' runs Kubernetes {version}")
    assert "upgrade the cluster to one of" in problem


def test_karpenter_too_old_for_the_clusters_version_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Karpenter's compatibility matrix (components/domain/versions.py): 1.35 needs 1.9."""
    _cluster_answer(monkeypatch, version="1.35")
    (problem,) = _refused(monkeypatch, joining(karpenterVersion="1.5.0")).problems
    assert problem.startswith("eks.karpenterVersion: '1.5.0' does not support Kubernetes 1.35")
    assert f"(the version of eks.existingCluster '{CLUSTER}')" in problem


def test_a_cluster_without_an_iam_oidc_provider_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def none(args: dict[str, Any], region: str) -> dict[str, Any]:
        raise ProviderError("no matching IAM OIDC Provider found")

    monkeypatch.setitem(mocks.INVOKES_BY_TOKEN, GET_OIDC, none)
    (problem,) = _refused(monkeypatch, joining()).problems
    assert "has no IAM OIDC provider for its issuer" in problem
    assert f"eksctl utils associate-iam-oidc-provider --cluster {CLUSTER}" in problem


def test_a_cluster_that_does_not_exist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(args: dict[str, Any], region: str) -> dict[str, Any]:
        raise ProviderError(f"reading EKS Cluster ({args['name']}): couldn't find resource")

    monkeypatch.setitem(mocks.INVOKES_BY_TOKEN, GET_CLUSTER, missing)
    (problem,) = _refused(monkeypatch, joining()).problems
    assert problem.startswith(f"eks.existingCluster: '{CLUSTER}' could not be read (")
    assert "couldn't find resource" in problem
    assert "eks:DescribeCluster" in problem


def test_existing_cluster_needs_the_clusters_vpc_in_the_stack_file() -> None:
    with pytest.raises(ConfigError) as raised:
        run_program(base_config(eks={"existingCluster": CLUSTER}))
    (problem,) = raised.value.problems
    assert problem.startswith(f"eks.existingCluster: '{CLUSTER}' needs network.vpcId and ")


def test_karpenter_existing_needs_a_cluster_you_bring() -> None:
    with pytest.raises(ConfigError) as raised:
        run_program(base_config(eks={"karpenter": "existing"}))
    (problem,) = raised.value.problems
    assert problem.startswith("eks.karpenter: 'existing' means the cluster already runs ")


def test_keys_for_a_cluster_of_the_stacks_own_are_warned_about() -> None:
    plan = run_program(
        joining(
            runners=FARGATE_ONLY,
            adminRoleArns=["arn:aws:iam::123456789012:role/admins"],
            kubernetesVersion="1.34",
            endpointAccess="private",
        )
    )
    for key in ("adminRoleArns", "kubernetesVersion", "endpointAccess"):
        assert any(
            w.startswith(f"eks.{key} is set but ignored with eks.existingCluster")
            for w in plan.warnings
        ), key
    assert not any("0.0.0.0/0" in w for w in plan.warnings)


PROXY = "http://proxy.corp.example:3128"
CUSTOM_SERVICES = "192.168.128.0/20"


def cluster_facts(**overrides: Any) -> ClusterFacts:
    """The joined cluster as preflight describes it: active, in the stack's VPC, on access
    entries, with an OIDC issuer; `overrides` set what a test is about."""
    return ClusterFacts(
        **{
            "name": CLUSTER,
            "status": "ACTIVE",
            "version": MOCK_CLUSTER_VERSION,
            "vpc_id": MOCK_CLUSTER_VPC,
            "authentication_mode": "API",
            "oidc_issuer": "https://oidc.example",
            **overrides,
        }
    )


def _proxied(no_proxy: list[str] | None = None) -> dict:
    config = joining(runners=FARGATE_ONLY)
    config["network"] = {**NETWORK, "httpProxy": PROXY, "noProxy": no_proxy or ["10.0.0.0/16"]}
    return config


def test_a_service_range_the_proxy_would_catch_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """client-go's in-cluster config calls https://$KUBERNETES_SERVICE_HOST (an address of
    the cluster's service range) and honours HTTPS_PROXY/NO_PROXY (net/http
    ProxyFromEnvironment; golang.org/x/net/http/httpproxy matches IPs against CIDR entries).
    The bypass list holds only EKS's default ranges, so a cluster created with its own
    serviceIpv4Cidr would send every manager API call to the proxy."""
    _cluster_answer(monkeypatch, service_cidr=CUSTOM_SERVICES)
    (problem,) = _refused(monkeypatch, _proxied()).problems
    assert problem.startswith(f"network.noProxy: eks.existingCluster '{CLUSTER}' has the service ")
    assert f"pulumi config set --path 'network.noProxy[1]' {CUSTOM_SERVICES}" in problem


@pytest.mark.parametrize(
    ("services", "no_proxy", "refused"),
    [
        ("172.20.0.0/16", [], False),  # EKS's default range: always bypassed
        (CUSTOM_SERVICES, [], True),
        (CUSTOM_SERVICES, ["192.168.0.0/16"], False),  # a wider entry covers it
        (CUSTOM_SERVICES, ["192.168.128.0/21"], True),  # half of it is not enough
        (CUSTOM_SERVICES, ["kubernetes.default"], True),  # the manager calls the address
    ],
)
def test_the_service_range_must_be_bypassed_only_with_a_proxy(
    services: str, no_proxy: list[str], refused: bool
) -> None:
    config = parse_config(_proxied(no_proxy))[0]
    facts = cluster_facts(service_cidr=services)
    problems, _ = cluster_problems(config, facts, dt.date(2026, 12, 6))
    assert bool(problems) == refused, problems
    without_proxy = parse_config(joining(runners=FARGATE_ONLY))[0]
    assert cluster_problems(without_proxy, facts, dt.date(2026, 12, 6))[0] == []


OLD_ALIAS = "al2023@v20251201"  # before Kubernetes 1.35 on EKS (2026-01-28, versions.py)


def test_an_ami_alias_older_than_the_clusters_version_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Karpenter resolves the alias through an SSM path holding the Kubernetes version
    (karpenter-provider-aws pkg/providers/amifamily/al2023.go); an AMI release from before
    the minor has none for it. Offline every SSM parameter exists (mock_answers.py), so the
    calendar rule a cluster of the stack's own gets must run for the cluster's version."""
    _cluster_answer(monkeypatch, version="1.35")
    (problem,) = _refused(monkeypatch, joining(nodeAmiAlias=OLD_ALIAS)).problems
    assert problem.startswith(f"eks.nodeAmiAlias: '{OLD_ALIAS}' predates Kubernetes 1.35")


def test_an_old_ami_alias_is_no_problem_without_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    _cluster_answer(monkeypatch, version="1.35")
    assert run_program(joining(runners=FARGATE_ONLY, nodeAmiAlias=OLD_ALIAS)).resources


def test_every_fixed_name_the_fleet_takes_on_the_cluster_is_documented(installs: Plan) -> None:
    """What a fleet creates outside its own namespaces (cluster-scoped objects, kube-system,
    Fargate profiles) collides with the owner's or a second fleet's of the same name, so
    bring-your-own.md lists every such name that does not carry the fleet's prefix."""
    fixed = {p.inputs["fargateProfileName"] for p in installs.all(PROFILE)}
    for r in installs.resources:
        metadata = r.inputs.get("metadata") if r.type.startswith("kubernetes:") else None
        if not metadata or metadata.get("namespace") not in (None, "kube-system"):
            continue
        if not metadata["name"].startswith(PREFIX):
            fixed.add(re.sub(r"^gitlab-runner-[a-z]+$", "gitlab-runner-<runner>", metadata["name"]))
    page = (ROOT / "docs" / "bring-your-own.md").read_text()
    section = page.split("### What the stack leaves alone")[1].split("### ")[0]
    assert sorted(n for n in fixed if f"`{n}`" not in section) == []
