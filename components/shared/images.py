"""ECR pull-through cache: job and helper images from this account's ECR, not public registries.

Every task and pod behind one NAT gateway shares one public IP, and public registries limit
pulls per IP (Docker Hub anonymous: 10 pulls/hour; ECR Public anonymous: 1 pull/s), so a burst
of a few hundred jobs fails on pull limits long before Fargate runs out. A pull-through cache
rule makes ECR fetch an upstream image once and serve it from
`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<upstream>/<path>`: after the first pull,
jobs pull from ECR (through the VPC endpoints when they exist).

ECR Public needs no credentials, so its rule always exists; Docker Hub and the GitLab registry
need a Secrets Manager secret named `ecr-pullthroughcache/...`, so theirs exist only when the
user sets one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.domain.specs import ImagesSpec
from components.naming import fit, type_token
from components.shared.aws import child

TYPE_TOKEN = type_token("shared", "ImageCache")
REPOSITORY_PREFIX_LIMIT = 19  # + "/docker-hub" stays inside ECR's 30-character prefix limit
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
# gitlab-runner fills in its own version. Its helper tags are [<flavor>-]<arch>-v<version>
# with arch x86_64 for amd64 nodes and arm64 for arm64 nodes (helpers/container/helperimage/
# linux_info.go at v18.9.0; tests/upstream/architectures.json). The cache's helper is the
# amd64 one; arm64 runners get theirs from helper_image_for.
HELPER_TAG = "x86_64-v${CI_RUNNER_VERSION}"
HELPER_TAG_ARCHITECTURES = {"amd64": "x86_64", "arm64": "arm64"}
_HELPER_TAG = re.compile(r"(?P<flavor>(?:[a-z0-9.]+-)?)(?:x86_64|arm64)(?P<version>-v\S+)")
HELPER_PATHS = {
    "gitlab": "gitlab-org/gitlab-runner/gitlab-runner-helper",
    "docker-hub": "gitlab/gitlab-runner-helper",
}


@dataclass(frozen=True)
class Upstream:
    name: str  # the cache's path segment under the repository prefix
    registry_url: str  # upstreamRegistryUrl of the rule
    hosts: tuple[str, ...]  # image reference hosts it serves


ECR_PUBLIC = Upstream("ecr-public", "public.ecr.aws", ("public.ecr.aws",))
DOCKER_HUB = Upstream("docker-hub", "registry-1.docker.io", DOCKER_HUB_HOSTS)
GITLAB = Upstream("gitlab", "registry.gitlab.com", ("registry.gitlab.com",))


def default_repository_prefix(stack: str) -> str:
    """`glr-<stack>`, lowercased and fitted to ECR's limits: rules are per account and region,
    so two stacks in one account need different prefixes, and a cut one keeps a hash of the
    whole stack name. ECR takes no two separators in a row (its prefix pattern
    `[a-z0-9]+(?:[._-][a-z0-9]+)*`), so runs become one '-'."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", f"glr-{stack}".lower())
    cleaned = re.sub(r"[._-]{2,}", "-", cleaned)
    return fit(cleaned, REPOSITORY_PREFIX_LIMIT, whole=stack).rstrip("._-")


def active_upstreams(spec: ImagesSpec) -> list[tuple[Upstream, str | None]]:
    """Each cached upstream with its credential secret ARN (None: anonymous)."""
    if not spec.pull_through_cache:
        return []
    active: list[tuple[Upstream, str | None]] = [(ECR_PUBLIC, None)]
    if spec.docker_hub_credential_arn:
        active.append((DOCKER_HUB, spec.docker_hub_credential_arn))
    if spec.gitlab_credential_arn:
        active.append((GITLAB, spec.gitlab_credential_arn))
    return active


def helper_image_for(image: str, architecture: str) -> str:
    """The helper image for a node architecture (kubernetes.io/arch): a tag in gitlab-runner's
    per-architecture scheme gets this architecture; any other image is kept as written (it
    must then be multi-arch for arm64 runners, docs/eks.md)."""
    name, sep, tag = image.rpartition(":")
    match = _HELPER_TAG.fullmatch(tag) if sep and "/" not in tag else None
    if match is None:
        return image
    arch = HELPER_TAG_ARCHITECTURES[architecture]
    return f"{name}:{match['flavor']}{arch}{match['version']}"


