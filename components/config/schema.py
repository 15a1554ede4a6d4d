"""Every configuration key, declared once: type, default, bounds, fix hint and the modes that
read it. Parsing, the unknown-key check, `Pulumi.yaml` and docs/configuration.md derive from
these tables, so a new key is one edit in the table of its area (plus its typed field in
components/config/model.py, which a test keeps in step). Key/Section and the shared value
checks are in keys.py; the areas are schema_ecs.py, schema_eks.py, schema_gitlab.py and
schema_images.py; the runners, the network and the top level are here."""

from __future__ import annotations

from components.config.egress import NO_PROXY_RULE, check_no_proxy_entry
from components.config.keys import (
    ECS,
    EKS,
    MODES,
    NAME_PATTERN,
    Key,
    Section,
)
from components.config.schema_ecs import (
    DEFAULT_DRIVER_VERSION,
    DEFAULT_MANAGER_AMI_PARAMETER,
    ECS_SECTION,
    TASK_DEFINITION,
)
from components.config.schema_eks import EKS_SECTION
from components.config.schema_gitlab import CACHE_SECTION, GITLAB_SECTION
from components.config.schema_images import IMAGES, PREFLIGHT
from components.config.schema_observability import ALERTS, OBSERVABILITY
from components.domain import fleet_rules, lane_rules
from components.domain.grammar import (
    check_cidr,
    check_subnet_id,
    check_vpc_id,
)
from components.domain.section_rules import CLUSTER_LOG_TYPES, RUNNER_RULES
from components.domain.trust_rules import PROXY_RULE, check_proxy_url
from components.domain.url_rules import check_gitlab_url, redact_url

