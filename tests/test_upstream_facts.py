"""Sanity checks for the derived upstream fact files in tests/upstream/.

The JSON files are produced by scripts/upstream_facts.py from fetched upstream trees at
the pinned versions (see each file's ``provenance``). These tests keep them well formed
and pin the facts other tests and the program rely on.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

UPSTREAM = Path(__file__).resolve().parent / "upstream"
FILES = (
    "gitlab-runner-config.json",
    "gitlab-runner-chart.json",
    "karpenter-crds.json",
    "fargate-driver.json",
)


@cache
def load(name: str) -> dict:
    return json.loads((UPSTREAM / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", FILES)
def test_fact_file_has_provenance(name: str) -> None:
    prov = load(name)["provenance"]
    assert prov["upstream"]
    assert prov["ref"]
    assert prov["files"]
    assert prov["generator"] == "scripts/upstream_facts.py"


def runner_keys(section: str) -> set[str]:
    return set(load("gitlab-runner-config.json")["sections"][section]["keys"])


def test_runner_global_and_runners_sections() -> None:
    assert {"concurrent", "check_interval", "shutdown_timeout", "log_level"} <= runner_keys(
        "global"
    )
    # RunnerCredentials and RunnerSettings are embedded in RunnerConfig.
    assert {
        "name",
        "url",
        "token",
        "executor",
        "request_concurrency",
        "limit",
        "cache",
        "custom",
        "kubernetes",
        "feature_flags",
    } <= runner_keys("runners")


def test_runner_custom_section_has_no_run_exec_timeout() -> None:
    custom = runner_keys("runners.custom")
    assert {"config_exec", "prepare_exec", "run_exec", "cleanup_exec"} <= custom
    assert "run_exec_timeout" not in custom
    assert load("gitlab-runner-config.json")["facts"]["custom_has_run_exec_timeout"] is False


def test_runner_cache_and_kubernetes_keys() -> None:
    assert {"Type", "Shared", "Path", "s3"} <= runner_keys("runners.cache")
    assert {"BucketName", "BucketLocation", "ServerAddress", "AuthenticationType"} <= (
        runner_keys("runners.cache.s3")
    )
    assert {
        "automount_service_account_token",
        "pod_annotations",
        "service_account",
        "poll_timeout",
        "namespace",
        "image",
    } <= runner_keys("runners.kubernetes")


def test_runner_feature_flag_and_signals() -> None:
    facts = load("gitlab-runner-config.json")["facts"]
    assert facts["feature_flag_adaptive_request_concurrency"]["exists"] is True
    assert "SIGQUIT" in facts["signals"]["notify"]["text"]


def test_chart_pod_annotations_and_lifecycle() -> None:
    chart = load("gitlab-runner-chart.json")
    assert chart["chart"]["name"] == "gitlab-runner"
    dep = chart["deployment"]
    assert "checksum/configmap" in dep["pod_template_annotation_keys"]
    assert "checksum/secrets" in dep["pod_template_annotation_keys"]
    assert any(".Values.podAnnotations" in ln for ln in dep["pod_annotations_template_lines"])
    assert ".Values.runners.secret" in dep["checksum_secrets_condition"]
    assert dep["unregister_prestop_command"]
    assert {
        "podAnnotations",
        "podLabels",
        "terminationGracePeriodSeconds",
        "rbac",
        "serviceAccount",
        "unregisterRunners",
        "shutdown_timeout",
    } <= set(chart["values_top_level_keys"])
    assert "secret" in chart["templates_values_runners_keys"]
    assert chart["entrypoint"]["execs_runner"] is True


NODEPOOL = {
    "apiVersion": "karpenter.sh/v1",
    "kind": "NodePool",
    "metadata": {"name": "ci-jobs"},
    "spec": {
        "template": {
            "metadata": {"labels": {"workload": "ci"}},
            "spec": {
                "nodeClassRef": {
                    "group": "karpenter.k8s.aws",
                    "kind": "EC2NodeClass",
                    "name": "ci",
                },
                "requirements": [
                    {
                        "key": "karpenter.sh/capacity-type",
                        "operator": "In",
                        "values": ["spot", "on-demand"],
                    },
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                ],
                "taints": [{"key": "ci", "value": "true", "effect": "NoSchedule"}],
                "expireAfter": "24h",
            },
        },
        "limits": {"cpu": "64", "memory": "256Gi"},
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"},
    },
}

EC2NODECLASS = {
    "apiVersion": "karpenter.k8s.aws/v1",
    "kind": "EC2NodeClass",
    "metadata": {"name": "ci"},
    "spec": {
        "amiSelectorTerms": [{"alias": "al2023@latest"}],
        "role": "KarpenterNodeRole-ci",
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "ci"}}],
        "securityGroupSelectorTerms": [{"id": "sg-0123456789abcdef0"}],
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "ebs": {"volumeSize": "50Gi", "volumeType": "gp3", "encrypted": True},
            }
        ],
        "tags": {"team": "ci"},
    },
}


def validator(kind: str):
    schema = load("karpenter-crds.json")["crds"][kind]["schema"]
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize(("kind", "doc"), [("NodePool", NODEPOOL), ("EC2NodeClass", EC2NODECLASS)])
def test_karpenter_schema_accepts_typical_manifest(kind: str, doc: dict) -> None:
    errors = [e.message for e in validator(kind).iter_errors(doc)]
    assert errors == []


def test_karpenter_schema_rejects_unknown_and_bad_values() -> None:
    bad = json.loads(json.dumps(NODEPOOL))
    bad["spec"]["template"]["spec"]["nodeClassRefx"] = {}
    assert not validator("NodePool").is_valid(bad)
    bad = json.loads(json.dumps(NODEPOOL))
    bad["spec"]["disruption"]["consolidationPolicy"] = "Sometimes"
    assert not validator("NodePool").is_valid(bad)
    bad = json.loads(json.dumps(EC2NODECLASS))
    bad["spec"]["metadataOptions"]["httpTokens"] = "maybe"
    assert not validator("EC2NodeClass").is_valid(bad)


def test_karpenter_charts() -> None:
    data = load("karpenter-crds.json")
    assert data["karpenter_crd_chart"]["exists"] is True
    assert "karpenter.sh_nodepools.yaml" in data["main_chart_crds_dir"]
    assert data["crds"]["NodePool"]["group"] == "karpenter.sh"
    assert data["crds"]["EC2NodeClass"]["group"] == "karpenter.k8s.aws"


def test_fargate_driver_sections() -> None:
    data = load("fargate-driver.json")
    sections = data["sections"]
    assert {
        "Cluster",
        "Region",
        "Subnet",
        "SecurityGroup",
        "TaskDefinition",
        "EnablePublicIP",
        "PlatformVersion",
    } <= set(sections["Fargate"]["keys"])
    assert "Directory" in sections["TaskMetadata"]["keys"]
    assert {"Username", "Port"} <= set(sections["SSH"]["keys"])
    assert {"LogLevel", "LogFile", "LogFormat"} <= set(sections["top-level"]["keys"])
    assert isinstance(data["facts"]["UsePublicIP_in_config"], bool)
