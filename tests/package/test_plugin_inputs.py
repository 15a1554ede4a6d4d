"""Every setting of the package's specs is a plugin input (or left out on purpose, as
docs/multi-language.md says), mapped onto the spec field its stack key names and checked by
that key's rule: through the provider's construct path under the recording mocks, asserted on
the recorded resources (task definition JSON, role policy attachments, Helm values)."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import sys
from typing import Any

import pulumi
import pytest

from components.config import schema
from components.config.schema_gitlab import CACHE_SECTION
from components.domain import specs
from components.offline.mocks import Plan
from tests.harness import ROOT
from tests.package.provider_support import (
    ECS,
    EKS,
    ENTRY,
    POLICIES,
    REGISTRY_LOGIN,
    WARM,
    construct_plan,
    wire_inputs,
)

sys.path.insert(0, str(ROOT / "provider"))
from fleet_schema import SCHEMA_FILE

SCHEMA = json.loads(SCHEMA_FILE.read_text())
TYPE = "gitlab-fargate-runners:index:"
ECS_SECTION = next(s for s in schema.SECTIONS if s.path == "ecs")
EKS_SECTION = next(s for s in schema.SECTIONS if s.path == "eks")
# Where each spec's settings are inputs: the schema object, and the stack section whose keys
# name them (a field's input is the key whose attribute it is).
WHERE = {
    specs.RunnerSpec: (SCHEMA["types"][f"{TYPE}RunnerArgs"]["properties"], schema.RUNNER),
    specs.TaskDefinitionSpec: (
        SCHEMA["types"][f"{TYPE}TaskDefinitionArgs"]["properties"],
        schema.TASK_DEFINITION,
    ),
    specs.EcsSpec: (SCHEMA["resources"][f"{TYPE}EcsRunnerFleet"]["inputProperties"], ECS_SECTION),
    specs.EksSpec: (SCHEMA["resources"][f"{TYPE}EksRunnerFleet"]["inputProperties"], EKS_SECTION),
}
# Fields that are inputs elsewhere: the cluster a fleet joins is one object.
ELSEWHERE = {
    ("EksSpec", "existing_cluster"): (SCHEMA["types"][f"{TYPE}ExistingClusterArgs"], "name"),
    ("EksSpec", "karpenter"): (SCHEMA["types"][f"{TYPE}ExistingClusterArgs"], "karpenter"),
}
FLEET_FIELDS = {  # the fleet specs' own fields: the input each comes from
    "gitlab_url": "gitlabUrl",
    "runners": "runners",
    "log_retention_days": "logRetentionDays",
    "observability": "observability",
    "ca_bundle": "caBundle",
    "proxy_environment": "httpProxy",
    "helper_image": "helperImage",
}
# Set by the fleet itself on a cluster it joins (components/eks/runner.py), not a setting.
NOT_SETTINGS = {"pool_prefix", "ecs", "eks"}


@pytest.mark.parametrize("spec", list(WHERE), ids=lambda s: s.__name__)
def test_every_setting_of_a_spec_is_an_input(spec: type) -> None:
    properties, section = WHERE[spec]
    by_attr = {key.attr: key.name for key in section.keys}
    missing = []
    for field in dataclasses.fields(spec):
        if (spec.__name__, field.name) in ELSEWHERE:
            where, name = ELSEWHERE[(spec.__name__, field.name)]
            assert name in where["properties"]
            continue
        name = "name" if field.name == "name" else by_attr.get(field.name)
        if name not in properties:
            missing.append(f"{field.name} ({name})")
    assert missing == [], f"{spec.__name__}: no plugin input for {missing}"


@pytest.mark.parametrize("resource", ["EcsRunnerFleet", "EksRunnerFleet"])
def test_every_field_of_a_fleet_spec_is_an_input(resource: str) -> None:
    fleet = specs.EcsFleetSpec if resource == "EcsRunnerFleet" else specs.EksFleetSpec
    properties = SCHEMA["resources"][f"{TYPE}{resource}"]["inputProperties"]
    fields = {f.name for f in dataclasses.fields(fleet)} - NOT_SETTINGS
    assert {FLEET_FIELDS[f] for f in fields} <= set(properties)
    assert "buildCacheExpirationDays" in properties  # the bucket's CacheSpec.expiration_days
    assert {f.name for f in dataclasses.fields(specs.CacheSpec)} == {"enabled", "expiration_days"}


def _user_data(plan: Plan) -> str:
    (template,) = plan.all("aws:ec2/launchTemplate:LaunchTemplate")
    return gzip.decompress(base64.b64decode(template.inputs["userData"])).decode()


def test_a_catalogue_entrys_environment_role_and_registry_login_reach_its_task_definition() -> None:
    plan = construct_plan(
        ECS, wire_inputs(taskDefinitions=[ENTRY, {"name": "plain", "image": "x"}])
    )
    definitions = {
        r.inputs["family"]: r.inputs for r in plan.all("aws:ecs/taskDefinition:TaskDefinition")
    }
    (container,) = json.loads(definitions["ci-runners-debian"]["containerDefinitions"])
    assert container["environment"] == [
        {"name": "LANG", "value": "C.UTF-8"},
        {"name": "TZ", "value": "UTC"},
    ]
    assert container["repositoryCredentials"] == {"credentialsParameter": REGISTRY_LOGIN}
    # Its own task role, with exactly these policies; the other entry has none.
    role = definitions["ci-runners-debian"]["taskRoleArn"]
    assert (
        role.endswith("/ci-ecs-task-debian-role")
        and "taskRoleArn" not in definitions["ci-runners-plain"]
    )
    attached = [
        r.inputs["policyArn"]
        for r in plan.all("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.inputs["role"] == "ci-ecs-task-debian-role"
    ]
    assert sorted(attached) == POLICIES
    (plain,) = json.loads(definitions["ci-runners-plain"]["containerDefinitions"])
    assert plain["environment"] == [] and "repositoryCredentials" not in plain
    # The execution role may read the registry login (ECS pulls the image with it).
    execution = [
        p.inputs["policy"]
        for p in plan.all("aws:iam/rolePolicy:RolePolicy")
        if "execution" in p.name
    ]
    assert any(REGISTRY_LOGIN in policy for policy in execution)


def test_the_managers_settings_reach_their_resources() -> None:
    plan = construct_plan(
        ECS,
        wire_inputs(
            driverVersion="v0.5.1",
            driverSha256="a" * 64,
            runnerSha256="b" * 64,
            checkInterval=7.0,
            containerInsights=True,
            platformVersion="LATEST",
            sshUsername="ci",
            managerInstanceType="c6i.large",
            managerAmiParameter="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
            buildCacheExpirationDays=30.0,
        ),
    )
    script = _user_data(plan)
    assert "/v0.5.1/fargate-linux-amd64" in script and "a" * 64 in script and "b" * 64 in script
    assert "check_interval = 7\n" in script
    assert 'PlatformVersion = "LATEST"' in script and 'Username = "ci"' in script
    (template,) = plan.all("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["instanceType"] == "c6i.large"
    assert template.inputs["imageId"].endswith("al2023-ami-kernel-6.1-x86_64")
    settings = [c.inputs["settings"] for c in plan.all("aws:ecs/cluster:Cluster")]
    assert settings and all(
        s == [{"name": "containerInsights", "value": "enabled"}] for s in settings
    )
    (expiry,) = plan.all("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert expiry.inputs["rules"][0]["expiration"] == {"days": 30}


def _runner_toml(plan: Plan, runner: str) -> str:
    (release,) = [
        r
        for r in plan.all("kubernetes:helm.sh/v3:Release")
        if r.inputs["name"] == f"gitlab-runner-{runner}"
    ]
    return release.inputs["values"]["runners"]["config"]


def test_warm_jobs_reach_the_runners_pause_pod_autoscaler() -> None:
    """components/eks/warm.py: pause pods for 2 jobs' room (a spot pod of 1024/2048 is 3 pause
    pods of the build container's size), in the given periods and time zone."""
    runners = [{"name": "build", "concurrency": 20.0}, WARM]
    plan = construct_plan(EKS, wire_inputs(runners=runners, clusterName="ci-k8s"))
    toml = _runner_toml(plan, "build-spot")
    section = toml[toml.index("[runners.kubernetes.autoscaler]") : toml.index("[runners.cache]")]
    assert "max_pause_pods = 3\n" in section and "idle_count = 3\n" in section
    assert 'timezone = "Europe/Berlin"' in section and '"* 8-17 * * mon-fri"' in section
    assert "autoscaler" not in _runner_toml(plan, "build")
    (priority,) = plan.all("kubernetes:scheduling.k8s.io/v1:PriorityClass")
    assert priority.inputs["metadata"]["name"] == "gitlab-fargate-runners-warm"


