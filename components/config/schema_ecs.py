"""The keys read in ecs mode: the manager, the driver and the task definition catalogue."""

from __future__ import annotations

from components.config.keys import (
    ECS,
    IMAGE,
    IMAGE_HINT,
    NAME_PATTERN,
    SHA256,
    SHA256_HINT,
    VERSION,
    Key,
    Section,
    check_arn,
)

DEFAULT_DRIVER_VERSION = "v0.5.1"
# Driver releases up to 0.5.0 build the task-metadata file name from the job token; GitLab's
# JWT job tokens push it past the 255-character limit and every job fails (FACTS section 1,
# gitlab-org/gitlab issue 509578).
MIN_DRIVER_VERSION = (0, 5, 1)
# The per-manager job cap: see components/ecs/sizing.py for the numbers behind both.
DEFAULT_MAX_JOBS_PER_MANAGER = 200
MAX_JOBS_PER_MANAGER_LIMIT = 250
DEFAULT_MANAGER_AMI_PARAMETER = (
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
)


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
            pattern=IMAGE,
            hint=IMAGE_HINT,
        ),
        Key("cpu", "integer", 1024, "Task CPU units (a valid Fargate pair).", minimum=256),
        Key("memory", "integer", 2048, "Task memory in MiB.", minimum=512),
        Key(
            "ephemeralStorageGiB",
            "integer",
            20,
            "Task ephemeral storage in GiB.",
            minimum=20,
            maximum=200,
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
            "taskRolePolicyArns",
            "strings",
            (),
            "Managed policies for this entry's task role (what jobs may do in AWS).",
            check=check_arn,
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
            "18.9.0",
            "gitlab-runner release on the manager.",
            pattern=VERSION,
            hint="use a release number such as 18.9.0 (no 'v', no 'latest': pin it)",
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
            pattern=r"[a-z]+\d+[a-fh-z]*(-flex)?\.[a-z0-9]+",
            hint="use an x86_64 EC2 instance type such as t3.small (the runner and driver "
            "binaries are amd64, so Graviton types such as t4g are not supported)",
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
            minimum=60,
            maximum=86400,
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
