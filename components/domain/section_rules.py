"""The single-value rules of the fleets' settings, declared once: each stack key takes its
bounds, choices, pattern, check and uniqueness from here (components/config/schema*.py:
`Key(..., **ECS_RULES[name].key_args())`), and the fleets' args check their EcsSpec,
EksSpec, TaskDefinitionSpec and RunnerSpec fields with the same rules and texts
(fleet_rules.py), so a value the stack file refuses is refused, in the same words, in a
program of your own and by the plugin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from components.domain.grammar import (
    check_cidr,
    check_cron,
    check_helper_image,
    check_image,
    check_policy_arn,
    check_role_arn,
    check_timezone,
    ec2_id_check,
    secret_arn_problem,
)
from components.domain.lane_rules import MAX_POOL_VCPU
from components.domain.manager_sizing import MAX_JOBS_PER_MANAGER_LIMIT
from components.domain.principals import principal_of
from components.domain.specs import KARPENTER_MODES, EksSpec
from components.domain.value_rules import (
    choice_problem,
    one_of,
    pattern_problem,
    range_problem,
    repeated_problems,
)

VERSION = r"\d+\.\d+\.\d+"
SHA256 = r"[0-9a-f]{64}"
SHA256_HINT = "use the 64 lowercase hex digits of the file's SHA-256 (sha256sum FILE)"
DEFAULT_DRIVER_VERSION = "v0.5.1"
DEFAULT_MANAGER_AMI_PARAMETER = (
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
)
# Driver releases up to 0.5.0 build the task-metadata file name from the job token; GitLab's
# JWT job tokens push it past the 255-character limit and every job fails (FACTS section 1,
# gitlab-org/gitlab issue 509578).
MIN_DRIVER_VERSION = (0, 5, 1)
# The instance type grammar: family letters, generation, attribute letters, size.
_INSTANCE_TYPE = re.compile(r"(?P<family>[a-z]+)(?P<gen>\d+)(?P<attrs>[a-z]*)(-flex)?\.[a-z0-9]+")


def check_x86_instance_type(value: str) -> str | None:
    """The manager installs gitlab-runner-linux-amd64 and fargate-linux-amd64: arm64 types
    (a1, and every Graviton family, marked by a g after the generation) cannot run them."""
    match = _INSTANCE_TYPE.fullmatch(value)
    if match is None:
        return None  # the pattern reports it
    if match["family"] == "a" or "g" in match["attrs"]:
        return (
            "is an arm64 (Graviton) instance type, but the manager installs the amd64 "
            "gitlab-runner and Fargate driver binaries; use an x86_64 type of the same size, "
            f"e.g. {_x86_twin(match['family'], match['gen'], match['attrs'], value)}"
        )
    return None


def _x86_twin(family: str, generation: str, attrs: str, value: str) -> str:
    """m7g.large -> m7i.large, c6gn.xlarge -> c6in.xlarge, t4g.small -> t3.small; medium and
    other families -> a general-purpose type that exists in that size."""
    size = value.split(".", 1)[1]
    if family == "t" or size == "medium":
        return f"t3.{size}"
    if family in ("c", "m", "r"):
        return f"{family}{generation}{attrs.replace('g', 'i', 1)}.{size}"
    return f"m6i.{size}"


def check_driver_version(value: str) -> str | None:
    parts = tuple(int(p) for p in value.lstrip("v").split("."))
    if parts >= MIN_DRIVER_VERSION:
        return None
    return (
        "is too old: driver releases 0.5.0 and earlier build the task-metadata file name from "
        "the job token, which passes the 255-character limit once GitLab sends JWT job tokens "
        "(GitLab.com does), so every job fails with 'Error when persisting the task ARN'; use "
        f"{DEFAULT_DRIVER_VERSION} or later"
    )


def check_repository_credentials_arn(value: str) -> str | None:
    """Any Secrets Manager secret: ECS reads it with the execution role at task start."""
    problem = secret_arn_problem(value, "")
    if problem is None:
        return None
    return (
        f"{problem}; use the ARN of a Secrets Manager secret holding "
        '{"username": "...", "password": "..."} (ECS developer guide, "Private registry '
        'authentication for tasks"), e.g. arn:aws:secretsmanager:eu-west-1:123456789012:'
        "secret:registry-AbCdEf"
    )


@dataclass(frozen=True)
class Rule:
    """One setting's single-value rule, in the terms of components/config/keys.py `Key`."""

    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    hint: str = ""
    check: Callable[[str], str | None] | None = None  # after the pattern; each item of a list
    unique: bool = False  # a list whose items must differ

    def key_args(self) -> dict[str, Any]:
        """What the stack key declares: the fields that are set."""
        return {
            f.name: v for f in fields(self) if (v := getattr(self, f.name)) not in (None, (), False)
        }

    def problems(self, path: str, value: object) -> list[str]:
        """Why the value breaks the rule (the stack file's texts); None is unset."""
        if isinstance(value, tuple):
            items = [f"{path}: '{i}' {e}" for i in value if self.check and (e := self.check(i))]
            return items + (repeated_problems(path, list(value)) if self.unique else [])
        problem = self._problem(path, value)
        return [problem] if problem else []

    def _problem(self, path: str, value: object) -> str | None:
        if value is None:
            return None
        if self.choices:
            return choice_problem(path, value, self.choices)
        if isinstance(value, int) and (self.minimum is not None or self.maximum is not None):
            return range_problem(path, value, self.minimum or 0, self.maximum)
        if not isinstance(value, str):
            return None
        if self.pattern and (wrong := pattern_problem(path, value, self.pattern, self.hint)):
            return wrong
        error = self.check(value) if self.check and value else None  # "": the reader's
        return f"{path}: '{value}' {error}" if error else None


