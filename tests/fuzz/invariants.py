"""What must hold for every plan the offline plan accepts, whatever the configuration: names AWS
and Kubernetes accept, IAM documents within IAM's limits, distinct subnets, rendered files
that parse, no runner token outside secrets. Each check returns the violations it found."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import subprocess
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import yaml

from components.offline.mocks import Plan

# Pulumi auto-names a resource without an explicit name "<logical name>-<7 random chars>".
AUTONAME_SUFFIX = 8
IAM_NAME = r"[\w+=,.@-]+"
# type token -> (name input, longest name, allowed characters), from the AWS API references
# (CreateRole RoleName 64, CreatePolicy 128, CreateInstanceProfile 128, CreateFunction 64,
# CreateQueue 80, PutRule 64, CreateSecurityGroup 255, CreateLaunchTemplate 128,
# CreateAutoScalingGroup 255, CreateSecret 512, CreateLogGroup 512, CreateCluster 255,
# RegisterTaskDefinition family 255, CreateSchedule 64, EKS CreateCluster 100,
# CreateFargateProfile 100, PutLifecycleHook 255).
AWS_NAMES: dict[str, tuple[str, int, str]] = {
    "aws:iam/role:Role": ("name", 64, IAM_NAME),
    "aws:iam/policy:Policy": ("name", 128, IAM_NAME),
    "aws:iam/instanceProfile:InstanceProfile": ("name", 128, IAM_NAME),
    "aws:lambda/function:Function": ("name", 64, r"[a-zA-Z0-9_-]+"),
    "aws:sqs/queue:Queue": ("name", 80, r"[a-zA-Z0-9_-]+"),
    "aws:cloudwatch/eventRule:EventRule": ("name", 64, r"[.\-_A-Za-z0-9]+"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", 255, r"[ -~]+"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", 128, r"[a-zA-Z0-9().\-/_]+"),
    "aws:autoscaling/group:Group": ("name", 255, r"[ -~]+"),
    "aws:secretsmanager/secret:Secret": ("name", 512, r"[A-Za-z0-9/_+=.@-]+"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", 512, r"[.\-_/#A-Za-z0-9]+"),
    "aws:ecs/cluster:Cluster": ("name", 255, r"[a-zA-Z0-9_-]+"),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", 255, r"[a-zA-Z0-9_-]+"),
    "aws:scheduler/schedule:Schedule": ("name", 64, r"[0-9a-zA-Z_.-]+"),
    "eks:index:Cluster": ("name", 100, r"[0-9A-Za-z][A-Za-z0-9_-]*"),
    "aws:eks/fargateProfile:FargateProfile": ("fargateProfileName", 100, r"[0-9A-Za-z][\w-]*"),
    "aws:autoscaling/lifecycleHook:LifecycleHook": ("name", 255, r"[A-Za-z0-9\-_/]+"),
}
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
HELM_RELEASE_MAX = 53  # helm: release names are DNS labels of at most 53 characters
INLINE_POLICIES_MAX = 10_240  # IAM: a role's inline policies together, whitespace not counted
MANAGED_POLICY_MAX = 6_144
TRUST_POLICY_MAX = 2_048  # IAM's default quota for a role trust policy
SUBNET_KEYS = re.compile(r"subnet|vpcZoneIdentifier", re.IGNORECASE)


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def name_violations(plan: Plan) -> list[str]:
    found = []
    for r in plan.resources:
        if r.type in AWS_NAMES:
            field, longest, chars = AWS_NAMES[r.type]
            name = r.inputs.get(field)
            prefix = r.inputs.get("namePrefix")
            given = name if isinstance(name, str) else prefix
            length = len(given) if isinstance(given, str) else len(r.name) + AUTONAME_SUFFIX
            if isinstance(name, str) and not name:
                found.append(f"{r.name}: empty {field}")
            if length > longest + (AUTONAME_SUFFIX if isinstance(prefix, str) and not name else 0):
                found.append(f"{r.name}: {r.type} name of {length} characters > {longest}")
            if isinstance(given, str) and given and not re.fullmatch(chars, given):
                found.append(f"{r.name}: {field} {given!r} has characters {r.type} refuses")
        if r.type.startswith("kubernetes:") and isinstance(r.inputs.get("metadata"), dict):
            found += _k8s_metadata(r.name, r.type, r.inputs["metadata"])
        if r.type == "kubernetes:helm.sh/v3:Release":
            name, namespace = r.inputs.get("name", ""), r.inputs.get("namespace", "")
            if len(name) > HELM_RELEASE_MAX or not DNS_LABEL.fullmatch(name):
                found.append(f"{r.name}: Helm release name {name!r}")
            if namespace and not (len(namespace) <= 63 and DNS_LABEL.fullmatch(namespace)):
                found.append(f"{r.name}: Helm release namespace {namespace!r}")
    return found


def _k8s_metadata(name: str, type_: str, metadata: dict[str, Any]) -> list[str]:
    found = []
    object_name = metadata.get("name")
    label = type_ == "kubernetes:core/v1:Namespace"
    pattern, longest = (DNS_LABEL, 63) if label else (DNS_SUBDOMAIN, 253)
    if isinstance(object_name, str) and not (
        len(object_name) <= longest and pattern.fullmatch(object_name)
    ):
        found.append(f"{name}: metadata.name {object_name!r} is not a DNS-1123 name")
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and not (len(namespace) <= 63 and DNS_LABEL.fullmatch(namespace)):
        found.append(f"{name}: metadata.namespace {namespace!r}")
    for key, value in (metadata.get("labels") or {}).items():
        if isinstance(value, str) and not (len(value) <= 63 and LABEL_VALUE.fullmatch(value)):
            found.append(f"{name}: label {key}={value!r}")
    return found


def _size(document: Any) -> int:
    text = document if isinstance(document, str) else json.dumps(document)
    return len(re.sub(r"\s", "", text))


def iam_violations(plan: Plan) -> list[str]:
    found = []
    inline: dict[str, int] = defaultdict(int)
    for r in plan.all("aws:iam/rolePolicy:RolePolicy"):
        inline[str(r.inputs.get("role"))] += _size(r.inputs.get("policy", ""))
    for r in plan.all("aws:iam/role:Role"):
        for policy in r.inputs.get("inlinePolicies") or []:
            inline[r.name] += _size(policy.get("policy", ""))
        if _size(r.inputs.get("assumeRolePolicy", "")) > TRUST_POLICY_MAX:
            found.append(f"{r.name}: trust policy over {TRUST_POLICY_MAX} characters")
    found += [
        f"role {role}: inline policies total {size} characters > {INLINE_POLICIES_MAX}"
        for role, size in inline.items()
        if size > INLINE_POLICIES_MAX
    ]
    for r in plan.all("aws:iam/policy:Policy"):
        if _size(r.inputs.get("policy", "")) > MANAGED_POLICY_MAX:
            found.append(f"{r.name}: managed policy over {MANAGED_POLICY_MAX} characters")
    return found


def subnet_violations(plan: Plan) -> list[str]:
    found = []
    blocks = [
        ipaddress.ip_network(r.inputs["cidrBlock"]) for r in plan.all("aws:ec2/subnet:Subnet")
    ]
    for i, a in enumerate(blocks):
        found += [f"subnets {a} and {b} overlap" for b in blocks[i + 1 :] if a.overlaps(b)]
    for r in plan.resources:
        for path, value in _walk(r.inputs):
            key = path.rsplit(".", 1)[-1]
            if isinstance(value, list) and SUBNET_KEYS.search(key) and value:
                items = [json.dumps(v, sort_keys=True) for v in value]
                if len(set(items)) != len(items):
                    found.append(f"{r.name}{path}: the same subnet twice: {value}")
    return found


def rendered_file_violations(plan: Plan) -> list[str]:
    """Every rendered file parses as what its name says (a shell script: `bash -n`)."""
    found = []
    for path, text in plan.rendered_files.items():
        suffix = PurePosixPath(path).suffix
        try:
            if suffix == ".toml":
                tomllib.loads(text)
            elif suffix in (".yaml", ".yml"):
                yaml.safe_load(text)
            elif suffix == ".json":
                json.loads(text)
            elif text.startswith("#!/bin/bash"):
                check = subprocess.run(
                    ["bash", "-n"], input=text, capture_output=True, text=True, check=False
                )
                if check.returncode:
                    found.append(f"{path}: bash -n: {check.stderr.strip()}")
            else:
                found.append(f"{path}: no parser for it")
        except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as error:
            found.append(f"{path}: does not parse: {error}")
    return found


def leak_violations(plan: Plan, marker: str) -> list[str]:
    """`marker` (a token sentinel) only where Pulumi keeps it secret: not in any redacted
    input or output, nor base64-hidden in a plain input such as user data."""
    found = []
    for r in plan.resources:
        if marker in json.dumps(r.redacted_inputs, default=str):
            found.append(f"{r.name}: a token in a plain input")
        for _, value in _walk(r.redacted_inputs):
            if isinstance(value, str) and len(value) > 64:
                try:
                    decoded = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    continue
                if marker.encode() in decoded:
                    found.append(f"{r.name}: a token base64-encoded in a plain input")
    if marker in json.dumps(plan.redacted_outputs, default=str):
        found.append("a token in a plain stack output")
    if marker in json.dumps(plan.rendered_files):
        found.append("a token in a plain rendered file")
    return found


def violations(plan: Plan, marker: str) -> list[str]:
    return [
        *name_violations(plan),
        *iam_violations(plan),
        *subnet_violations(plan),
        *rendered_file_violations(plan),
        *leak_violations(plan, marker),
    ]
