"""Evaluate the whole program offline, under Pulumi mocks, and record every resource.

Used by the test suite and by the `components.plan` command: no Pulumi CLI, no provider
plugins, no cloud credentials. Ids and ARNs it invents are obvious placeholders
(account 123456789012, ids ending in "-mock-id").
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.naming import PROJECT

if TYPE_CHECKING:
    from components.topology import StackResult

MOCK_ACCOUNT = "123456789012"
# The region of a config that names none (the tests); the plan command passes the stack's own.
DEFAULT_REGION = "eu-west-1"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
REDACTED = "[secret]"
# What a created GitLab runner's token looks like offline: a sentinel the leak checks look for.
CREATED_TOKEN_PREFIX = "glrt-MOCK-CREATED-SENTINEL-"
SECRET_KEYS = ("runnerTokens", "gitlabToken")


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    parent: str | None
    inputs: dict[str, Any]  # plain values, secrets unwrapped: for assertions only
    redacted_inputs: dict[str, Any]  # secrets replaced by "[secret]": safe to print or export
    custom: bool
    dependencies: list[str] = field(default_factory=list)  # URNs it waits for (EKS tests)
    replace_on_changes: list[str] = field(default_factory=list)  # input paths that replace it
    # Resource options that change what replacements and destroy do.
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    import_id: str = ""


@dataclass
class Plan:
    resources: list[RecordedResource]
    outputs: dict[str, Any]  # plain values
    redacted_outputs: dict[str, Any]
    rendered_files: dict[str, str]  # runner config files (config.toml, fargate.toml, values)
    warnings: list[str] = field(default_factory=list)

    def all(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.all(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.all(type_)]
            raise AssertionError(f"expected one {type_} named {name!r}, found {names}")
        return found[0]

    def named(self, name: str) -> RecordedResource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name!r}, found {len(found)}")
        return found[0]

    def children_of(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]


def _redact(value: Any) -> Any:
    """Turn a raw protobuf-JSON property value into plain JSON with secrets redacted."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return REDACTED
        if value.get(SECRET_SIG_KEY) == RESOURCE_REF_SIG:
            return {"resourceRef": value.get("urn")}
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _arn(service: str, resource: str, region: str) -> str:
    return f"arn:aws:{service}:{region}:{MOCK_ACCOUNT}:{resource}"


_DIRECTIONS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c"}
_COMPASS = re.compile("|".join(_DIRECTIONS))


def zone_id_prefix(region: str) -> str:
    """AWS's short region code in zone ids: eu-west-1 -> euw1, ap-southeast-2 -> apse2."""
    parts = region.split("-")
    middle = "".join(
        "".join(_DIRECTIONS[w] for w in _COMPASS.findall(part)) or part[:1] for part in parts[1:-1]
    )
    return f"{parts[0]}{middle}{parts[-1]}"


def created_token(name: str) -> str:
    """The token a mocked UserRunner returns; `name` is its resource name."""
    return f"{CREATED_TOKEN_PREFIX}{name}"


def _secret(value: Any) -> dict[str, Any]:
    """A value the SDK deserialises as a secret, as a real provider marks the runner token."""
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def _bucket_state(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}mock"
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}


def _state_for(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Outputs a real provider would compute, invented so the program's applies can run."""
    module = type_.split(":")[1].split("/")[0] if ":" in type_ else ""
    state = dict(inputs)
    state.setdefault("arn", _arn(module or "mock", f"{name}", region))
    state.setdefault("name", inputs.get("name", name))
    extra = STATE_BY_TYPE.get(type_)
    if extra is not None:
        state.update(extra(name, inputs, region))
    return state


# EKS: pulumi-eks' Cluster is one remote component under mocks; invent its top-level outputs.
def _eks_cluster_state(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    cluster = inputs.get("name", name)
    issuer = f"oidc.eks.{region}.amazonaws.com/id/MOCK0000000000000000000000000000"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kubernetes",
                "cluster": {
                    "server": f"https://MOCK.gr7.{region}.eks.amazonaws.com",
                    "certificate-authority-data": "bW9jay1jYQ==",
                },
            }
        ],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster],
                    }
                },
            }
        ],
    }
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "clusterSecurityGroupId": "sg-0mockeksclustersg",
        "oidcIssuer": issuer,
        "oidcProviderUrl": f"https://{issuer}",
        "oidcProviderArn": f"arn:aws:iam::{MOCK_ACCOUNT}:oidc-provider/{issuer}",
    }


