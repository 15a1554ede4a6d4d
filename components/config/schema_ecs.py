"""The keys read in ecs mode: the manager, the driver and the task definition catalogue."""

from __future__ import annotations

import re

from components.config.grammar import check_image, check_policy_arn, secret_arn_problem
from components.config.keys import (
    ECS,
    NAME_PATTERN,
    SHA256,
    SHA256_HINT,
    VERSION,
    Key,
    Section,
)
from components.domain import fleet_rules
from components.domain.fleet_rules import EPHEMERAL_STORAGE_GIB, TASK_ARCHITECTURES
from components.domain.manager_sizing import MAX_JOBS_PER_MANAGER_LIMIT
from components.domain.specs import DEFAULT_ECS_JOB_IMAGE

DEFAULT_DRIVER_VERSION = "v0.5.1"
# Driver releases up to 0.5.0 build the task-metadata file name from the job token; GitLab's
# JWT job tokens push it past the 255-character limit and every job fails (FACTS section 1,
# gitlab-org/gitlab issue 509578).
MIN_DRIVER_VERSION = (0, 5, 1)
# The per-manager job cap: see components/ecs/sizing.py for the numbers behind both.
DEFAULT_MAX_JOBS_PER_MANAGER = 200
DEFAULT_MANAGER_AMI_PARAMETER = (
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
)
# The catalogue's default entry: the Debian coordinator image of GitLab's Fargate guide.
DEFAULT_JOB_IMAGE = DEFAULT_ECS_JOB_IMAGE
# CPU architectures of job tasks; the managers stay x86_64 (their binaries are amd64).


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


# The instance type grammar: family letters, generation, attribute letters, size.
_INSTANCE_TYPE = re.compile(r"(?P<family>[a-z]+)(?P<gen>\d+)(?P<attrs>[a-z]*)(-flex)?\.[a-z0-9]+")
# IAM: managed policies attached to one role (quota L-0DA4ABF3, default 10, at most 20).
MAX_MANAGED_POLICIES_PER_ROLE = 10
IMAGE_RULE = "an image reference (distribution/reference grammar): lowercase, no empty tag"


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


TASK_DEFINITION = Section(
    "ecs.taskDefinitions[]",
    "The catalogue of job task definitions; jobs pick one with FARGATE_TASK_DEFINITION.",
    (
        Key(
            "name",
            "string",
            None,
            "Names the task family.",
            pattern=NAME_PATTERN,
            hint="use 1-32 lowercase letters, digits or '-', e.g. \"debian\"",
        ),
        Key(
            "image",
            "string",
            None,
            "Job image: sshd on port 22 and gitlab-runner inside (see docs/ecs.md).",
            check=check_image,
            rule=IMAGE_RULE,
        ),
        Key(
            "architecture",
            "choice",
            "x86_64",
            "CPU architecture of the task: x86_64, or arm64 (Graviton, about 20% cheaper; the "
            "image must have a linux/arm64 variant).",
            choices=TASK_ARCHITECTURES,
        ),
        Key(
            "cpu",
            "integer",
            1024,
            "Task CPU units (a valid Fargate pair).",
            minimum=fleet_rules.TASK_MIN_CPU,
        ),
        Key("memory", "integer", 2048, "Task memory in MiB.", minimum=fleet_rules.TASK_MIN_MEMORY),
        Key(
            "ephemeralStorageGiB",
            "integer",
            20,
            "Task ephemeral storage in GiB.",
            minimum=EPHEMERAL_STORAGE_GIB[0],
            maximum=EPHEMERAL_STORAGE_GIB[1],
            attr_name="ephemeral_storage_gib",
        ),
        Key(
            "environment",
            "map",
            None,
            "Extra environment variables of the job container; values are text: quote numbers, "
            "booleans and dates.",
        ),
        Key(
            "repositoryCredentialsArn",
            "string",
            None,
            'Secrets Manager secret ({"username": ..., "password": ...}) ECS logs in '
            "to a private registry other than ECR with (ECS repositoryCredentials); the "
            "execution role may read exactly this secret.",
            check=check_repository_credentials_arn,
            rule="arn:<partition>:secretsmanager:<region>:<account>:secret:<name>",
        ),
        Key(
            "taskRolePolicyArns",
            "strings",
            (),
            "Managed policies for this entry's task role (what jobs may do in AWS); at most "
            f"{MAX_MANAGED_POLICIES_PER_ROLE} (IAM's quota of policies per role).",
            check=check_policy_arn,
            unique=True,
            rule="distinct arn:<partition>:iam::(aws|<account>):policy/... ARNs",
        ),
    ),
    modes=ECS,
)

