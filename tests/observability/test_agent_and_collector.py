"""The ECS managers' CloudWatch agent configuration against the agent's own JSON schema, the
EKS collector's configuration against the ADOT distribution's component names and config
keys, and where each runs and what it may do."""

from __future__ import annotations

import copy
import json
import math
import re

import jsonschema
import pytest

from components.eks.metrics_collector import COLLECTOR_NAME, POD_DISCOVERY_NAME
from components.observability.scrape import COLLECTOR_IMAGE, ECS_LISTEN_ADDRESS
from components.offline.mocks import Plan
from tests.observability.support import (
    agent_config,
    agent_scrape_config,
    collector_config,
    upstream,
)

AGENT_SCHEMA = upstream("cloudwatch-agent-schema.json")
ADOT = upstream("adot-collector-components.json")
CHART_METRICS = upstream("gitlab-runner-chart-metrics.json")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"


def _validator() -> jsonschema.Draft4Validator:
    schema = AGENT_SCHEMA["schema"]
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    return jsonschema.Draft4Validator(schema)


def test_agent_config_is_valid_for_the_agent(ecs_email_plan: Plan) -> None:
    config = agent_config(ecs_email_plan)
    errors = sorted(_validator().iter_errors(config), key=str)
    assert not errors, [e.message for e in errors]
    assert "prometheus" in config["logs"]["metrics_collected"]


def test_the_schema_rejects_a_misspelt_agent_key(ecs_email_plan: Plan) -> None:
    config = copy.deepcopy(agent_config(ecs_email_plan))
    config["logs"]["metrics_collected"]["prometheus"]["emf_processor"]["metric_namespaces"] = "x"
    assert not _validator().is_valid(config)


