"""EKS mode with arm64 (Graviton) runners on the EC2 lanes beside amd64 ones (issue 18).

Checked against upstream at the pinned versions (tests/upstream/): the NodePools against
Karpenter 1.14.1's CRD schema, the runner config against gitlab-runner 18.9's keys, the helper
choice against its Kubernetes executor, the one AMI alias against Karpenter's AL2023 family.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.config import ConfigError, parse_config
from components.eks.karpenter_objects import node_pool, node_pool_specs
from components.eks.runner_chart import runner_chart_values
from components.offline import plan as plan_command
from components.offline.mocks import Plan
from components.shared.images import helper_image_for
from components.topology import eks_fleet_spec
from tests.eks.support import (
    KNOWN_KUBERNETES_KEYS,
    NODE_CLASS,
    NODE_POOL,
    deps,
    kubernetes_section,
    release,
)
from tests.harness import DEV_STACK, dev_config, run_program

UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"
FACTS = json.loads((UPSTREAM / "architectures.json").read_text())
CRDS = json.loads((UPSTREAM / "karpenter-crds.json").read_text())["crds"]
GITLAB_CREDENTIAL = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/gitlab-AbCdEf"
)
MIXED = [
    {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
    {"name": "spot", "lane": "spot", "tags": ["eks-spot"], "concurrency": 10},
    {
        "name": "graviton",
        "lane": "spot",
        "tags": ["eks-graviton"],
        "concurrency": 10,
        "architecture": "arm64",
    },
    {"name": "docker", "lane": "privileged", "tags": ["eks-privileged"], "concurrency": 5},
]


def eks_config(runners: list[dict[str, Any]] = MIXED, **overrides: Any) -> dict[str, Any]:
    return dev_config(mode="eks", ecs=None, runners=runners, **overrides)


@pytest.fixture(scope="module")
def plan() -> Plan:
    """amd64 and arm64 spot runners, an amd64 privileged runner, managers on the system pool,
    helper images through the cache."""
    images = {"gitlabCredentialArn": GITLAB_CREDENTIAL}
    return run_program(eks_config(eks={"managerPlacement": "ec2"}, images=images))


def requirement(pool: dict[str, Any], key: str) -> list[str]:
    (found,) = [r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key]
    assert found["operator"] == "In"
    return found["values"]


def test_only_the_pool_with_an_arm64_runner_admits_arm64(plan: Plan) -> None:
    pools = {p.inputs["metadata"]["name"]: p.inputs for p in plan.all(NODE_POOL)}
    assert set(pools) == {"spot", "privileged", "system"}
    arch = {name: requirement(pool, "kubernetes.io/arch") for name, pool in pools.items()}
    assert arch == {"spot": ["amd64", "arm64"], "privileged": ["amd64"], "system": ["amd64"]}
    schema = jsonschema.Draft7Validator(CRDS["NodePool"]["schema"])
    for pool in pools.values():
        schema.validate(pool)
    # Graviton families come from the same categories; the limit stays the lane's.
    assert requirement(pools["spot"], "karpenter.k8s.aws/instance-category") == ["c", "m", "r"]
    assert pools["spot"]["spec"]["limits"] == {"cpu": "64"}


def test_an_arm64_only_lane_gets_an_arm64_only_pool() -> None:
    runners = [{"name": "graviton", "lane": "spot", "architecture": "arm64"}]
    config, _ = parse_config(eks_config(runners=runners))
    (spec,) = node_pool_specs(eks_fleet_spec(config))
    pool = node_pool(spec, config.eks)
    assert requirement(pool, "kubernetes.io/arch") == ["arm64"]
    jsonschema.Draft7Validator(CRDS["NodePool"]["schema"]).validate(pool)


def test_job_pods_name_their_architecture_and_others_stay_amd64(plan: Plan) -> None:
    selectors = {
        name: kubernetes_section(plan, name).get("node_selector")
        for name in ("fargate", "spot", "graviton", "docker")
    }
    assert selectors == {
        "fargate": None,  # Fargate: x86_64 only, selected by its profile's label
        "spot": {"karpenter.sh/nodepool": "spot", "kubernetes.io/arch": "amd64"},
        "graviton": {"karpenter.sh/nodepool": "spot", "kubernetes.io/arch": "arm64"},
        "docker": {"karpenter.sh/nodepool": "privileged", "kubernetes.io/arch": "amd64"},
    }
    for name in selectors:
        assert set(kubernetes_section(plan, name)) <= KNOWN_KUBERNETES_KEYS
    # Managers stay on the amd64 system pool, whatever their jobs run on.
    values = release(plan, "graviton").inputs["values"]
    assert values["nodeSelector"] == {"karpenter.sh/nodepool": "system"}
    assert "eks-karpenter-pool-spot" in deps(plan, release(plan, "graviton"))


def test_the_helper_image_matches_the_node_architecture(plan: Plan) -> None:
    runner = FACTS["runner"]
    # gitlab-runner 18.9 sets the helper's architecture from the kubernetes.io/arch node
    # selector (amd64 without one) and uses a set helper_image as written, so the program
    # sets the architecture-specific tag: <arch>-v<version>, x86_64 for amd64 nodes.
    assert "LabelArchStable" in runner["helper_arch_from_node_selector"]["text"]
    assert runner["helper_default_architecture"]["value"] == "amd64"
    assert "HelperImage" in runner["helper_image_set_is_used_as_written"]["text"]
    assert runner["helper_tag_architecture"]["amd64"] == "x86_64"
    assert runner["helper_tag_other_architecture_unchanged"]["value"] is True  # arm64 -> arm64
    cached = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/glr-dev/gitlab/"
    helper = cached + "gitlab-org/gitlab-runner/gitlab-runner-helper:"
    helpers = {
        name: kubernetes_section(plan, name)["helper_image"]
        for name in ("fargate", "spot", "graviton", "docker")
    }
    assert helpers == {
        "fargate": helper + "x86_64-v${CI_RUNNER_VERSION}",
        "spot": helper + "x86_64-v${CI_RUNNER_VERSION}",
        "graviton": helper + "arm64-v${CI_RUNNER_VERSION}",
        "docker": helper + "x86_64-v${CI_RUNNER_VERSION}",
    }
    assert runner["helper_registry"]["value"].endswith(
        "gitlab-org/gitlab-runner/gitlab-runner-helper"
    )


def test_without_a_cache_gitlab_runner_chooses_the_helper() -> None:
    config, _ = parse_config(eks_config())
    graviton = next(r for r in config.runners if r.name == "graviton")
    values = runner_chart_values(eks_fleet_spec(config), graviton)
    (entry,) = tomllib.loads(values["runners"]["config"])["runners"]
    assert "helper_image" not in entry["kubernetes"]
    assert entry["kubernetes"]["node_selector"]["kubernetes.io/arch"] == "arm64"


@pytest.mark.parametrize(
    ("image", "architecture", "expected"),
    [
        (
            "mirror.example.com/helper:x86_64-v18.9.0",
            "arm64",
            "mirror.example.com/helper:arm64-v18.9.0",
        ),
        (
            "mirror.example.com/helper:arm64-v18.9.0",
            "amd64",
            "mirror.example.com/helper:x86_64-v18.9.0",
        ),
        (
            "reg:5000/helper:ubuntu-x86_64-v${CI_RUNNER_VERSION}",
            "arm64",
            "reg:5000/helper:ubuntu-arm64-v${CI_RUNNER_VERSION}",
        ),
        # Not in the per-architecture scheme: kept as written (must then be multi-arch).
        ("mirror.example.com/helper:latest", "arm64", "mirror.example.com/helper:latest"),
        ("reg:5000/helper", "arm64", "reg:5000/helper"),
        (
            "mirror.example.com/helper@sha256:" + "a" * 64,
            "arm64",
            "mirror.example.com/helper@sha256:" + "a" * 64,
        ),
    ],
)
def test_helper_image_for(image: str, architecture: str, expected: str) -> None:
    assert helper_image_for(image, architecture) == expected


def test_one_node_class_and_alias_serve_both_architectures(plan: Plan) -> None:
    # Karpenter's al2023@<version> alias resolves an AMI for x86_64 and for arm64.
    arches = FACTS["karpenter"]["al2023_alias_architectures"]["architectures"]
    assert {"x86_64", "arm64"} <= set(arches) and "Standard" in arches["arm64"]["variants"]
    classes = {c.inputs["metadata"]["name"]: c.inputs["spec"] for c in plan.all(NODE_CLASS)}
    assert {spec["amiSelectorTerms"][0]["alias"] for spec in classes.values()} == {
        "al2023@v20260930"
    }


def test_arm64_on_the_fargate_lane_is_refused_with_the_reason() -> None:
    runners = [{"name": "fargate", "architecture": "arm64"}]
    with pytest.raises(ConfigError) as raised:
        parse_config(eks_config(runners=runners))
    (problem,) = raised.value.problems
    assert problem.startswith("runners[0] (fargate).architecture: 'arm64' is not available")
    assert "EKS Fargate runs x86_64 pods only" in problem
    assert "lane spot or privileged" in problem


def test_runner_architecture_defaults_to_amd64_and_is_a_choice() -> None:
    config, _ = parse_config(eks_config())
    assert {r.architecture for r in config.runners} == {"amd64", "arm64"}
    assert config.runners[0].architecture == "amd64"
    runners = [{"name": "spot", "lane": "spot", "architecture": "x86_64"}]
    with pytest.raises(ConfigError) as raised:
        parse_config(eks_config(runners=runners))
    assert any("runners[0] (spot).architecture" in p for p in raised.value.problems)


def test_the_architecture_facts_say_where_they_come_from() -> None:
    provenance = FACTS["provenance"]
    assert provenance["generator"] == "scripts/upstream_arch_facts.py"
    assert provenance["ref"]["runner"].startswith("v19.3.0")  # the chart 0.92.0 appVersion
    assert provenance["ref"]["karpenter"].startswith("v1.14.1")
    assert "NOT an upstream tag" in provenance["ref"]["driver"]
    assert set(provenance["upstream"]) == {"runner", "karpenter", "driver"}


def test_the_offline_plan_refuses_arm64_on_eks_fargate_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As preview would: status 2, the key, the value and the reason; no traceback."""
    (tmp_path / "Pulumi.test.yaml").write_text(DEV_STACK.read_text())
    args = ["--stack", "test", "--project-dir", str(tmp_path), "--stand-in-tokens"]
    eks_arm = ["--set", "mode=eks", "--set", "runners[0].architecture=arm64"]
    assert plan_command.main([*args, "--out", str(tmp_path / "p.json"), *eks_arm]) == 2
    err = capsys.readouterr().err
    assert "runners[0] (fargate).architecture: 'arm64' is not available on the fargate lane" in err
    assert "Traceback" not in err


