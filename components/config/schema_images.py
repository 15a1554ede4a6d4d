"""Configuration keys for running at scale: the ECR pull-through image cache and the preflight
checks run at preview (see docs/scaling.md)."""

from __future__ import annotations

from components.config.keys import Key, Section
from components.domain.grammar import secret_arn_problem
from components.domain.section_rules import IMAGES_RULES

CREDENTIAL_SECRET_PREFIX = "ecr-pullthroughcache/"
# ECR repository prefixes are 2-30 characters; the longest upstream part is "/docker-hub".
REPOSITORY_PREFIX_PATTERN = r"(?=.{2,19}$)[a-z0-9]+(?:[._-][a-z0-9]+)*"


def check_credential_arn(value: str) -> str | None:
    """ECR reads upstream credentials only from secrets named ecr-pullthroughcache/... (the
    region is checked against the stack's in feasibility.py, which knows it)."""
    problem = secret_arn_problem(value, CREDENTIAL_SECRET_PREFIX)
    if problem is None:
        return None
    return (
        f"{problem}: it must be the ARN of a Secrets Manager secret named "
        f"'{CREDENTIAL_SECRET_PREFIX}...' (ECR pull-through cache reads credentials only from "
        f"such secrets); create one with: aws secretsmanager create-secret --name "
        f"{CREDENTIAL_SECRET_PREFIX}<registry> --secret-string "
        '\'{"username":"...","accessToken":"..."}\' and set its ARN'
    )


IMAGES = Section(
    "images",
    "ECR pull-through cache: job and helper images come from this account's ECR instead of "
    "public registries behind one NAT address (see docs/scaling.md).",
    (
        Key(
            "pullThroughCache",
            "boolean",
            True,
            "Create the cache rules (ECR Public always; Docker Hub and GitLab with credentials) "
            "and point the default job and helper images at them.",
        ),
        Key(
            "repositoryPrefix",
            "string",
            None,
            "Namespace of the cached repositories in ECR (unique per account and region).",
            pattern=REPOSITORY_PREFIX_PATTERN,
            hint="use 2-19 lowercase letters, digits and . _ - (it prefixes ECR repositories)",
            default_doc="glr-<stack>; past 19 characters cut, with a hash of the stack name",
        ),
        Key(
            "dockerHubCredentialArn",
            "string",
            None,
            "Secret (name ecr-pullthroughcache/...) with Docker Hub username and accessToken: "
            "enables the docker-hub cache rule.",
            check=check_credential_arn,
        ),
        Key(
            "gitlabCredentialArn",
            "string",
            None,
            "Secret (name ecr-pullthroughcache/...) with a registry.gitlab.com username and "
            "accessToken: enables the gitlab cache rule (and the cached runner helper image).",
            check=check_credential_arn,
        ),
        Key(
            "helperImage",
            "string",
            None,
            "gitlab-runner helper image of job pods (`helper_image`); may use "
            "${CI_RUNNER_VERSION}. A tag in the helper's `<arch>-v<version>` scheme gets each "
            "runner's architecture (x86_64 or arm64); any other image must be multi-arch when "
            "a runner is arm64.",
            modes=("eks",),
            **IMAGES_RULES["helperImage"].key_args(),
            rule="an image reference (distribution/reference grammar)",
            default_doc="the cached helper when a GitLab or Docker Hub credential is set, "
            "else gitlab-runner's own default",
        ),
    ),
)

PREFLIGHT = Section(
    "preflight",
    "Checks run at preview against the account: Fargate/EC2 vCPU quotas and subnet free IPs.",
    (
        Key(
            "checkQuotas",
            "boolean",
            True,
            "Read the vCPU quotas (needs servicequotas:GetServiceQuota) and warn when the "
            "configured concurrency needs more.",
        ),
        Key(
            "failOnQuota",
            "boolean",
            False,
            "Stop the deployment instead of warning when a quota is too low.",
        ),
    ),
)
