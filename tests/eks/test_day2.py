"""EKS mode on day 2 (issue 11) and at scale (issue 9, section 3): replacements, upgrades,
token rotation, disruption, destroy order, least privilege and sizing.

Where a behaviour depends on what the gitlab-runner chart or Karpenter does with our values,
the tests check against the facts extracted from the real chart 0.86.0, runner 18.9 and
Karpenter 1.14.1 CRDs in tests/upstream/.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.config import ConfigError, parse_config
from components.eks.karpenter_objects import ec2_node_class, node_pool, node_pool_specs
from components.eks.runner_chart import TOKEN_ANNOTATION, token_fingerprint
from components.offline import mocks
from components.offline.mocks import REDACTED, Plan
from components.topology import eks_fleet_spec
from tests.eks.support import NODE_CLASS, NODE_POOL, RELEASE, deps, kubernetes_section, release
from tests.harness import dev_config, run_program, sentinel, shared_plan

UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"
CHART = json.loads((UPSTREAM / "gitlab-runner-chart.json").read_text())
RUNNER = json.loads((UPSTREAM / "gitlab-runner-config.json").read_text())
CRDS = json.loads((UPSTREAM / "karpenter-crds.json").read_text())["crds"]

ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SLR = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
EVERY_LANE = [
    {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
    {"name": "spot", "lane": "spot", "tags": ["eks-spot"], "concurrency": 10},
    {"name": "docker", "lane": "privileged", "tags": ["eks-privileged"], "concurrency": 5},
]
EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "privateSubnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
}


def eks_config(**overrides: Any) -> dict[str, Any]:
    return dev_config(**{"mode": "eks", "ecs": None, "runners": EVERY_LANE, **overrides})


@pytest.fixture(scope="module")
def plan() -> Plan:
    """A runner on every lane, managers on EC2, the default (open) API endpoint."""
    return run_program(eks_config(eks={"managerPlacement": "ec2"}))


@pytest.fixture(scope="module")
def custom() -> Plan:
    """An existing VPC, a narrowed endpoint, a bumped AMI alias, 2 h jobs, and runners of very
    different sizes (one pinning its request concurrency)."""
    runners = [
        {"name": "big", "concurrency": 500},
        {"name": "small", "lane": "spot", "concurrency": 20},
        {"name": "pinned", "lane": "privileged", "concurrency": 500, "requestConcurrency": 4},
    ]
    eks = {
        "nodeAmiAlias": "al2023@v20261015",
        "publicAccessCidrs": ["203.0.113.0/24"],
        "jobTimeoutSeconds": 7200,
    }
    return run_program(eks_config(runners=runners, eks=eks, network=EXISTING_VPC))


PRIVATE_ACCESS_CIDRS = ["10.100.0.0/16", "192.168.8.0/24"]
BASTION_SG = "sg-0123456789abcdef0"


@pytest.fixture(scope="module")
def private() -> Plan:
    """A fargate-only stack with a private API endpoint, reached from a VPN and a bastion."""
    eks = {
        "endpointAccess": "private",
        "privateAccessCidrs": PRIVATE_ACCESS_CIDRS,
        "privateAccessSecurityGroupIds": [BASTION_SG],
    }
    return shared_plan(eks_config(runners=EVERY_LANE[:1], eks=eks))


def attached_policies(plan: Plan, role: str) -> set[str]:
    return {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in plan.all(ATTACHMENT)
        if a.inputs["role"] == role
    }


def chart_renders_pod_annotation(key: str) -> bool:
    """The chart copies every podAnnotations entry into the pod template (and does not set the
    key itself, which would make ours a duplicate)."""
    deployment = CHART["deployment"]
    ranged = any(
        ".Values.podAnnotations" in line for line in deployment["pod_annotations_template_lines"]
    )
    return ranged and key not in deployment["pod_template_annotation_keys"]


# 1. Fargate profile replacement


def test_fargate_profiles_are_deleted_before_they_are_replaced(plan: Plan) -> None:
    profiles = plan.all("aws:eks/fargateProfile:FargateProfile")
    assert profiles and all(p.delete_before_replace for p in profiles)
    # ... and still one at a time: each waits for the previous one.
    previous = plan.one("eks:index:Cluster")
    for profile in profiles:
        assert previous.urn in profile.dependencies
        previous = profile


# 2. Karpenter CRDs upgrade with the version


def test_karpenter_crds_come_from_the_karpenter_crd_chart(plan: Plan) -> None:
    crds = plan.one(RELEASE, "eks-karpenter-crds").inputs
    main = plan.one(RELEASE, "eks-karpenter-release")
    assert crds["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert crds["version"] == main.inputs["version"] == "1.14.1"
    assert crds["namespace"] == "karpenter"
    assert main.inputs["skipCrds"] is True
    assert "eks-karpenter-crds" in deps(plan, main)
    assert CRDS["NodePool"]["group"] == "karpenter.sh"  # the chart's CRDs, schema-checked below


# 3. A rotated token rolls the manager pod


def test_a_new_token_changes_the_manager_pod_template(plan: Plan) -> None:
    found = release(plan, "fargate")
    old = found.inputs["values"]["podAnnotations"][TOKEN_ANNOTATION]
    assert found.redacted_inputs["values"]["podAnnotations"][TOKEN_ANNOTATION] == REDACTED
    rotated = {"fargate": sentinel("fargate") + "-rotated"}
    config = eks_config(runners=EVERY_LANE[:1], runnerTokens=rotated)
    new = release(run_program(config), "fargate").inputs["values"]["podAnnotations"]
    assert new[TOKEN_ANNOTATION] != old
    # Deterministic (no rollout without a new token) and not the token itself.
    assert token_fingerprint("gitlab-runner-fargate", sentinel("fargate")) == old
    assert "glrt-" not in old and len(old) == 16
    assert chart_renders_pod_annotation(TOKEN_ANNOTATION)
    # Why the chart cannot do it: checksum/secrets hashes the chart's own (empty) template.
    assert "runners.secret" in CHART["deployment"]["checksum_secrets_condition"]


# 4. An existing VPC receives no tags


def test_existing_vpc_is_selected_by_id_and_never_tagged(custom: Plan) -> None:
    plan = custom
    assert plan.all("aws:ec2/tag:Tag") == []
    (default, privileged) = sorted(plan.all(NODE_CLASS), key=lambda r: r.name)
    for node_class in (default, privileged):
        spec = node_class.inputs["spec"]
        assert spec["subnetSelectorTerms"] == [
            {"id": subnet} for subnet in EXISTING_VPC["privateSubnetIds"]
        ]
        assert spec["securityGroupSelectorTerms"] == [{"id": "sg-0mockeksclustersg"}]
    subnets = [r for r in plan.resources if r.type == "aws:ec2/subnet:Subnet"]
    assert subnets == []


# 5. The EC2 Spot service-linked role


def test_spot_service_linked_role_is_created_in_a_fresh_account(plan: Plan) -> None:
    role = plan.one(SLR)
    assert role.inputs["awsServiceName"] == "spot.amazonaws.com"
    assert role.retain_on_delete and role.import_id == ""
    assert role.inputs["tags"]["stack"] == "dev"
    assert role.name in deps(plan, plan.one(NODE_POOL, "eks-karpenter-pool-spot"))


def spot_account(monkeypatch: pytest.MonkeyPatch, tags: dict[str, str]) -> Plan:
    arn = (
        "arn:aws:iam::123456789012:role/aws-service-role/spot.amazonaws.com/"
        "AWSServiceRoleForEC2Spot"
    )
    monkeypatch.setitem(
        mocks.INVOKES_BY_TOKEN,
        "aws:iam/getRoles:getRoles",
        lambda args, region: {"arns": [arn], "names": ["AWSServiceRoleForEC2Spot"], "id": "x"},
    )
    monkeypatch.setitem(
        mocks.INVOKES_BY_TOKEN,
        "aws:iam/getRole:getRole",
        lambda args, region: {"name": args["name"], "arn": arn, "tags": tags, "id": args["name"]},
    )
    return run_program(eks_config(runners=EVERY_LANE[1:2]))


def test_someone_elses_spot_role_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    assert spot_account(monkeypatch, {"owner": "platform"}).all(SLR) == []


def test_the_stacks_own_spot_role_stays_managed(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = {"project": "gitlab-fargate-runners", "stack": "dev", "managed-by": "pulumi"}
    (role,) = spot_account(monkeypatch, ours).all(SLR)
    assert role.import_id.endswith("/AWSServiceRoleForEC2Spot") and role.retain_on_delete


def test_no_spot_lane_no_spot_role(private: Plan) -> None:
    assert private.all(SLR) == []


# 6. Managers on EC2 are not evicted, and stop gracefully


def test_managers_cannot_be_consolidated_away(plan: Plan) -> None:
    values = release(plan, "spot").inputs["values"]
    assert values["podAnnotations"]["karpenter.sh/do-not-disrupt"] == "true"
    assert chart_renders_pod_annotation("karpenter.sh/do-not-disrupt")
    pools = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in plan.all(NODE_POOL)}
    assert pools["system"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
    pdb = plan.one("kubernetes:policy/v1:PodDisruptionBudget", "eks-runner-spot-manager-pdb")
    assert pdb.inputs["spec"]["maxUnavailable"] == 0
    # The PDB selects the Deployment's `app` label, which is the chart's fullname.
    assert values["fullnameOverride"] == "gitlab-runner-spot"
    assert pdb.inputs["spec"]["selector"] == {"matchLabels": {"app": "gitlab-runner-spot"}}
    assert "fullnameOverride" in CHART["templates_values_top_level_keys"]


def test_node_ami_is_pinned_and_configurable(plan: Plan, custom: Plan) -> None:
    for node_class in plan.all(NODE_CLASS):
        assert node_class.inputs["spec"]["amiSelectorTerms"] == [{"alias": "al2023@v20260930"}]
    for node_class in custom.all(NODE_CLASS):
        assert node_class.inputs["spec"]["amiSelectorTerms"] == [{"alias": "al2023@v20261015"}]
    with pytest.raises(ConfigError, match=r"eks\.nodeAmiAlias"):
        parse_config({**eks_config(), "eks": {"nodeAmiAlias": "latest"}})


def test_manager_drains_its_jobs_before_it_stops(plan: Plan, custom: Plan) -> None:
    values = release(plan, "fargate").inputs["values"]
    # The runner is exec'd under dumb-init and its image sets no STOPSIGNAL: Kubernetes'
    # SIGTERM is a forceful stop, SIGQUIT the graceful one.
    signals = RUNNER["facts"]["signals"]
    assert signals["runner_dockerfile_sets_STOPSIGNAL"] is False
    assert "SIGQUIT = graceful" in signals["summary"]
    assert CHART["entrypoint"]["execs_runner"] is True
    (command,) = [values["deploymentLifecycle"]["preStop"]["exec"]["command"]]
    script = command[-1]
    assert script.startswith("pkill -QUIT") and "while pgrep" in script
    assert CHART["deployment"]["lifecycle_from_values"] is True
    # Long enough for a job of the configured timeout (default 1 h) plus its upload.
    assert values["terminationGracePeriodSeconds"] >= 3600
    assert release(custom, "big").inputs["values"]["terminationGracePeriodSeconds"] >= 7200


def test_node_pools_let_pods_finish_before_a_node_goes(plan: Plan) -> None:
    grace = release(plan, "spot").inputs["values"]["terminationGracePeriodSeconds"]
    for pool in plan.all(NODE_POOL):
        period = pool.inputs["spec"]["template"]["spec"]["terminationGracePeriod"]
        assert period.endswith("s") and int(period[:-1]) > grace


# 7. The privileged lane


def test_no_node_role_carries_the_cni_policy(plan: Plan) -> None:
    for role in ("eks-karpenter-node", "eks-karpenter-privileged-node"):
        assert "AmazonEKS_CNI_Policy" not in attached_policies(plan, role)
    assert attached_policies(plan, "eks-karpenter-privileged-node") == {
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryPullOnly",
    }


def test_vpc_cni_runs_with_its_own_irsa_role(plan: Plan) -> None:
    addon = plan.one("aws:eks/addon:Addon", "eks-cluster-vpc-cni").inputs
    assert addon["addonName"] == "vpc-cni"
    assert addon["serviceAccountRoleArn"] == "arn:aws:iam::123456789012:role/eks-cluster-vpc-cni"
    trust = json.loads(
        plan.one("aws:iam/role:Role", "eks-cluster-vpc-cni").inputs["assumeRolePolicy"]
    )
    (condition,) = [s["Condition"]["StringEquals"] for s in trust["Statement"]]
    assert "system:serviceaccount:kube-system:aws-node" in condition.values()
    assert attached_policies(plan, "eks-cluster-vpc-cni") == {"AmazonEKS_CNI_Policy"}
    # No node starts before aws-node has its role.
    for node_class in plan.all(NODE_CLASS):
        assert "eks-cluster-vpc-cni" in deps(plan, node_class)


def test_privileged_pool_has_its_own_node_class_and_role(plan: Plan) -> None:
    classes = {c.inputs["metadata"]["name"]: c.inputs["spec"] for c in plan.all(NODE_CLASS)}
    assert classes["privileged"]["role"] == "eks-karpenter-privileged-node"
    assert classes["default"]["role"] == "eks-karpenter-node"
    pools = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in plan.all(NODE_POOL)}
    refs = {name: spec["template"]["spec"]["nodeClassRef"]["name"] for name, spec in pools.items()}
    assert refs == {"spot": "default", "system": "default", "privileged": "privileged"}
    entries = plan.one("eks:index:Cluster").inputs["accessEntries"]
    assert {e["principalArn"].rsplit("/", 1)[1] for e in entries.values()} == {
        "eks-karpenter-node",
        "eks-karpenter-privileged-node",
    }
    policies = [json.loads(p.inputs["policy"]) for p in plan.all("aws:iam/policy:Policy")]
    (pass_role,) = [
        s for doc in policies for s in doc["Statement"] if s["Action"] == "iam:PassRole"
    ]
    assert sorted(pass_role["Resource"]) == [
        "arn:aws:iam::123456789012:role/eks-karpenter-node",
        "arn:aws:iam::123456789012:role/eks-karpenter-privileged-node",
    ]


# 8. Job pods get no API token


@pytest.mark.parametrize("runner", ["fargate", "spot", "docker"])
def test_job_pods_mount_no_token(plan: Plan, runner: str) -> None:
    kubernetes = kubernetes_section(plan, runner)
    assert kubernetes["automount_service_account_token"] is False
    account = plan.one("kubernetes:core/v1:ServiceAccount", f"eks-runner-{runner}-job-account")
    assert kubernetes["service_account"] == account.inputs["metadata"]["name"]
    assert account.inputs["automountServiceAccountToken"] is False
    known = RUNNER["sections"]["runners.kubernetes"]["keys"]
    assert {"automount_service_account_token", "service_account"} <= set(known)
    # No RBAC binds it: the chart binds only the manager, the program only the metrics
    # collector's account.
    bindings = [r for r in plan.resources if "RoleBinding" in r.type]
    subjects = [s for b in bindings for s in b.inputs["subjects"]]
    assert subjects and {s["name"] for s in subjects} == {"gitlab-runner-metrics-collector"}


# 9. The API endpoint


def test_open_endpoint_is_warned_about_at_preview(plan: Plan, custom: Plan) -> None:
    assert plan.one("eks:index:Cluster").inputs["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert any(w.startswith("eks.publicAccessCidrs: the Kubernetes API") for w in plan.warnings)
    assert custom.one("eks:index:Cluster").inputs["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert not any("publicAccessCidrs" in w for w in custom.warnings)


def test_private_endpoint(private: Plan) -> None:
    cluster = private.one("eks:index:Cluster")
    assert cluster.inputs["endpointPublicAccess"] is False
    assert cluster.inputs["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in cluster.inputs
    bad = {
        **eks_config(),
        "eks": {"endpointAccess": "private", "publicAccessCidrs": ["10.0.0.0/8"]},
    }
    with pytest.raises(ConfigError, match=r"eks\.publicAccessCidrs.*eks\.endpointAccess private"):
        parse_config(bad)


# 10. Destroy order


def test_destroy_order_keeps_karpenter_until_its_nodes_are_gone(plan: Plan) -> None:
    """Pulumi deletes in reverse dependency order: runner releases (their pods), then pools and
    node classes (Karpenter drains and terminates the nodes), then Karpenter and its role."""
    karpenter = plan.one(RELEASE, "eks-karpenter-release")
    assert {
        f"eks-karpenter-controller-{p}-attachment" for p in ("node-lifecycle", "iam-integration")
    } <= deps(plan, karpenter)
    for pool in plan.all(NODE_POOL):
        assert {"eks-karpenter-release", "eks-karpenter-crds"} <= deps(plan, pool)
    for runner in ("spot", "docker"):
        pools = {
            d for d in deps(plan, release(plan, runner)) if d.startswith("eks-karpenter-pool-")
        }
        assert "eks-karpenter-pool-system" in pools
    # Helm's wait is bounded for install, upgrade and uninstall alike.
    assert all(release(plan, r["name"]).inputs["timeout"] == 900 for r in EVERY_LANE)


# 11. Kubernetes version


def test_default_kubernetes_version_is_in_standard_support(plan: Plan) -> None:
    # EKS 1.35: standard support until 2027-03-27 (EKS version calendar).
    assert plan.one("eks:index:Cluster").inputs["version"] == "1.35"


# Karpenter documents against the upstream CRD schemas


def test_karpenter_documents_match_the_crds() -> None:
    config, _ = parse_config({**eks_config(), "eks": {"managerPlacement": "ec2"}})
    pool_schema = jsonschema.Draft7Validator(CRDS["NodePool"]["schema"])
    specs = node_pool_specs(eks_fleet_spec(config))
    assert {s.name for s in specs} == {"spot", "privileged", "system"}
    for spec in specs:
        pool_schema.validate(node_pool(spec, config.eks))
    doc = ec2_node_class(
        "privileged", "role", ["subnet-0abc", "subnet-0def"], "sg-0123", "al2023@v20260930", {}
    )
    jsonschema.Draft7Validator(CRDS["EC2NodeClass"]["schema"]).validate(doc)


# Issue 9, section 3: managers and the cluster scale with concurrency


def test_a_big_runner_gets_a_bigger_manager_and_faster_pickup(custom: Plan) -> None:
    def resources(runner: str) -> tuple[int, int]:
        found = release(custom, runner).inputs["values"]["resources"]
        assert found["requests"] == found["limits"]
        return int(found["requests"]["cpu"][:-1]), int(found["requests"]["memory"][:-2])

    big_cpu, big_memory = resources("big")
    small_cpu, small_memory = resources("small")
    assert big_cpu > small_cpu and big_memory > small_memory

    def request_concurrency(runner: str) -> int:
        values = release(custom, runner).inputs["values"]
        return tomllib.loads(values["runners"]["config"])["runners"][0]["request_concurrency"]

    # 18.9 adapts up to this ceiling (FF_USE_ADAPTIVE_REQUEST_CONCURRENCY, on by default).
    assert RUNNER["facts"]["feature_flag_adaptive_request_concurrency"]["default"] is True
    assert (request_concurrency("small"), request_concurrency("big")) == (1, 20)
    assert request_concurrency("pinned") == 4  # an explicit setting wins


def test_coredns_is_scaled_for_the_job_pods(plan: Plan, custom: Plan) -> None:
    def replicas(found: Plan) -> int:
        options = found.one("eks:index:Cluster").inputs["corednsAddonOptions"]
        assert options["configurationValues"]["computeType"] == "Fargate"
        return options["configurationValues"]["replicaCount"]

    # 35 jobs in all: the minimum of two; 1020 jobs: the cap of ten.
    assert (replicas(plan), replicas(custom)) == (2, 10)


def test_poll_timeout_is_checked_against_the_fargate_launch_rate() -> None:
    big = [{"name": "big", "concurrency": 2000}]
    _, ok = parse_config({**eks_config(runners=big)})
    assert not any("pollTimeoutSeconds" in w for w in ok)  # 600 s covers 2000 pods
    _, short = parse_config({**eks_config(runners=big), "eks": {"pollTimeoutSeconds": 180}})
    assert any(w.startswith("eks.pollTimeoutSeconds: 180 s may be too short") for w in short)
