"""EKS mode, whole program: the gitlab-runner releases, their runners.config and lanes."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from components.domain.fargate_sizes import EKS_FARGATE_POD_OVERHEAD_MIB, FARGATE_SIZES
from components.offline.mocks import REDACTED, Plan
from tests.eks.support import (
    FARGATE_POD_LABELS,
    FULL_RUNNERS,
    KNOWN_KUBERNETES_KEYS,
    deps,
    kubernetes_section,
    release,
    runner_toml,
)
from tests.harness import sentinel, text_of


def test_runner_release(plan: Plan) -> None:
    fargate = release(plan, "fargate")
    inputs = fargate.inputs
    assert inputs["chart"] == "gitlab-runner"
    assert inputs["repositoryOpts"] == {"repo": "https://charts.gitlab.io"}
    assert inputs["version"] == "0.92.0"
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
        "eks-cluster-fargate-gitlab-runners",
        "eks-cluster-aws-logging",
    } <= deps(plan, fargate)
    # Manager on Fargate: labelled so its namespace's profile selects it.
    assert values["podLabels"] == FARGATE_POD_LABELS
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
    assert set(entry) == {"limit", "request_concurrency", "kubernetes", "cache"}
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
    assert kubernetes["pod_labels"] == FARGATE_POD_LABELS
    assert "node_selector" not in kubernetes


def test_spot_jobs_go_to_the_spot_pool(plan: Plan) -> None:
    kubernetes = kubernetes_section(plan, "spot")
    assert "pod_labels" not in kubernetes  # no Fargate label: the profile must not match
    assert kubernetes["node_selector"] == {
        "karpenter.sh/nodepool": "spot",
        "kubernetes.io/arch": "amd64",  # the default; tests/eks/test_arm64.py has arm64
    }
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
    assert docker["node_selector"] == {
        "karpenter.sh/nodepool": "privileged",
        "kubernetes.io/arch": "amd64",
    }
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
