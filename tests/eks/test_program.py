"""EKS mode, evaluated as a whole program under the recording mocks."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pytest
import yaml

from components.eks import placement
from components.eks.runner import TYPE_TOKEN
from components.offline.mocks import REDACTED, Plan, RecordedResource
from components.shared.fargate_sizes import EKS_FARGATE_POD_OVERHEAD_MIB, FARGATE_SIZES
from tests.harness import dev_config, run_program, sentinel, text_of

RUNNER_TYPE = TYPE_TOKEN
CLUSTER = "eks:index:Cluster"
PROFILE = "aws:eks/fargateProfile:FargateProfile"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
ROLE = "aws:iam/role:Role"
COMPUTE_LABEL = {placement.COMPUTE_LABEL: placement.FARGATE}
ADMIN_ROLE = "arn:aws:iam::123456789012:role/platform-admins"
# Every [runners.kubernetes] key gitlab-runner 18.9 knows (its Go struct tags).
UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"
KNOWN_KUBERNETES_KEYS = set(
    json.loads((UPSTREAM / "gitlab-runner-config.json").read_text())["sections"][
        "runners.kubernetes"
    ]["keys"]
)

DEFAULT_RUNNERS = [
    {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
    {"name": "spot", "lane": "spot", "tags": ["eks-spot"], "concurrency": 10},
]
FULL_RUNNERS = [
    *DEFAULT_RUNNERS,
    {
        "name": "docker",
        "lane": "privileged",
        "tags": ["eks-privileged"],
        "concurrency": 5,
        "cpu": 2048,
        "memory": 4096,
    },
]


def eks_config(**overrides: Any) -> dict[str, Any]:
    config = {"mode": "eks", "ecs": None, "runners": DEFAULT_RUNNERS, **overrides}
    return dev_config(**config)


@pytest.fixture(scope="module")
def plan() -> Plan:
    """Managers on Fargate; a fargate and a spot runner."""
    return run_program(eks_config())


@pytest.fixture(scope="module")
def full_plan() -> Plan:
    """Managers on EC2, all three lanes, an admin role."""
    return run_program(
        eks_config(
            runners=FULL_RUNNERS,
            eks={
                "managerPlacement": "ec2",
                "adminRoleArns": [ADMIN_ROLE],
                "systemCpuLimit": 4,
                "publicAccessCidrs": ["203.0.113.0/24"],
                "serviceCpu": 512,
                "serviceMemory": 1024,
                "defaultJobImage": "registry.example.com/ci/base:1",
            },
        )
    )


def deps(plan: Plan, resource: RecordedResource) -> set[str]:
    by_urn = {r.urn: r.name for r in plan.resources}
    return {by_urn.get(urn, urn) for urn in resource.dependencies}


def release(plan: Plan, runner: str) -> RecordedResource:
    return plan.one(RELEASE, f"eks-runner-{runner}-release")


def runner_toml(plan: Plan, runner: str) -> dict[str, Any]:
    return tomllib.loads(release(plan, runner).inputs["values"]["runners"]["config"])


def kubernetes_section(plan: Plan, runner: str) -> dict[str, Any]:
    (entry,) = runner_toml(plan, runner)["runners"]
    return entry["kubernetes"]


def role_named(plan: Plan, name: str) -> RecordedResource:
    return plan.one(ROLE, name)


def role_arn(name: str) -> str:
    return f"arn:aws:iam::123456789012:role/{name}"


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
    admin = full_plan.one(CLUSTER).inputs["accessEntries"]["admin-0"]
    assert admin["principalArn"] == ADMIN_ROLE
    (policy,) = admin["accessPolicies"].values()
    assert policy["policyArn"] == (
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )
    assert policy["accessScope"] == {"type": "cluster"}


def test_fargate_profiles_and_their_selectors(plan: Plan) -> None:
    profiles = {p.inputs["fargateProfileName"]: p.inputs for p in plan.all(PROFILE)}
    assert set(profiles) == {"karpenter", "runner-fargate", "runner-spot"}
    assert profiles["karpenter"]["selectors"] == [{"namespace": "karpenter"}]
    assert profiles["runner-fargate"]["selectors"] == [
        {"namespace": "gitlab-runner-fargate", "labels": COMPUTE_LABEL}
    ]
    # The spot runner's manager is on Fargate (its jobs are not: they carry no label).
    assert profiles["runner-spot"]["selectors"] == [
        {"namespace": "gitlab-runner-spot", "labels": COMPUTE_LABEL}
    ]
    pod_role = role_arn("eks-cluster-pod-execution")
    for profile in profiles.values():
        assert profile["clusterName"] == "gitlab-runners-dev"
        assert profile["subnetIds"] == plan.outputs["privateSubnetIds"]
        assert profile["podExecutionRoleArn"] == pod_role


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


def test_runners_without_fargate_pods_get_no_profile(full_plan: Plan) -> None:
    # Managers on EC2: only the fargate lane's jobs still need a runner profile.
    names = [p.inputs["fargateProfileName"] for p in full_plan.all(PROFILE)]
    assert names == ["karpenter", "runner-fargate"]


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
    assert kubeconfig["users"][0]["user"]["exec"]["args"][-1] == "gitlab-runners-dev"
    provider = plan.one("pulumi:providers:kubernetes", "eks-cluster-k8s")
    assert provider.redacted_inputs["kubeconfig"] == REDACTED
    assert json.loads(provider.inputs["kubeconfig"]) == kubeconfig


def test_karpenter_release(plan: Plan) -> None:
    karpenter = plan.one(RELEASE, "eks-karpenter-release")
    inputs = karpenter.inputs
    assert inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert inputs["version"] == "1.14.1"
    assert inputs["namespace"] == "karpenter" and inputs["name"] == "karpenter"
    values = inputs["values"]
    assert values["settings"] == {
        "clusterName": "gitlab-runners-dev",
        "interruptionQueue": "gitlab-runners-dev-karpenter",
    }
    assert values["serviceAccount"]["name"] == "karpenter"
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn(
        "eks-karpenter-controller"
    )
    assert values["dnsPolicy"] == "Default"
    resources = values["controller"]["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert values["replicas"] == 1
    # It starts only once its Fargate profile, the log config and its IAM policies exist.
    assert {
        "eks-cluster-fargate-karpenter",
        "eks-cluster-aws-logging",
        "eks-karpenter-controller-node-lifecycle-attachment",
    } <= deps(plan, karpenter)


def test_karpenter_controller_uses_irsa_with_its_policies(plan: Plan) -> None:
    trust = json.loads(role_named(plan, "eks-karpenter-controller").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/MOCK0000000000000000000000000000"
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:karpenter:karpenter",
        f"{issuer}:aud": "sts.amazonaws.com",
    }
    attachments = [
        a
        for a in plan.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("eks-karpenter-controller-")
    ]
    assert len(attachments) == 4
    assert all(a.inputs["role"] == "eks-karpenter-controller" for a in attachments)
    policies = {
        p.name: json.loads(p.inputs["policy"])
        for p in plan.all("aws:iam/policy:Policy")
        if p.name.startswith("eks-karpenter-controller-")
    }
    actions = {
        action
        for doc in policies.values()
        for statement in doc["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {"ec2:RunInstances", "ec2:TerminateInstances", "iam:PassRole"} <= actions
    assert {"sqs:ReceiveMessage", "eks:DescribeCluster", "ec2:DescribeSubnets"} <= actions
    pass_role = next(
        s for doc in policies.values() for s in doc["Statement"] if s["Action"] == "iam:PassRole"
    )
    assert pass_role["Resource"] == [role_arn("eks-karpenter-node")]


def test_karpenter_node_role(plan: Plan) -> None:
    trust = json.loads(role_named(plan, "eks-karpenter-node").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in plan.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == "eks-karpenter-node"
    }
    assert attached == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonSSMManagedInstanceCore",
    }


def test_interruption_queue_and_rules(plan: Plan) -> None:
    queue = plan.one("aws:sqs/queue:Queue").inputs
    assert queue["messageRetentionSeconds"] == 300 and queue["sqsManagedSseEnabled"] is True
    queue_arn = "arn:aws:sqs:eu-west-1:123456789012:gitlab-runners-dev-karpenter"
    policy = json.loads(plan.one("aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "AllowEventBridgeDelivery",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        }
    ]
    rules = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in plan.all("aws:cloudwatch/eventRule:EventRule")
    }
    detail_types = {d for pattern in rules.values() for d in pattern["detail-type"]}
    assert {
        "AWS Health Event",
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
    } <= detail_types
    targets = plan.all("aws:cloudwatch/eventTarget:EventTarget")
    assert {t.inputs["rule"] for t in targets} == set(rules)
    assert all(t.inputs["arn"] == queue_arn for t in targets)


def test_node_pools_exist_only_for_configured_lanes(plan: Plan, full_plan: Plan) -> None:
    assert [p.inputs["metadata"]["name"] for p in plan.all(NODE_POOL)] == ["spot"]
    pools = {p.inputs["metadata"]["name"]: p for p in full_plan.all(NODE_POOL)}
    assert set(pools) == {"spot", "privileged", "system"}
    limits = {name: p.inputs["spec"]["limits"]["cpu"] for name, p in pools.items()}
    assert limits == {"spot": "64", "privileged": "32", "system": "4"}
    for name, pool in pools.items():
        assert pool.inputs["apiVersion"] == "karpenter.sh/v1"
        spec = pool.inputs["spec"]["template"]["spec"]
        assert spec["nodeClassRef"] == {
            "group": "karpenter.k8s.aws",
            "kind": "EC2NodeClass",
            "name": "privileged" if name == "privileged" else "default",
        }
        assert spec["taints"] == [
            {"key": "gitlab-fargate-runners/pool", "value": name, "effect": "NoSchedule"}
        ]
        # The CRDs come with the karpenter-crd chart: pools wait for it and the controller.
        node_class = "eks-karpenter-node-class" + ("-privileged" if name == "privileged" else "")
        assert {"eks-karpenter-release", "eks-karpenter-crds", node_class} <= deps(full_plan, pool)


def test_ec2_node_class(plan: Plan) -> None:
    node_class = plan.one(NODE_CLASS)
    assert node_class.inputs["apiVersion"] == "karpenter.k8s.aws/v1"
    spec = node_class.inputs["spec"]
    assert spec["role"] == "eks-karpenter-node"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260930"}]
    # Selected by id: nothing is tagged for discovery.
    subnets = [{"id": subnet} for subnet in plan.outputs["privateSubnetIds"]]
    assert spec["subnetSelectorTerms"] == subnets
    assert spec["securityGroupSelectorTerms"] == [{"id": "sg-0mockeksclustersg"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert "eks-karpenter-release" in deps(plan, node_class)


def test_runner_release(plan: Plan) -> None:
    fargate = release(plan, "fargate")
    inputs = fargate.inputs
    assert inputs["chart"] == "gitlab-runner"
    assert inputs["repositoryOpts"] == {"repo": "https://charts.gitlab.io"}
    assert inputs["version"] == "0.86.0"
    assert inputs["namespace"] == "gitlab-runner-fargate"
    values = inputs["values"]  # the example stack's values are golden files (tests/golden)
    assert values["concurrent"] == 20  # this runner's concurrency, not the fleet's
    assert values["rbac"]["create"] is True and values["rbac"]["clusterWideAccess"] is False
    assert values["serviceAccount"] == {
        "create": True,
        "name": "gitlab-runner-fargate",
        # IRSA for the build cache (tests/shared/test_cache.py)
        "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/eks-runner-fargate-cache"
        },
    }
    assert values["runners"]["name"] == "fargate"
    # The graceful-stop preStop replaces the chart's unregister hook (see runner_chart.py).
    assert values["unregisterRunners"] is False
    resources = values["resources"]
    assert resources["requests"] == resources["limits"]
    # The token comes from the Secret named here, never from the values.
    secret = plan.one("kubernetes:core/v1:Secret", "eks-runner-fargate-token")
    assert values["runners"]["secret"] == secret.inputs["metadata"]["name"]
    assert not {"runnerToken", "runnerRegistrationToken"} & set(values)
    assert "glrt-" not in json.dumps(values)
    assert {
        "eks-runner-fargate-token",
        "eks-cluster-fargate-runner-fargate",
        "eks-cluster-aws-logging",
    } <= deps(plan, fargate)
    # Manager on Fargate: labelled so its namespace's profile selects it.
    assert values["podLabels"] == COMPUTE_LABEL
    assert "nodeSelector" not in values


def test_rbac_rules_cover_the_kubernetes_executor(plan: Plan) -> None:
    rules = release(plan, "fargate").inputs["values"]["rbac"]["rules"]
    granted = {(res, verb) for rule in rules for res in rule["resources"] for verb in rule["verbs"]}
    needed = {
        *(("pods", v) for v in ("create", "delete", "get", "list", "watch")),
        *(("pods/exec", v) for v in ("create", "delete", "get", "patch")),
        *(("pods/attach", v) for v in ("create", "delete", "get", "patch")),
        *(("secrets", v) for v in ("create", "delete", "get", "update")),
        ("serviceaccounts", "get"),
        ("services", "create"),
        ("services", "get"),
        ("events", "list"),
        ("events", "watch"),
    }
    assert needed <= granted
    assert all("*" not in rule["resources"] + rule["verbs"] for rule in rules)


@pytest.mark.parametrize("runner", ["fargate", "spot"])
def test_runners_config_toml(plan: Plan, runner: str) -> None:
    toml = runner_toml(plan, runner)
    (entry,) = toml["runners"]
    assert set(entry) == {"request_concurrency", "kubernetes", "cache"}
    kubernetes = entry["kubernetes"]
    assert set(kubernetes) <= KNOWN_KUBERNETES_KEYS, set(kubernetes) - KNOWN_KUBERNETES_KEYS
    assert kubernetes["namespace"] == f"gitlab-runner-{runner}"
    assert kubernetes["poll_timeout"] == 600
    for prefix in ("", "helper_", "service_"):
        for resource in ("cpu", "memory"):
            request = kubernetes[f"{prefix}{resource}_request"]
            assert request == kubernetes[f"{prefix}{resource}_limit"]
    assert kubernetes["helper_cpu_request"] == "125m"
    assert kubernetes["helper_memory_request"] == "256Mi"
    assert "privileged" not in kubernetes


def test_fargate_job_pod_lands_exactly_on_its_configured_size(plan: Plan) -> None:
    kubernetes = kubernetes_section(plan, "fargate")
    cpu_m = int(kubernetes["cpu_request"][:-1]) + int(kubernetes["helper_cpu_request"][:-1])
    memory = int(kubernetes["memory_request"][:-2]) + int(kubernetes["helper_memory_request"][:-2])
    # Fargate: smallest valid (vCPU, memory) holding the requests plus its 256 MiB.
    needed_memory = memory + EKS_FARGATE_POD_OVERHEAD_MIB
    fargate_size = min(
        (cpu, mem)
        for cpu, memories in FARGATE_SIZES.items()
        for mem in memories
        if cpu * 1000 // 1024 >= cpu_m and mem >= needed_memory
    )
    assert fargate_size == (1024, 2048)
    assert kubernetes["pod_labels"] == COMPUTE_LABEL
    assert "node_selector" not in kubernetes


def test_spot_jobs_go_to_the_spot_pool(plan: Plan) -> None:
    kubernetes = kubernetes_section(plan, "spot")
    assert "pod_labels" not in kubernetes  # no Fargate label: the profile must not match
    assert kubernetes["node_selector"] == {"karpenter.sh/nodepool": "spot"}
    assert kubernetes["node_tolerations"] == {"gitlab-fargate-runners/pool=spot": "NoSchedule"}
    assert kubernetes["pod_annotations"] == {"karpenter.sh/do-not-disrupt": "true"}
    assert {"eks-karpenter-pool-spot", "eks-karpenter-release"} <= deps(plan, release(plan, "spot"))


def test_privileged_only_on_the_privileged_lane(full_plan: Plan) -> None:
    privileged = {
        runner["name"]: kubernetes_section(full_plan, runner["name"]).get("privileged")
        for runner in FULL_RUNNERS
    }
    assert privileged == {"fargate": None, "spot": None, "docker": True}
    docker = kubernetes_section(full_plan, "docker")
    assert docker["node_selector"] == {"karpenter.sh/nodepool": "privileged"}
    assert docker["volumes"]["empty_dir"] == [
        {"name": "docker-certs", "mount_path": "/certs/client", "medium": "Memory"}
    ]
    levels = {
        ns.inputs["metadata"]["name"]: ns.inputs["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        for ns in full_plan.all("kubernetes:core/v1:Namespace")
        if ns.inputs["metadata"]["name"].startswith("gitlab-runner-")
    }
    assert levels == {
        "gitlab-runner-fargate": "baseline",
        "gitlab-runner-spot": "baseline",
        "gitlab-runner-docker": "privileged",
    }


def test_managers_on_ec2_use_the_system_pool(full_plan: Plan) -> None:
    for runner in FULL_RUNNERS:
        managed = release(full_plan, runner["name"])
        values = managed.inputs["values"]
        assert values["nodeSelector"] == {"karpenter.sh/nodepool": "system"}
        assert values["tolerations"] == [
            {
                "key": "gitlab-fargate-runners/pool",
                "operator": "Equal",
                "value": "system",
                "effect": "NoSchedule",
            }
        ]
        assert "podLabels" not in values
        assert "eks-karpenter-pool-system" in deps(full_plan, managed)


def test_token_lives_only_in_its_secret(full_plan: Plan) -> None:
    for runner in FULL_RUNNERS:
        token = sentinel(runner["name"])
        holders = [r for r in full_plan.resources if token in json.dumps(r.inputs, default=str)]
        assert [h.name for h in holders] == [f"eks-runner-{runner['name']}-token"]
        (secret,) = holders
        assert secret.inputs["stringData"] == {
            "runner-token": token,
            "runner-registration-token": "",
        }
        assert secret.redacted_inputs["stringData"] == REDACTED
        assert token not in json.dumps(full_plan.outputs, default=str)
    assert "glrt-" in text_of(full_plan)


@pytest.mark.parametrize("which", ["plan", "full_plan"])
def test_core_kubernetes_objects_validate(which: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(which)
    core = [r for r in plan.resources if r.type.startswith("kubernetes:core/v1:")]
    assert {r.type.rsplit(":", 1)[1] for r in core} == {
        "Namespace",
        "Secret",
        "ConfigMap",
        "ServiceAccount",
    }
    for resource in core:
        manifest = resource.inputs
        assert manifest["apiVersion"] == "v1"
        kubernetes_validate.validate(manifest, "1.33", strict=True)


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
            "placement": {"manager": "fargate", "jobs": "fargate"},
        },
        {
            "name": "spot",
            "namespace": "gitlab-runner-spot",
            "release": "gitlab-runner-spot",
            "lane": "spot",
            "tags": ["eks-spot"],
            "placement": {"manager": "fargate", "jobs": "spot"},
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


def test_more_fargate_profiles_than_the_default_quota_warns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
    runners = [{"name": f"r{i}", "concurrency": 2} for i in range(9)]
    plan = run_program(eks_config(runners=runners))
    assert len(plan.all(PROFILE)) == 10  # karpenter + 9 runners, plus kube-system in pulumi-eks
    assert any("exceed the default EKS quota of 10" in w for w in warnings)