LANES = fleet_rules.LANES
ECS_LANES = fleet_rules.ECS_LANES
NODE_ARCHITECTURES = lane_rules.NODE_ARCHITECTURES
LOG_RETENTION_DAYS = fleet_rules.LOG_RETENTION_DAYS
RUNNER_TOKEN_PREFIX = "glrt-"
CIDR_RULE = "an IPv4 block with its prefix length and no host bits, e.g. 10.42.0.0/16"
SUBNET_RULE = "distinct subnet- ids, each 8 or 17 lowercase hex digits"


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
            "concurrency",
            "integer",
            10,
            "Jobs this runner runs at once.",
            minimum=1,
            maximum=fleet_rules.MAX_RUNNER_CONCURRENCY,
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
            minimum=fleet_rules.REQUEST_CONCURRENCY[0],
            maximum=fleet_rules.REQUEST_CONCURRENCY[1],
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
        Key(
            "architecture",
            "choice",
            "amd64",
            "CPU architecture of the job pods' nodes: amd64, or arm64 (Graviton nodes; EC2 lanes "
            "spot and privileged only, EKS Fargate runs x86_64 only).",
            modes=EKS,
            choices=NODE_ARCHITECTURES,
        ),
        Key(
            "cpu",
            "integer",
            1024,
            "Job pod CPU units (1024 = 1 vCPU); privileged lane: with one `services:` container.",
            modes=EKS,
            minimum=fleet_rules.EKS_POD_MIN_CPU,
        ),
        Key(
            "memory",
            "integer",
            2048,
            "Job pod memory in MiB; privileged lane: with one `services:` container.",
            modes=EKS,
            minimum=fleet_rules.EKS_POD_MIN_MEMORY,
        ),
        Key(
            "warmJobs",
            "integer",
            0,
            "Jobs whose room is kept on running EC2 nodes (gitlab-runner pause pods, runner "
            "18.11+); spot and privileged lanes only (docs/scaling.md, Warm jobs on EC2 lanes).",
            modes=EKS,
            **RUNNER_RULES["warmJobs"].key_args(),
        ),
        Key(
            "warmPeriods",
            "strings",
            (),
            "When the warm capacity is kept: cron expressions (minute hour day month weekday), "
            'e.g. "* 8-17 * * mon-fri"; outside them none is kept.',
            modes=EKS,
            rule="five-field cron expressions",
            default_doc="always",
            **RUNNER_RULES["warmPeriods"].key_args(),
        ),
        Key(
            "warmTimezone",
            "string",
            "UTC",
            "IANA time zone the warmPeriods are read in, e.g. Europe/Berlin.",
            modes=EKS,
            rule="an IANA time zone name",
            **RUNNER_RULES["warmTimezone"].key_args(),
        ),
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
            rule=CIDR_RULE,
        ),
        Key(
            "availabilityZones",
            "integer",
            2,
            "Availability zones of a new VPC (at most as many as the region has: 2 in us-west-1 "
            "and cn-north-1, 6 in us-east-1).",
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
            check=check_vpc_id,
            rule="vpc- and 8 or 17 lowercase hex digits",
        ),
        Key(
            "privateSubnetIds",
            "strings",
            (),
            "Private subnets of the existing VPC (EKS needs two AZs).",
            check=check_subnet_id,
            unique=True,
            rule=SUBNET_RULE,
        ),
        Key(
            "publicSubnetIds",
            "strings",
            (),
            "Public subnets of the existing VPC.",
            check=check_subnet_id,
            unique=True,
            rule=SUBNET_RULE,
        ),
        Key(
            "httpProxy",
            "string",
            None,
            "HTTP(S) proxy for everything that leaves the VPC: runner managers, the Fargate "
            "driver, the CloudWatch agent, boot downloads, helpers and jobs (HTTP_PROXY, "
            "HTTPS_PROXY and NO_PROXY, both cases).",
            check=check_proxy_url,
            shown=redact_url,
            rule=PROXY_RULE,
        ),
        Key(
            "noProxy",
            "strings",
            (),
            "More destinations that bypass network.httpProxy. Always bypassed: localhost, "
            "127.0.0.1, .amazonaws.com, 169.254.169.254 (EC2 metadata), 169.254.170.2 (ECS "
            "task credentials), a new VPC's CIDR; in eks mode also .svc, .cluster.local and "
            "EKS's default service ranges 10.100.0.0/16 and 172.20.0.0/16.",
            check=check_no_proxy_entry,
            unique=True,
            rule=NO_PROXY_RULE,
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

TOP = Section(
    "",
    "Top-level keys (`pulumi config set KEY VALUE`). At every level a blank or null value is "
    "refused (delete the key to get its default), and the stack file is read as the Pulumi CLI "
    "reads it (YAML 1.2: a repeated key is refused; yes/no/on/off are text, not booleans; "
    "unquoted 1.30 is the number 1.3, 010 the octal number 8, 2024-05-01 a date): quote text "
    "that looks like a number or a date.",
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
            "switchFrom",
            "choice",
            None,
            "The topology a switch of `mode` is leaving: kept, its managers scaled to zero, so "
            "they take no new job and finish the running ones; delete the key once they have "
            "(after the job timeout) and `pulumi up` removes it (README: Switching topology).",
            choices=MODES,
        ),
        Key(
            "gitlabUrl",
            "string",
            "https://gitlab.com",
            "HTTPS URL of the GitLab instance the runners serve.",
            check=check_gitlab_url,
            shown=redact_url,
            rule="https://host[:port][/relative-root]: no user or password, query, fragment or "
            "surrounding spaces",
        ),
        Key(
            "logRetentionDays",
            "integer",
            30,
            "CloudWatch Logs retention in days for job, manager and Fargate pod logs (0: keep "
            "them forever).",
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
        Key(
            "observability",
            "object",
            None,
            "Metrics, dashboard and alarms (see observability below).",
        ),
        Key("alerts", "object", None, "Alarm notifications and thresholds (see alerts below)."),
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
    OBSERVABILITY,
    ALERTS,
)

__all__ = [
    "ALERTS",
    "CACHE_SECTION",
    "CLUSTER_LOG_TYPES",
    "DEFAULT_DRIVER_VERSION",
    "DEFAULT_MANAGER_AMI_PARAMETER",
    "ECS_LANES",
    "ECS_SECTION",
    "EKS_SECTION",
    "GITLAB_SECTION",
    "IMAGES",
    "LANES",
    "LOG_RETENTION_DAYS",
    "MODES",
    "NAME_PATTERN",
    "NETWORK",
    "OBSERVABILITY",
    "PREFLIGHT",
    "RUNNER",
    "RUNNER_TOKEN_PREFIX",
    "SECTIONS",
    "TASK_DEFINITION",
    "TOP",
    "Key",
    "Section",
]