def split_reference(image: str) -> tuple[str, str]:
    """(registry host, repository path + tag/digest), Docker's rules: a first component with
    a '.' or ':' (or `localhost`) is a host, anything else is Docker Hub, where one-component
    names are official images under `library/`."""
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", image if sep else f"library/{image}"


@dataclass(frozen=True)
class ImageCacheInfo:
    """What the topologies need from the cache, as plain values."""

    registry: str  # <account>.dkr.ecr.<region>.<dns suffix>
    repository_prefix: str  # the rules' ECR repository prefix (ImageCacheArgs.repository_prefix)
    repository_arn_pattern: str  # arn:...:repository/<prefix>/*: what pullers may create
    upstreams: tuple[str, ...] = field(default_factory=tuple)  # active upstream names

    def upstream_path(self, upstream: str) -> str:
        return f"{self.registry}/{self.repository_prefix}/{upstream}"

    def cached(self, image: str) -> str:
        """The cache path of an image whose registry has an active rule; others unchanged."""
        host, path = split_reference(image)
        for upstream in (ECR_PUBLIC, DOCKER_HUB, GITLAB):
            if upstream.name in self.upstreams and host in upstream.hosts:
                return f"{self.upstream_path(upstream.name)}/{path}"
        return image

    def helper_image(self) -> str | None:
        """The runner helper image through the cache (GitLab first, the upstream gitlab-runner
        itself uses), or None when neither of its registries is cached."""
        for upstream in ("gitlab", "docker-hub"):
            if upstream in self.upstreams:
                return f"{self.upstream_path(upstream)}/{HELPER_PATHS[upstream]}:{HELPER_TAG}"
        return None

    def outputs(self) -> dict[str, Any]:
        """The `imageCache` stack output: where pipeline authors find each upstream."""
        return {
            "registry": self.registry,
            "paths": {
                host: self.upstream_path(u.name)
                for u in (ECR_PUBLIC, DOCKER_HUB, GITLAB)
                if u.name in self.upstreams
                for host in u.hosts[:1]
            },
        }


def pull_through_policy(repository_arn_pattern: str) -> dict[str, Any]:
    """What a puller needs on top of the usual pull actions for ECR to fetch an image it does
    not hold yet: create the cached repository and import the upstream image, under the
    cache's prefix only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullThroughCache",
                "Effect": "Allow",
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": repository_arn_pattern,
            }
        ],
    }


@dataclass(frozen=True)
class ImageCacheArgs:
    spec: ImagesSpec  # which upstreams, and their credentials
    # The rules' ECR repository prefix (spec.repository_prefix, or a default of your naming;
    # the stack program's is default_repository_prefix(stack)).
    repository_prefix: str


class ImageCache(pulumi.ComponentResource):
    """One pull-through cache rule per active upstream; `info` tells topologies the paths."""

    info: ImageCacheInfo

    def __init__(
        self, name: str, args: ImageCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        prefix = args.repository_prefix
        # Plain values (not Outputs): the paths end up in rendered config files and Helm values.
        invoke = pulumi.InvokeOptions(parent=self)
        partition = aws.get_partition(opts=invoke)
        region = aws.get_region(opts=invoke).region
        account = aws.get_caller_identity(opts=invoke).account_id
        upstreams = active_upstreams(args.spec)
        for upstream, credential_arn in upstreams:
            aws.ecr.PullThroughCacheRule(
                f"{name}-{upstream.name}",
                ecr_repository_prefix=f"{prefix}/{upstream.name}",
                upstream_registry_url=upstream.registry_url,
                credential_arn=credential_arn,
                opts=child(self),
            )
        self.info = ImageCacheInfo(
            registry=f"{account}.dkr.ecr.{region}.{partition.dns_suffix}",
            repository_prefix=prefix,
            repository_arn_pattern=(
                f"arn:{partition.partition}:ecr:{region}:{account}:repository/{prefix}/*"
            ),
            upstreams=tuple(u.name for u, _ in upstreams),
        )
        self.register_outputs({"registry": self.info.registry, "prefix": prefix})