ECS_SECTION = Section(
    "ecs",
    "Settings read in ecs mode.",
    (
        Key(
            "runnerVersion",
            "string",
            "19.3.0",
            "gitlab-runner release on the manager.",
            pattern=VERSION,
            hint=fleet_rules.RUNNER_VERSION_HINT,
            rule="a released version, 15.10 or later (glrt- tokens); tested: 19.3.0",
        ),
        Key(
            "runnerSha256",
            "string",
            None,
            "SHA-256 of gitlab-runner-linux-amd64 at runnerVersion; unset: checked against the "
            "release's published release.sha256.",
            pattern=SHA256,
            hint=SHA256_HINT,
        ),
        Key(
            "driverVersion",
            "string",
            DEFAULT_DRIVER_VERSION,
            "GitLab Fargate driver release (v0.5.1 or later).",
            pattern=r"v\d+\.\d+\.\d+",
            hint=f"use a driver tag such as {DEFAULT_DRIVER_VERSION} (pin it; 'latest' changes "
            "under you)",
            check=check_driver_version,
        ),
        Key(
            "driverSha256",
            "string",
            None,
            "SHA-256 of fargate-linux-amd64 at driverVersion; the manager refuses any other "
            "binary. Unset: a release.sha256 next to the binary is used if published, else the "
            "hash is only logged.",
            pattern=SHA256,
            hint=SHA256_HINT,
        ),
        Key(
            "maxJobsPerManager",
            "integer",
            DEFAULT_MAX_JOBS_PER_MANAGER,
            "Most jobs one runner manager runs; more concurrency adds managers (shards).",
            minimum=1,
            maximum=MAX_JOBS_PER_MANAGER_LIMIT,
        ),
        Key(
            "managerInstanceType",
            "string",
            None,
            "x86_64 instance type of every runner manager.",
            pattern=r"[a-z]+\d+[a-z]*(-flex)?\.[a-z0-9]+",
            hint="use an x86_64 EC2 instance type such as t3.small",
            check=check_x86_instance_type,
            rule="x86_64 only: no a1 and no Graviton (a g after the generation: t4g, m7g, c6gn)",
            default_doc="sized from each manager's job count (docs/ecs-operations.md)",
        ),
        Key(
            "managerAmiParameter",
            "string",
            DEFAULT_MANAGER_AMI_PARAMETER,
            "Public SSM parameter of the manager's Amazon Linux 2023 x86_64 AMI.",
            pattern=r"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-[a-z0-9.-]+-x86_64",
            hint="use an Amazon Linux 2023 x86_64 parameter such as "
            f"{DEFAULT_MANAGER_AMI_PARAMETER} (the user data needs dnf, AWS CLI v2 and python3)",
        ),
        Key(
            "checkInterval",
            "integer",
            3,
            "Seconds between the manager's job requests to GitLab.",
            minimum=1,
            maximum=3600,
        ),
        Key("containerInsights", "boolean", False, "CloudWatch Container Insights on clusters."),
        Key(
            "platformVersion",
            "string",
            "1.4.0",
            "Fargate platform version of job tasks.",
            pattern=r"LATEST|1\.4\.0",
            hint="use 1.4.0 or LATEST (1.4.0 is the current Linux version)",
        ),
        Key(
            "sshUsername",
            "string",
            "root",
            "User the job image's sshd accepts the driver's key for.",
            pattern=r"[a-z_][a-z0-9_-]*",
            hint="use the user the job image's sshd accepts keys for, e.g. root",
        ),
        Key(
            "jobTimeoutSeconds",
            "integer",
            3600,
            "Longest job (match the runners' maximum timeout in GitLab): how long a leaving "
            "manager drains, and when the reaper stops a task.",
            minimum=fleet_rules.ECS_JOB_TIMEOUT[0],
            maximum=fleet_rules.ECS_JOB_TIMEOUT[1],
        ),
        Key(
            "taskDefinitions",
            "list",
            None,
            "The task definition catalogue (see ecs.taskDefinitions[] below).",
            default_doc="one `debian` entry",
        ),
    ),
    modes=ECS,
)
