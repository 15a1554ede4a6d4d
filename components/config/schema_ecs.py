"""The keys read in ecs mode: the manager, the driver and the task definition catalogue."""

from __future__ import annotations

from components.config.keys import ECS, NAME_PATTERN, Key, Section
from components.domain import fleet_rules
from components.domain.fleet_rules import (
    EPHEMERAL_STORAGE_GIB,
    MAX_MANAGED_POLICIES_PER_ROLE,
    TASK_ARCHITECTURES,
)
from components.domain.section_rules import (
    DEFAULT_DRIVER_VERSION,
    DEFAULT_MANAGER_AMI_PARAMETER,
    ECS_RULES,
    TASK_RULES,
)
from components.domain.specs import DEFAULT_ECS_JOB_IMAGE

# The per-manager job cap: see components/ecs/sizing.py for the numbers behind both.
DEFAULT_MAX_JOBS_PER_MANAGER = 200
# The catalogue's default entry: the Debian coordinator image of GitLab's Fargate guide.
DEFAULT_JOB_IMAGE = DEFAULT_ECS_JOB_IMAGE


IMAGE_RULE = "an image reference (distribution/reference grammar): lowercase, no empty tag"


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
            rule=IMAGE_RULE,
            **TASK_RULES["image"].key_args(),
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
            rule="arn:<partition>:secretsmanager:<region>:<account>:secret:<name>",
            **TASK_RULES["repositoryCredentialsArn"].key_args(),
        ),
        Key(
            "taskRolePolicyArns",
            "strings",
            (),
            "Managed policies for this entry's task role (what jobs may do in AWS); at most "
            f"{MAX_MANAGED_POLICIES_PER_ROLE} (IAM's quota of policies per role).",
            rule="distinct arn:<partition>:iam::(aws|<account>):policy/... ARNs",
            **TASK_RULES["taskRolePolicyArns"].key_args(),
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
            rule="a released version, 15.10 or later (glrt- tokens); tested: 19.3.0",
            **ECS_RULES["runnerVersion"].key_args(),
        ),
        Key(
            "runnerSha256",
            "string",
            None,
            "SHA-256 of gitlab-runner-linux-amd64 at runnerVersion; unset: checked against the "
            "release's published release.sha256.",
            **ECS_RULES["runnerSha256"].key_args(),
        ),
        Key(
            "driverVersion",
            "string",
            DEFAULT_DRIVER_VERSION,
            "GitLab Fargate driver release (v0.5.1 or later).",
            **ECS_RULES["driverVersion"].key_args(),
        ),
        Key(
            "driverSha256",
            "string",
            None,
            "SHA-256 of fargate-linux-amd64 at driverVersion; the manager refuses any other "
            "binary. Unset: a release.sha256 next to the binary is used if published, else the "
            "hash is only logged.",
            **ECS_RULES["driverSha256"].key_args(),
        ),
        Key(
            "maxJobsPerManager",
            "integer",
            DEFAULT_MAX_JOBS_PER_MANAGER,
            "Most jobs one runner manager runs; more concurrency adds managers (shards).",
            **ECS_RULES["maxJobsPerManager"].key_args(),
        ),
        Key(
            "managerInstanceType",
            "string",
            None,
            "x86_64 instance type of every runner manager.",
            rule="x86_64 only: no a1 and no Graviton (a g after the generation: t4g, m7g, c6gn)",
            default_doc="sized from each manager's job count (docs/ecs-operations.md)",
            **ECS_RULES["managerInstanceType"].key_args(),
        ),
        Key(
            "managerAmiParameter",
            "string",
            DEFAULT_MANAGER_AMI_PARAMETER,
            "Public SSM parameter of the manager's Amazon Linux 2023 x86_64 AMI.",
            **ECS_RULES["managerAmiParameter"].key_args(),
        ),
        Key(
            "checkInterval",
            "integer",
            3,
            "Seconds between the manager's job requests to GitLab.",
            **ECS_RULES["checkInterval"].key_args(),
        ),
        Key("containerInsights", "boolean", False, "CloudWatch Container Insights on clusters."),
        Key(
            "platformVersion",
            "string",
            "1.4.0",
            "Fargate platform version of job tasks.",
            **ECS_RULES["platformVersion"].key_args(),
        ),
        Key(
            "sshUsername",
            "string",
            "root",
            "User the job image's sshd accepts the driver's key for.",
            **ECS_RULES["sshUsername"].key_args(),
        ),
        Key(
            "jobTimeoutSeconds",
            "integer",
            3600,
            "Longest job (match the runners' maximum timeout in GitLab): how long a leaving "
            "manager drains, and when the reaper stops a task.",
            **ECS_RULES["jobTimeoutSeconds"].key_args(),
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
