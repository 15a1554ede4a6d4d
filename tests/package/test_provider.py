"""The fleets from any Pulumi language: the plugin's schema (what `pulumi package add` turns
into an SDK) and its construct path, under the recording mocks, with inputs as they arrive
over the wire (numbers as floats: the engine's struct values are doubles; tokens secret; ids
as Outputs)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pulumi
import pytest
from pulumi.errors import InputPropertiesError

from components import __version__
from components.offline.mocks import Plan, record
from components.topology import StackResult
from tests.harness import ROOT, sentinel
from tests.package.provider_support import ECS, EKS, construct_plan, wire_inputs

sys.path.insert(0, str(ROOT / "provider"))
from fleet_provider import PACKAGE, fleet_provider, property_path
from fleet_schema import SCHEMA_FILE, rendered_schema

SCHEMA = json.loads(SCHEMA_FILE.read_text())


def test_schema_json_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == rendered_schema(), (
        "run: venv/bin/python provider/fleet_schema.py"
    )


def test_the_schema_declares_both_fleets_in_the_index_module_with_the_package_version() -> None:
    assert SCHEMA["name"] == PACKAGE and SCHEMA["version"] == __version__
    assert {ECS, EKS} <= set(SCHEMA["resources"])
    for token in (ECS, EKS):
        resource = SCHEMA["resources"][token]
        assert resource["isComponent"] is True
        assert {"namePrefix", "runners", "runnerTokens", "vpcId", "privateSubnetIds"} <= set(
            resource["requiredInputs"]
        )


def _described(properties: dict[str, Any]) -> list[str]:
    return [name for name, p in properties.items() if not p.get("description")]


def test_every_input_output_and_type_property_is_described() -> None:
    for token, resource in SCHEMA["resources"].items():
        assert _described(resource["inputProperties"]) == [], token
        assert _described(resource["properties"]) == [], token
        assert resource.get("description"), token
    for token, typ in SCHEMA["types"].items():
        assert _described(typ["properties"]) == [], token


@pytest.fixture(scope="module")
def ecs_plan() -> Plan:
    return construct_plan(ECS, wire_inputs(maxJobsPerManager=20.0, logRetentionDays=7.0))


def test_the_ecs_fleet_builds_throughconstruct_plan(ecs_plan: Plan) -> None:
    (fleet,) = ecs_plan.all(ECS)
    (inner,) = ecs_plan.all("gitlab-fargate-runners:ecs:EcsFargateRunner")
    assert inner.parent == fleet.urn
    clusters = {r.inputs["name"] for r in ecs_plan.all("aws:ecs/cluster:Cluster")}
    assert clusters == {"ci-runners", "ci-runners-spot"}
    # 40 jobs at 20 per manager: the float arrived as the int the sizing needs.
    assert len(ecs_plan.all("aws:autoscaling/group:Group")) == 2
    retention = {
        r.inputs["retentionInDays"] for r in ecs_plan.all("aws:cloudwatch/logGroup:LogGroup")
    }
    assert retention == {7}


def test_the_outputs_are_the_schemas(ecs_plan: Plan) -> None:
    assert set(ecs_plan.outputs) == set(SCHEMA["resources"][ECS]["properties"])
    assert ecs_plan.outputs["clusterName"] == "ci-runners"


def test_tokens_stay_secret_throughconstruct_plan(ecs_plan: Plan) -> None:
    (version,) = ecs_plan.all("aws:secretsmanager/secretVersion:SecretVersion")
    assert json.loads(version.inputs["secretString"])["build"] == sentinel("build")
    shown = json.dumps([r.redacted_inputs for r in ecs_plan.resources], default=str)
    assert sentinel("build") not in shown and sentinel("build-spot") not in shown


def test_the_eks_fleet_builds_throughconstruct_plan() -> None:
    plan = construct_plan(EKS, wire_inputs(clusterName="ci-k8s", kubernetesVersion="1.35"))
    (cluster,) = plan.all("eks:index:Cluster")
    assert cluster.inputs["name"] == "ci-k8s" and cluster.inputs["version"] == "1.35"
    assert plan.redacted_outputs["kubeconfig"] == "[secret]"
    # The owner's grants exist only on a cluster the fleet joins.
    assert set(plan.outputs) == set(SCHEMA["resources"][EKS]["properties"]) - {
        "podExecutionRoleArn",
        "karpenterNodeRoleArns",
    }
    releases = {r.inputs["name"] for r in plan.all("kubernetes:helm.sh/v3:Release")}
    assert {"gitlab-runner-build", "gitlab-runner-build-spot"} <= releases


def test_a_bad_input_is_refused_per_property_before_anything_registers() -> None:
    inputs = wire_inputs(
        runners=[{"name": "Build_1"}, {"name": "dind", "lane": "privileged"}],
        runnerTokens=pulumi.Output.secret({"Build_1": sentinel("b"), "dind": sentinel("d")}),
        taskDefinitions=[{"name": "debian", "image": "debian", "cpu": 1024.0, "memory": 1000.0}],
    )
    registered: list[str] = []

    def build(_warn: Any) -> StackResult:
        with pytest.raises(InputPropertiesError) as refused:
            fleet_provider().construct("ci", ECS, inputs, pulumi.ResourceOptions())
        registered.extend(e["property_path"] for e in refused.value.errors or [])
        assert all(e["reason"] for e in refused.value.errors or [])
        return StackResult(outputs={}, rendered_files={})

    plan = record(build, {})
    assert plan.resources == []
    assert set(registered) == {"runners[0].name", "runners[1].lane", "taskDefinitions[0]"}


def test_problem_paths_name_the_schema_property() -> None:
    assert property_path("runners[2] (dind).lane: 'privileged' is not ...") == "runners[2].lane"
    assert property_path("ecs.taskDefinitions[0] (debian): cpu 1024 ...") == "taskDefinitions[0]"


def _check_object(value: dict[str, Any], properties: dict[str, Any], where: str) -> list[str]:
    """Problems of a YAML object against schema properties (unknown keys, wrong nesting)."""
    problems = [f"{where}.{k}: not in the schema" for k in value if k not in properties]
    for key, item in value.items():
        ref = properties.get(key, {}).get("items", {}).get("$ref", "")
        if ref and isinstance(item, list):
            typ = SCHEMA["types"][ref.removeprefix("#/types/")]
            for i, element in enumerate(item):
                problems += _check_object(element, typ["properties"], f"{where}.{key}[{i}]")
                missing = set(typ.get("required", [])) - set(element)
                problems += [f"{where}.{key}[{i}]: missing {m}" for m in sorted(missing)]
    return problems


def test_the_yaml_example_uses_only_what_the_schema_declares() -> None:
    import re

    import yaml

    program = yaml.safe_load((ROOT / "examples" / "ecs-fleet-yaml" / "Pulumi.yaml").read_text())
    assert program["packages"] == {PACKAGE: "../../provider"}
    problems = []
    for name, resource in program["resources"].items():
        schema = SCHEMA["resources"][resource["type"]]
        properties = resource["properties"]
        problems += _check_object(properties, schema["inputProperties"], name)
        missing = set(schema["requiredInputs"]) - set(properties)
        problems += [f"{name}: missing required input {m}" for m in sorted(missing)]
        for output in re.findall(rf"\$\{{{name}\.(\w+)\}}", json.dumps(program["outputs"])):
            if output not in schema["properties"]:
                problems.append(f"outputs: {name}.{output} is not an output of {resource['type']}")
    assert problems == []