StateFor = Callable[[str, dict[str, Any], str], dict[str, Any]]
STATE_BY_TYPE: dict[str, StateFor] = {
    "aws:iam/role:Role": lambda name, i, region: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/{i.get('name', name)}",
        "name": i.get("name", name),
    },
    "aws:iam/policy:Policy": lambda name, i, region: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:policy/{i.get('name', name)}"
    },
    "aws:iam/instanceProfile:InstanceProfile": lambda name, i, region: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:instance-profile/{name}"
    },
    "aws:ecs/cluster:Cluster": lambda name, i, region: {
        "arn": _arn("ecs", f"cluster/{i.get('name', name)}", region)
    },
    "aws:ecs/taskDefinition:TaskDefinition": lambda name, i, region: {
        "arn": _arn("ecs", f"task-definition/{i.get('family', name)}:1", region),
        "revision": 1,
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda name, i, region: {
        "arn": _arn("logs", f"log-group:{i.get('name', name)}", region)
    },
    "aws:secretsmanager/secret:Secret": lambda name, i, region: {
        "arn": _arn("secretsmanager", f"secret:{i.get('name', name)}-AbCdEf", region)
    },
    "aws:sqs/queue:Queue": lambda name, i, region: {
        "arn": _arn("sqs", i.get("name", name), region),
        "url": f"https://sqs.{region}.amazonaws.com/{MOCK_ACCOUNT}/{i.get('name', name)}",
    },
    "aws:ec2/vpc:Vpc": lambda name, i, region: {"cidrBlock": i.get("cidrBlock", "10.0.0.0/16")},
    # EKS
    "eks:index:Cluster": _eks_cluster_state,
    "aws:eks/fargateProfile:FargateProfile": lambda name, i, region: {
        "arn": _arn(
            "eks", f"fargateprofile/{i.get('clusterName')}/{i.get('fargateProfileName')}/m", region
        )
    },
    # S3 (the build cache)
    "aws:s3/bucket:Bucket": _bucket_state,
    # GitLab: UserRunner's token is a secret output in the real provider too.
    "gitlab:index/userRunner:UserRunner": lambda name, i, region: {
        "token": _secret(created_token(name))
    },
    "aws:secretsmanager/secretVersion:SecretVersion": lambda name, i, region: {
        "versionId": f"{name}-mock-version"
    },
    # ECS
    "aws:autoscaling/group:Group": lambda name, i, region: {
        "arn": _arn(
            "autoscaling",
            f"autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/{name}",
            region,
        )
    },
    "aws:lambda/function:Function": lambda name, i, region: {
        "arn": _arn("lambda", f"function:{name}", region)
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda name, i, region: {
        "arn": _arn("ec2", f"launch-template/lt-{name}", region),
        "latestVersion": 1,
    },
}


# AWS defaults of a new account: Fargate 6 vCPU, EC2 standard 5 vCPU (so preflight speaks up).
MOCK_QUOTAS = {"L-3032A538": 6.0, "L-36FBB829": 6.0, "L-1216C47A": 5.0, "L-34B43A08": 5.0}
MOCK_SUBNET_FREE_IPS = 251  # a /24 with nothing in it


def _service_quota(args: dict[str, Any], region: str) -> dict[str, Any]:
    code = args.get("quotaCode")
    if code not in MOCK_QUOTAS:
        raise NotImplementedError(f"offline evaluation has no value for quota {code}")
    return {
        "quotaCode": code,
        "serviceCode": args.get("serviceCode"),
        "value": MOCK_QUOTAS[code],
        "defaultValue": MOCK_QUOTAS[code],
        "adjustable": True,
        "globalQuota": False,
        "id": f"{args.get('serviceCode')}/{code}",
    }


def _subnet(args: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "id": args.get("id"),
        "availableIpAddressCount": MOCK_SUBNET_FREE_IPS,
        "cidrBlock": "10.0.0.0/24",
        "availabilityZone": f"{region}a",
        "vpcId": "vpc-0mock",
    }


INVOKES_BY_TOKEN: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:servicequotas/getServiceQuota:getServiceQuota": _service_quota,
    "aws:ec2/getSubnet:getSubnet": _subnet,
    # A fresh account: no EC2 Spot service-linked role yet (tests swap in an existing one).
    "aws:iam/getRoles:getRoles": lambda args, region: {"arns": [], "names": [], "id": "mock"},
    "aws:iam/getRole:getRole": lambda args, region: {
        "name": args.get("name"),
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/{args.get('name')}",
        "tags": {},
        "id": args.get("name"),
    },
}