# Karpenter's CEL rules (dropped from the facts' schema) at v1.14.1,
# pkg/apis/crds/karpenter.sh_nodepools.yaml:343-346: an `In` requirement needs a value, and
# `Gt`/`Lt`/`Gte`/`Lte` exactly one non-negative integer; the API server refuses the NodePool.
def cel_requirement_problems(pool: dict[str, Any]) -> list[str]:
    problems = []
    for req in pool["spec"]["template"]["spec"]["requirements"]:
        values = req.get("values") or []
        if req["operator"] == "In" and not values:
            problems.append(f"{req['key']}: 'In' without a value")
        if req["operator"] in ("Gt", "Lt", "Gte", "Lte") and not (
            len(values) == 1 and values[0].isdigit()
        ):
            problems.append(f"{req['key']}: {req['operator']} needs one non-negative integer")
    return problems


def test_every_pool_passes_karpenters_requirement_rules(plan: Plan) -> None:
    pools = plan.all(NODE_POOL)
    assert len(pools) == 3
    assert [p for pool in pools for p in cel_requirement_problems(pool.inputs)] == []


def test_no_instance_category_is_refused_at_config_time() -> None:
    """`In []` would only fail when Karpenter's API validation sees the NodePool, after the
    cluster is built: refuse it with the key named."""
    with pytest.raises(ConfigError, match=r"eks\.instanceCategories.*at least one"):
        parse_config(eks_config(eks={"instanceCategories": []}))