def test_agent_scrapes_only_the_local_runner(ecs_email_plan: Plan) -> None:
    scrape = agent_scrape_config(ecs_email_plan)
    (job,) = scrape["scrape_configs"]
    assert job["static_configs"] == [{"targets": [ECS_LISTEN_ADDRESS]}]
    assert ECS_LISTEN_ADDRESS.startswith("127.0.0.1:")
    prometheus = agent_config(ecs_email_plan)["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["log_group_name"] == "/gitlab-runners-dev/metrics"


def test_collector_uses_only_components_the_distribution_has(eks_topic_plan: Plan) -> None:
    config = collector_config(eks_topic_plan)
    components = ADOT["components"]
    for kind in ("receivers", "processors", "exporters", "extensions"):
        for name in config.get(kind, {}):
            assert name.split("/")[0] in components[kind], (kind, name)
    service = config["service"]
    assert set(service["extensions"]) <= set(config["extensions"])
    for pipeline in service["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), (kind, pipeline)
    keys = ADOT["config_keys"]
    emf = config["exporters"]["awsemf"]
    assert set(emf) <= set(keys["exporters.awsemf"])
    for declaration in emf["metric_declarations"]:
        assert set(declaration) <= set(keys["exporters.awsemf.metric_declarations[]"])
        for matcher in declaration.get("label_matchers", []):
            allowed = keys["exporters.awsemf.metric_declarations[].label_matchers[]"]
            assert set(matcher) <= set(allowed)
    assert set(config["receivers"]["prometheus"]) <= set(keys["receivers.prometheus"])
    # The names the dashboard reads are gitlab-runner's, suffixes included.
    assert config["receivers"]["prometheus"]["trim_metric_suffixes"] is False
    assert emf["region"] == "eu-west-1" and emf["log_group_name"] == "/gitlab-runners-dev/metrics"
    # The collector expands ${...} and $VAR in its config: nothing here may look like one.
    assert "$" not in json.dumps(config)


def test_collector_image_is_the_version_its_facts_were_taken_from() -> None:
    assert COLLECTOR_IMAGE.endswith(":" + ADOT["provenance"]["version_file"])


def test_collector_scrapes_the_charts_metrics_port(eks_topic_plan: Plan) -> None:
    config = collector_config(eks_topic_plan)
    (scrape,) = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    (sd,) = scrape["kubernetes_sd_configs"]
    assert sd["namespaces"]["names"] == ["gitlab-runner-fargate", "gitlab-runner-fargate-spot"]
    (keep,) = scrape["relabel_configs"]
    assert keep["regex"] == CHART_METRICS["values_metrics_defaults"]["portName"]
    # The chart names the container port after metrics.portName (deployment.yaml).
    assert any("metrics.portName" in line["text"] for line in CHART_METRICS["container_port_lines"])
    for release in ("fargate", "fargate-spot"):
        values = eks_topic_plan.one(
            "kubernetes:helm.sh/v3:Release", f"eks-runner-{release}-release"
        ).inputs["values"]
        assert values["metrics"] == {"enabled": True}


def test_collector_runs_on_fargate_in_kube_system(eks_topic_plan: Plan) -> None:
    deployment = eks_topic_plan.one("kubernetes:apps/v1:Deployment", "eks-metrics-deployment")
    assert deployment.inputs["metadata"]["namespace"] == "kube-system"
    cluster = eks_topic_plan.one("eks:index:Cluster").inputs
    selectors = cluster["fargate"]["selectors"]
    # The cluster's own profile selects all of kube-system: no label needed, no new profile.
    assert {"namespace": "kube-system"} in selectors
    profiles = eks_topic_plan.all("aws:eks/fargateProfile:FargateProfile")
    assert all(s["namespace"] != "kube-system" for p in profiles for s in p.inputs["selectors"])
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == COLLECTOR_NAME
    (container,) = pod["containers"]
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert "checksum/config" in deployment.inputs["spec"]["template"]["metadata"]["annotations"]


def test_collector_may_only_list_pods_in_the_runner_namespaces(eks_topic_plan: Plan) -> None:
    roles = eks_topic_plan.all("kubernetes:rbac.authorization.k8s.io/v1:Role")
    mine = [r for r in roles if r.inputs["metadata"]["name"] == POD_DISCOVERY_NAME]
    assert {r.inputs["metadata"]["namespace"] for r in mine} == {
        "gitlab-runner-fargate",
        "gitlab-runner-fargate-spot",
    }
    for role in mine:
        assert role.inputs["rules"] == [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
        ]
    cluster_roles = eks_topic_plan.all("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    assert not [r for r in cluster_roles if COLLECTOR_NAME in json.dumps(r.inputs)]


def test_collector_assumes_its_role_through_irsa(eks_topic_plan: Plan) -> None:
    role = eks_topic_plan.one(ROLE, "eks-metrics-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    subjects = [v for k, v in conditions.items() if k.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:kube-system:{COLLECTOR_NAME}"]
    account = eks_topic_plan.one("kubernetes:core/v1:ServiceAccount", "eks-metrics-account")
    annotation = account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert annotation.endswith("eks-metrics-role")


@pytest.mark.parametrize(
    ("mode", "policy"), [("ecs", "ecs-manager-policy"), ("eks", "eks-metrics-policy")]
)
def test_metrics_are_written_with_scoped_logs_actions_only(
    mode: str, policy: str, ecs_email_plan: Plan, eks_topic_plan: Plan
) -> None:
    """EMF: CloudWatch Logs extracts the metrics, so neither writer needs PutMetricData."""
    plan = ecs_email_plan if mode == "ecs" else eks_topic_plan
    document = json.loads(plan.one(ROLE_POLICY, policy).inputs["policy"])
    writes = [s for s in document["Statement"] if "logs:PutLogEvents" in s["Action"]]
    metrics = [s for s in writes if any(r.endswith("/metrics") for r in s["Resource"])]
    (statement,) = metrics
    assert sorted(statement["Action"]) == [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    ]
    group = statement["Resource"][0]
    assert re.fullmatch(
        r"arn:aws:logs:eu-west-1:\d{12}:log-group:/gitlab-runners-dev/metrics", group
    )
    assert statement["Resource"] == [group, f"{group}:*"]
    for s in document["Statement"]:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        assert not [a for a in actions if "*" in a]
        assert "cloudwatch:PutMetricData" not in actions


def test_preflight_counts_the_collector_at_the_size_fargate_runs_it() -> None:
    from components.domain.eks_sizing import METRICS_COLLECTOR_POD, system_fargate_pods
    from components.domain.fargate_sizes import fargate_pod_size
    from components.eks.metrics_collector import COLLECTOR_CPU_M, COLLECTOR_MEMORY_MIB

    cpu, memory = fargate_pod_size(math.ceil(COLLECTOR_CPU_M * 1024 / 1000), COLLECTOR_MEMORY_MIB)
    assert (cpu / 1024, memory / 1024) == METRICS_COLLECTOR_POD
    with_collector = system_fargate_pods({"a": 20}, True, metrics_collector=True)
    assert ("metrics collector", *METRICS_COLLECTOR_POD) in with_collector
    assert len(with_collector) == len(system_fargate_pods({"a": 20}, True)) + 1


def test_collector_objects_validate_against_kubernetes(eks_topic_plan: Plan) -> None:
    import kubernetes_validate

    names = ("eks-metrics-deployment", "eks-metrics-account", "eks-metrics-config")
    objects = [eks_topic_plan.named(n) for n in names]
    objects += [r for r in eks_topic_plan.resources if r.name.startswith("eks-metrics-gitlab")]
    assert len(objects) == 3 + 2 * 2  # a Role and a RoleBinding per runner namespace
    for resource in objects:
        manifest = resource.inputs
        if "template" in manifest.get("spec", {}):  # the checksum is computed from the config
            assert manifest["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        kubernetes_validate.validate(manifest, "1.33", strict=True)


def test_parliament_finds_nothing_in_the_collector_policy() -> None:
    from parliament import analyze_policy_string

    from components.eks.metrics_collector import collector_policy

    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/gitlab-runners-dev/metrics"
    assert analyze_policy_string(json.dumps(collector_policy(arn))).findings == []