def _invoke_result(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    if token in INVOKES_BY_TOKEN:
        return INVOKES_BY_TOKEN[token](args, region)
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        zones = [f"{region}{s}" for s in "abcdef"]
        ids = [f"{zone_id_prefix(region)}-az{i}" for i in range(1, 7)]
        return {"names": zones, "zoneIds": ids, "id": region}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": MOCK_ACCOUNT,
            "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/mock",
            "userId": "AIDAMOCK",
            "id": MOCK_ACCOUNT,
        }
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if token == "aws:ssm/getParameter:getParameter":
        return {"name": args.get("name"), "value": "ami-0mock0000000000000", "type": "String"}
    if token == "aws:ec2/getVpc:getVpc":
        return {
            "id": args.get("id"),
            "cidrBlock": "10.0.0.0/16",
            "arn": _arn("ec2", "vpc/mock", region),
        }
    if token == "aws:iam/getPolicyDocument:getPolicyDocument":
        return {"json": json.dumps({"Version": "2012-10-17", "Statement": []}), "id": "mock"}
    raise NotImplementedError(f"offline evaluation has no answer for invoke {token}")


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with placeholder values in one region."""

    def __init__(self, region: str) -> None:
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-mock-id", _state_for(args.typ, args.name, args.inputs, self.region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return _invoke_result(args.token, args.args, self.region)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps each registration's parent and secret markers."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToDict(request.object)
            self.recorded.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent or None,
                    inputs=_sync_await(_deserialize(request.object)),
                    redacted_inputs=_redact(raw),
                    custom=bool(request.custom),
                    dependencies=list(request.dependencies),
                    replace_on_changes=list(request.replaceOnChanges),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    retain_on_delete=bool(request.retainOnDelete),
                    import_id=request.importId,
                )
            )
        return response


def _unwrap_secrets(value: Any) -> Any:
    """Plain values for assertions: Pulumi keeps nested secrets in a signed wrapper."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return _unwrap_secrets(value["value"])
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


async def _deserialize(struct: Any) -> dict[str, Any]:
    from pulumi.runtime import rpc

    return _unwrap_secrets(rpc.deserialize_properties(struct))


def _config_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def record(
    build: Callable[[Callable[[str], None]], StackResult],
    config: Mapping[str, Any],
    stack: str = "dev",
    secret_keys: tuple[str, ...] = SECRET_KEYS,
    extra_config: Mapping[str, str] | None = None,
) -> Plan:
    """Run `build(warn)` under fresh mocks with the given project config and record it all.

    `extra_config` holds other namespaces' keys; its `aws:region` (default DEFAULT_REGION) is
    the region every invented ARN, zone and endpoint uses."""
    all_config = {f"{PROJECT}:{k}": _config_value(v) for k, v in config.items()}
    all_config["aws:region"] = DEFAULT_REGION
    all_config.update(extra_config or {})
    mocks = RecordingMocks(all_config["aws:region"])
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(
        all_config, secret_keys=[f"{PROJECT}:{k}" for k in secret_keys if k in config]
    )
    plain: dict[str, Any] = {}
    redacted: dict[str, Any] = {}
    files: dict[str, str] = {}
    warnings: list[str] = []

    def program() -> None:
        result = build(warnings.append)
        outputs = {k: pulumi.Output.from_input(v) for k, v in result.outputs.items()}
        rendered = dict(result.rendered_files)

        async def resolve_all() -> None:
            # One wait for everything: pumping the event loop once per value is what made an
            # evaluation slow.
            every = [*outputs.values(), *rendered.values()]
            values = await asyncio.gather(*(o.future() for o in every))
            secret = await asyncio.gather(*(o.is_secret() for o in every))
            for key, value, hidden in zip(outputs, values, secret, strict=False):
                plain[key] = value
                redacted[key] = REDACTED if hidden else value
            tail = zip(rendered, values[len(outputs) :], secret[len(outputs) :], strict=True)
            for path, value, hidden in tail:
                files[path] = REDACTED if hidden else value

        _sync_await(resolve_all())

    _sync_await(run_pulumi_func(program))
    return Plan(
        resources=list(monitor.recorded),
        outputs=plain,
        redacted_outputs=redacted,
        rendered_files=files,
        warnings=warnings,
    )


def evaluate(
    config: Mapping[str, Any],
    stack: str = "dev",
    secret_keys: tuple[str, ...] = SECRET_KEYS,
    extra_config: Mapping[str, str] | None = None,
) -> Plan:
    """Run the whole program for a config dict (project keys without prefix) and record it."""
    from components.config import load_stack_config
    from components.topology import build_stack

    return record(
        lambda warn: build_stack(load_stack_config(warn=warn), warn=warn),
        config,
        stack=stack,
        secret_keys=secret_keys,
        extra_config=extra_config,
    )
