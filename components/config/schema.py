"""Every configuration key, declared once: type, default, bounds, fix hint and the modes that
read it. Parsing, the unknown-key check, `Pulumi.yaml` and docs/configuration.md derive from
these tables, so a new key is one edit here (plus its typed field in components/config/model.py,
which a test keeps in step). Key/Section are in keys.py; images/preflight in schema_scale.py."""

from __future__ import annotations

from components.config.keys import (
    MODES,
    Key,
    Section,
    check_arn,
    check_cidr,
    check_https_url,
    check_instance_category,
    check_subnet_id,
    one_of,
)
from components.config.schema_scale import IMAGES, PREFLIGHT

ECS: tuple[str, ...] = ("ecs",)
EKS: tuple[str, ...] = ("eks",)
LANES = ("fargate", "spot", "privileged")
ECS_LANES = ("fargate", "spot")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
RUNNER_TOKEN_PREFIX = "glrt-"
NAME_PATTERN = r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?"
VERSION = r"\d+\.\d+\.\d+"
IMAGE = r"\S+"
IMAGE_HINT = "an image reference has no spaces"
SHA256 = r"[0-9a-f]{64}"
SHA256_HINT = "use the 64 lowercase hex digits of the file's SHA-256 (sha256sum FILE)"
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


RUNNER = Section(
    "runners[]",
    "One entry per GitLab runner: each gets its own token, tags and capacity.",
    (
        Key(
            "name",
            "string",
            None,
            "Names the runner's namespaces, task families and resources.",
            pattern=NAME_PATTERN,
            hint="use 1-32 lowercase letters, digits or '-', e.g. \"fargate\"",
        ),
        Key(
            "tags",
            "strings",
            (),
            "Job tags this runner is meant for (set on the runner in GitLab).",
            default_doc="[name]",
        ),
        Key(
            "concurrency", "integer", 10, "Jobs this runner runs at once.", minimum=1, maximum=2000
        ),
        Key(
            "lane",
            "choice",
            "fargate",
            "fargate (on-demand), spot (ECS Fargate Spot / EKS EC2 Spot via Karpenter) or "
            "privileged (EKS only: Docker-in-Docker on Karpenter EC2 nodes).",
            choices=LANES,
        ),
        Key(
            "requestConcurrency",
            "integer",
            None,
            "Concurrent job requests to GitLab (gitlab-runner `request_concurrency`).",
            minimum=1,
            maximum=100,
            default_doc="1 in ecs mode; in eks mode 1 per 25 of concurrency, at most 20",
        ),
        Key(
            "taskDefinition",
            "string",
            "",
            "Catalogue entry used when a job sets no FARGATE_TASK_DEFINITION.",
            modes=ECS,
            default_doc="first ecs.taskDefinitions entry",
        ),
        Key("cpu", "integer", 1024, "Job pod CPU units (1024 = 1 vCPU).", modes=EKS, minimum=256),
        Key("memory", "integer", 2048, "Job pod memory in MiB.", modes=EKS, minimum=512),
    ),
)