ECS_RULES = {
    "runnerVersion": Rule(
        pattern=VERSION, hint="use a release number such as 19.3.0 (no 'v', no 'latest': pin it)"
    ),
    "runnerSha256": Rule(pattern=SHA256, hint=SHA256_HINT),
    "driverVersion": Rule(
        pattern=r"v\d+\.\d+\.\d+",
        hint=f"use a driver tag such as {DEFAULT_DRIVER_VERSION} (pin it; 'latest' changes "
        "under you)",
        check=check_driver_version,
    ),
    "driverSha256": Rule(pattern=SHA256, hint=SHA256_HINT),
    # Above the cap no sized manager type carries a shard (ecs/sizing.py would fail mid-way).
    "maxJobsPerManager": Rule(1, MAX_JOBS_PER_MANAGER_LIMIT),
    "managerInstanceType": Rule(
        pattern=r"[a-z]+\d+[a-z]*(-flex)?\.[a-z0-9]+",
        hint="use an x86_64 EC2 instance type such as t3.small",
        check=check_x86_instance_type,
    ),
    "managerAmiParameter": Rule(
        pattern=r"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-[a-z0-9.-]+-x86_64",
        hint="use an Amazon Linux 2023 x86_64 parameter such as "
        f"{DEFAULT_MANAGER_AMI_PARAMETER} (the user data needs dnf, AWS CLI v2 and python3)",
    ),
    "checkInterval": Rule(1, 3600),
    "platformVersion": Rule(
        pattern=r"LATEST|1\.4\.0",
        hint="use 1.4.0 or LATEST (1.4.0 is the current Linux version)",
    ),
    "sshUsername": Rule(
        pattern=r"[a-z_][a-z0-9_-]*",
        hint="use the user the job image's sshd accepts keys for, e.g. root",
    ),
    # A leaving manager's drain and the reaper's stop.
    "jobTimeoutSeconds": Rule(60, 86400),
}

CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
EKS_RULES = {
    "kubernetesVersion": Rule(pattern=r"1\.\d{2}", hint="use a minor version such as 1.35"),
    "clusterLogTypes": Rule(check=one_of(CLUSTER_LOG_TYPES)),
    "adminRoleArns": Rule(check=check_role_arn, unique=True),
    "karpenterVersion": Rule(
        pattern=VERSION, hint="use a chart version without 'v', such as 1.14.1"
    ),
    "runnerChartVersion": Rule(
        pattern=VERSION, hint="use a gitlab-runner chart version such as 0.92.0"
    ),
    "pollTimeoutSeconds": Rule(180, 3600),
    "checkInterval": Rule(1, 3600),
    "managerPlacement": Rule(choices=("fargate", "ec2")),
    "helperCpu": Rule(64, 1024),
    "helperMemory": Rule(128, 2048),
    "spotCpuLimit": Rule(1, MAX_POOL_VCPU),
    "privilegedCpuLimit": Rule(1, MAX_POOL_VCPU),
    "systemCpuLimit": Rule(1, MAX_POOL_VCPU),
    "serviceCpu": Rule(64, 4096),
    "serviceMemory": Rule(128, 8192),
    "defaultJobImage": Rule(check=check_image),
    "endpointAccess": Rule(choices=("public", "private")),
    "publicAccessCidrs": Rule(check=check_cidr, unique=True),
    # One ingress rule per source, named after it (components/eks/cluster_access.py).
    "privateAccessCidrs": Rule(check=check_cidr, unique=True),
    "privateAccessSecurityGroupIds": Rule(
        check=ec2_id_check("sg", "a security group", "security-groups"), unique=True
    ),
    "nodeAmiAlias": Rule(
        pattern=r"al2023@(v\d{8}|latest)",
        hint="use an AL2023 EKS AMI release such as al2023@v20260930",
    ),
    # At least the 10 minutes a node drain is given.
    "jobTimeoutSeconds": Rule(600, 86400),
    "existingCluster": Rule(
        pattern=r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}",
        hint="use the cluster's name as `aws eks list-clusters` shows it",
    ),
    "karpenter": Rule(choices=KARPENTER_MODES),
}


# images: the EKS job pods' helper (EksFleetSpec.helper_image).
IMAGES_RULES = {"helperImage": Rule(check=check_helper_image)}
# ecs.taskDefinitions[] entries.
TASK_RULES = {
    "image": Rule(check=check_image),
    "repositoryCredentialsArn": Rule(check=check_repository_credentials_arn),
    "taskRolePolicyArns": Rule(check=check_policy_arn, unique=True),
}
# runners[] in eks mode: warm capacity on the EC2 lanes.
RUNNER_RULES = {
    "warmJobs": Rule(maximum=2000),
    "warmPeriods": Rule(check=check_cron),
    "warmTimezone": Rule(check=check_timezone),
}
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def environment_problems(label: str, names: list[str]) -> list[str]:
    """A task definition's extra variables: names a shell takes, and not the driver's own."""
    problems = []
    for key in names:
        if not ENV_NAME_PATTERN.fullmatch(key):
            problems.append(
                f"{label}.environment.{key}: not a valid variable name; use A-Z, 0-9 and _"
            )
        if key == "SSH_PUBLIC_KEY":
            problems.append(
                f"{label}.environment.SSH_PUBLIC_KEY: reserved; the Fargate driver injects it "
                "for every job, remove it"
            )
    return problems


def endpoint_cidrs_problem(eks: EksSpec) -> str | None:
    """A cluster of the fleet's own: public CIDRs need the public endpoint they restrict."""
    if eks.endpoint_access != "private" or not eks.public_access_cidrs:
        return None
    return (
        f"eks.publicAccessCidrs: {list(eks.public_access_cidrs)} cannot be used with "
        "eks.endpointAccess private (there is no public endpoint); remove eks.publicAccessCidrs "
        "or set eks.endpointAccess public"
    )


def admin_principal_problems(eks: EksSpec) -> list[str]:
    """Two ARNs of one role (paths differ, the name does not: the same principal) would be
    two access entries for it, which EKS refuses, and share one resource name."""
    seen: dict[object, int] = {}
    problems = []
    for index, arn in enumerate(eks.admin_role_arns):
        principal = principal_of(arn)
        if principal is None:
            continue
        if principal in seen:
            first = seen[principal]
            problems.append(
                f"eks.adminRoleArns[{index}]: '{arn}' is the role of eks.adminRoleArns[{first}] "
                f"('{eks.admin_role_arns[first]}'): a role's name identifies it in its account "
                f"whatever its path, and EKS allows one access entry per role; keep one of them"
            )
        else:
            seen[principal] = index
    return problems


def _attr(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower().replace("gi_b", "gib")


def section_problems(section: str, spec: object, rules: dict[str, Rule]) -> list[str]:
    """Each field of `spec` (EcsSpec, EksSpec, an entry, a runner) against its key's rule."""
    return [
        p
        for key, rule in rules.items()
        for p in rule.problems(f"{section}.{key}", getattr(spec, _attr(key)))
    ]