def test_the_clusters_and_pods_settings_reach_their_resources() -> None:
    plan = construct_plan(
        EKS,
        wire_inputs(
            clusterName="ci-k8s",
            karpenterVersion="1.14.1",
            runnerChartVersion="0.92.0",
            clusterLogTypes=["api"],
            pollTimeoutSeconds=900.0,
            checkInterval=5.0,
            managerPlacement="ec2",
            systemCpuLimit=16.0,
            helperCpu=256.0,
            helperMemory=512.0,
            serviceCpu=512.0,
            serviceMemory=1024.0,
            defaultJobImage="public.ecr.aws/docker/library/alpine:3.20",
            helperImage="registry.example.com/gitlab-runner-helper:x86_64-v19.3.0",
            endpointAccess="private",
            privateAccessCidrs=["10.1.0.0/16"],
            privateAccessSecurityGroupIds=["sg-0123456789abcdef0"],
            nodeAmiAlias="al2023@latest",
            publicSubnetIds=pulumi.Output.from_input(["subnet-0123456789abcdef2"]),
        ),
    )
    (cluster,) = plan.all("eks:index:Cluster")
    assert cluster.inputs["enabledClusterLogTypes"] == ["api"]
    assert cluster.inputs["endpointPublicAccess"] is False
    assert cluster.inputs["publicSubnetIds"] == ["subnet-0123456789abcdef2"]
    ingress = plan.all("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert {r.inputs.get("cidrIpv4") for r in ingress} >= {"10.1.0.0/16"}
    assert {r.inputs.get("referencedSecurityGroupId") for r in ingress} >= {"sg-0123456789abcdef0"}
    pools = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in plan.all("kubernetes:karpenter.sh/v1:NodePool")
    }
    assert pools["system"]["limits"] == {"cpu": "16"}
    (node_class,) = plan.all("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    assert node_class.inputs["spec"]["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    releases = {r.inputs["name"]: r.inputs for r in plan.all("kubernetes:helm.sh/v3:Release")}
    runner = releases["gitlab-runner-build"]
    assert runner["version"] == "0.92.0" and runner["values"]["checkInterval"] == 5
    assert runner["values"]["nodeSelector"] == {"karpenter.sh/nodepool": "system"}
    toml = runner["values"]["runners"]["config"]
    for line in (
        'image = "public.ecr.aws/docker/library/alpine:3.20"',
        "poll_timeout = 900",
        'helper_cpu_request = "250m"',
        'helper_memory_request = "512Mi"',
        'service_cpu_request = "500m"',
        'service_memory_request = "1024Mi"',
        'helper_image = "registry.example.com/gitlab-runner-helper:x86_64-v19.3.0"',
    ):
        assert f"\n{line}\n" in toml, line


@pytest.mark.parametrize("joined", [False, True], ids=["own-cluster", "joined-cluster"])
def test_the_kubernetes_provider_gets_its_token_as_the_aws_provider_does(joined: bool) -> None:
    """components/eks/cluster_access.py `exec_kubeconfig`: --role and --profile of
    `aws eks get-token`, for a cluster of the fleet's own and one it joins."""
    role = "arn:aws:iam::123456789012:role/deployer"
    extra: dict[str, Any] = {"clusterName": "ci-k8s"}
    if joined:
        extra["existingCluster"] = {"name": "ci-k8s"}
    plan = construct_plan(EKS, wire_inputs(kubeconfigProfile="ci", kubeconfigRoleArn=role, **extra))
    (provider,) = plan.all("pulumi:providers:kubernetes")
    (user,) = json.loads(provider.inputs["kubeconfig"])["users"]
    arguments = user["user"]["exec"]["args"]
    assert arguments[-4:] == ["--role", role, "--profile", "ci"]


def test_the_cache_expiry_is_the_stack_keys_default() -> None:
    assert CACHE_SECTION.default("expirationDays") == specs.CacheSpec().expiration_days == 14