NETWORK = Section(
    "network",
    "A new VPC (the default) or an existing one (vpcId + subnet ids).",
    (
        Key(
            "vpcCidr",
            "string",
            "10.42.0.0/16",
            "IPv4 block of a new VPC (/16 to /20); fixes the subnet layout (docs/scaling.md).",
            check=check_cidr,
        ),
        Key(
            "availabilityZones",
            "integer",
            2,
            "Availability zones of a new VPC.",
            minimum=2,
            maximum=6,
        ),
        Key(
            "natGateways",
            "choice",
            "single",
            "single (one NAT gateway) or perAz (one per zone).",
            choices=("single", "perAz"),
        ),
        Key(
            "vpcEndpoints",
            "boolean",
            False,
            "Interface endpoints (ECR, logs, STS, Secrets Manager, SSM) and an S3 gateway.",
        ),
        Key(
            "vpcId",
            "string",
            None,
            "Existing VPC to use instead of creating one.",
            pattern=r"vpc-[0-9a-f]+",
            hint="use vpc-... or unset it",
        ),
        Key(
            "privateSubnetIds",
            "strings",
            (),
            "Private subnets of the existing VPC (EKS needs two AZs).",
            check=check_subnet_id,
        ),
        Key(
            "publicSubnetIds",
            "strings",
            (),
            "Public subnets of the existing VPC.",
            check=check_subnet_id,
        ),
    ),
    removed=(
        (
            "publicTaskIps",
            "with EnablePublicIP the Fargate driver SSHes to the task's PUBLIC IP (its "
            "GetContainerIP is called with EnablePublicIP, and no release is known to have a "
            "UsePublicIP switch), which arrives from outside the VPC and which the task security "
            "group does not admit, so every job would fail. Remove the key: job tasks stay in "
            "private subnets and reach the internet through NAT; set network.vpcEndpoints true "
            "(and use ECR pull-through caches) to keep image pulls and AWS traffic off the NAT",
        ),
    ),
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
        Key("environment", "map", None, "Extra environment variables of the job container."),
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

EKS_SECTION = Section(
    "eks",
    "Settings read in eks mode.",
    (
        Key(
            "kubernetesVersion",
            "string",
            # In EKS standard support until 2027-03 (docs/eks-operations.md: upgrades).
            "1.35",
            "EKS Kubernetes minor version (upgrade one minor version at a time).",
            pattern=r"1\.\d{2}",
            hint="use a minor version such as 1.35",
        ),
        Key(
            "karpenterVersion",
            "string",
            "1.14.1",
            "Karpenter chart version.",
            pattern=VERSION,
            hint="use a chart version without 'v', such as 1.14.1",
        ),
        Key(
            "runnerChartVersion",
            "string",
            "0.86.0",
            "gitlab-runner Helm chart version.",
            pattern=VERSION,
            hint="use a gitlab-runner chart version such as 0.86.0",
        ),
        Key(
            "clusterLogTypes",
            "strings",
            ("api", "audit", "authenticator"),
            "Control plane log types sent to CloudWatch.",
            check=one_of(CLUSTER_LOG_TYPES),
        ),
        Key(
            "adminRoleArns",
            "strings",
            (),
            "IAM roles given cluster-admin access entries.",
            check=check_arn,
        ),
        Key(
            "pollTimeoutSeconds",
            "integer",
            600,
            "How long a job waits for its pod to start (`poll_timeout`).",
            minimum=180,
            maximum=3600,
        ),
        Key(
            "checkInterval",
            "integer",
            3,
            "Seconds between each manager's job requests to GitLab.",
            minimum=1,
            maximum=3600,
        ),
        Key(
            "managerPlacement",
            "choice",
            "fargate",
            "Where runner managers run: fargate or ec2 (the Karpenter system pool).",
            choices=("fargate", "ec2"),
        ),
        Key("helperCpu", "integer", 128, "Helper container CPU units.", minimum=64, maximum=1024),
        Key(
            "helperMemory",
            "integer",
            256,
            "Helper container memory in MiB.",
            minimum=128,
            maximum=2048,
        ),
        Key("spotCpuLimit", "integer", 64, "vCPU limit of the spot NodePool.", minimum=1),
        Key(
            "privilegedCpuLimit",
            "integer",
            32,
            "vCPU limit of the privileged NodePool.",
            minimum=1,
        ),
        Key("systemCpuLimit", "integer", 8, "vCPU limit of the system NodePool.", minimum=1),
        Key(
            "instanceCategories",
            "strings",
            ("c", "m", "r"),
            "EC2 instance categories Karpenter may launch.",
            check=check_instance_category,
        ),
        Key(
            "serviceCpu",
            "integer",
            256,
            "CPU units of each `services:` container.",
            minimum=64,
            maximum=4096,
        ),
        Key(
            "serviceMemory",
            "integer",
            512,
            "MiB of each `services:` container.",
            minimum=128,
            maximum=8192,
        ),
        Key(
            "defaultJobImage",
            "string",
            # ECR Public avoids Docker Hub's anonymous pull limit that every pod behind one NAT
            # gateway shares.
            "public.ecr.aws/docker/library/debian:bookworm-slim",
            "Image of jobs that set no `image:`.",
            pattern=IMAGE,
            hint=IMAGE_HINT,
        ),
        Key(
            "endpointAccess",
            "choice",
            "public",
            "Kubernetes API endpoint: public (plus private inside the VPC) or private only "
            "(deploy from inside the VPC).",
            choices=("public", "private"),
        ),
        Key(
            "publicAccessCidrs",
            "strings",
            (),
            "Who may reach the public Kubernetes API endpoint (endpointAccess public only).",
            check=check_cidr,
            default_doc="0.0.0.0/0, warned at preview",
        ),
        Key(
            "nodeAmiAlias",
            "string",
            # A pinned AL2023 EKS AMI release: nodes change only when this is raised on purpose.
            "al2023@v20260930",
            "AMI alias of Karpenter nodes (al2023@vYYYYMMDD, or al2023@latest to follow "
            "every release).",
            pattern=r"al2023@(v\d{8}|latest)",
            hint="use an AL2023 EKS AMI release such as al2023@v20260930",
        ),
        Key(
            "jobTimeoutSeconds",
            "integer",
            3600,
            "Longest job a stopping manager or draining node waits for (keep the runners' "
            "maximum job timeout in GitLab at or below it).",
            minimum=600,
            maximum=86400,
        ),
    ),
    modes=EKS,
)

GITLAB_RUNNER_TYPES = ("instance", "group", "project")
GITLAB_ACCESS_LEVELS = ("not_protected", "ref_protected")

GITLAB_SECTION = Section(
    "gitlab",
    "Runners created in GitLab by the program (opt-in; needs the secret gitlabToken). See "
    "docs/gitlab.md.",
    (
        Key(
            "createRunners",
            "boolean",
            False,
            "Create one runner in GitLab per runners[] entry (tags, timeout) and remove it on "
            "destroy; runnerTokens is then not used.",
        ),
        Key(
            "runnerType",
            "choice",
            None,
            "Scope of the created runners (required with createRunners).",
            choices=GITLAB_RUNNER_TYPES,
        ),
        Key("groupId", "integer", None, "Numeric group id (runnerType group).", minimum=1),
        Key("projectId", "integer", None, "Numeric project id (runnerType project).", minimum=1),
        Key(
            "description",
            "string",
            "",
            "Description prefix of the created runners.",
            default_doc="`<project>/<stack>`",
        ),
        Key("locked", "boolean", False, "Lock project runners to their project."),
        Key("runUntagged", "boolean", False, "Let the runners pick jobs without tags."),
        Key("paused", "boolean", False, "Create the runners paused (no new jobs)."),
        Key(
            "accessLevel",
            "choice",
            "not_protected",
            "ref_protected: run jobs of protected branches and tags only.",
            choices=GITLAB_ACCESS_LEVELS,
        ),
        Key(
            "tokenRotation",
            "integer",
            0,
            "Token generation: change it (e.g. +1) to replace the runners in GitLab and move "
            "the managers onto new tokens.",
            minimum=0,
        ),
    ),
)

CACHE_SECTION = Section(
    "cache",
    "The S3 bucket behind `cache:` in pipelines (distributed runner cache).",
    (
        Key("enabled", "boolean", True, "Create the bucket and point every runner at it."),
        Key(
            "expirationDays",
            "integer",
            14,
            "Days after which cache archives expire.",
            minimum=1,
            maximum=3650,
        ),
    ),
)

TOP = Section(
    "",
    "Top-level keys (`pulumi config set KEY VALUE`).",
    (
        Key(
            "mode",
            "choice",
            "ecs",
            "Topology: ecs (runner manager + AWS Fargate driver) or eks (EKS on Fargate + "
            "Karpenter + Helm).",
            choices=MODES,
        ),
        Key(
            "gitlabUrl",
            "string",
            "https://gitlab.com",
            "HTTPS URL of the GitLab instance the runners serve.",
            check=check_https_url,
        ),
        Key(
            "logRetentionDays",
            "integer",
            30,
            "CloudWatch Logs retention for job, manager and Fargate pod logs.",
            choices=LOG_RETENTION_DAYS,
        ),
        Key(
            "runners",
            "list",
            ({"name": "fargate"},),
            "The runners (see runners[] below).",
        ),
        Key(
            "runnerTokens",
            "secret",
            None,
            "Secret object: runner name -> glrt- token (not with gitlab.createRunners). Set with: "
            "pulumi config set --secret "
            "--path 'runnerTokens.<runner>' glrt-...",
        ),
        Key("gitlab", "object", None, "Runners created in GitLab (see gitlab below)."),
        Key(
            "gitlabToken",
            "secret",
            None,
            "Secret: GitLab access token with the create_runner scope, used with "
            "gitlab.createRunners. Set with: pulumi config set --secret gitlabToken glpat-...",
        ),
        Key("cache", "object", None, "The S3 build cache (see cache below)."),
        Key("network", "object", None, "The network (see network below)."),
        Key("ecs", "object", None, "ecs mode settings (see ecs below)."),
        Key("eks", "object", None, "eks mode settings (see eks below)."),
        Key("images", "object", None, "The image cache (see images below)."),
        Key("preflight", "object", None, "Checks at preview (see preflight below)."),
    ),
)

SECTIONS = (
    TOP,
    RUNNER,
    GITLAB_SECTION,
    CACHE_SECTION,
    NETWORK,
    ECS_SECTION,
    TASK_DEFINITION,
    EKS_SECTION,
    IMAGES,
    PREFLIGHT,
)
