"""Derived physical names for every stack and runner name Pulumi and the schema allow (issue
23, item 9): within each service's limit and character set, unchanged when they fit (no
existing resource is replaced), and apart for sibling stacks that differ only after a cut.

Limits: Pulumi stack names, 1-100 of [A-Za-z0-9_.-] (pulumi pkg/backend/diy/store.go);
runner names, components/config/keys.py NAME_PATTERN (at most 32). EKS CreateCluster name
1-100 `^[0-9A-Za-z][A-Za-z0-9\\-_]*`; SQS CreateQueue QueueName 1-80 of [A-Za-z0-9_-]; ECR
CreatePullThroughCacheRule ecrRepositoryPrefix 2-30, `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*
[a-z0-9]+(?:[._-][a-z0-9]+)*`; Lambda FunctionName 1-64 of [A-Za-z0-9_-]; ECS cluster and
task family 1-255 of [A-Za-z0-9_-]; CloudWatch Logs log group 1-512 of [.\\-_/#A-Za-z0-9];
S3 bucket names of [a-z0-9.-] starting with a letter or digit, bucketPrefix at most 37 (the
Pulumi AWS provider, Bucket `bucketPrefix`); Kubernetes namespaces DNS labels (63), Helm
release names 53.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from components.config import parse_config
from components.config.keys import NAME_PATTERN
from components.ecs.catalogue import task_family
from components.eks.fargate_logging import (
    fargate_log_group_name,
    fluent_bit_process_log_group_name,
)
from components.eks.placement import runner_namespace
from components.eks.runner_chart import release_name
from components.naming import (
    STACK_NAME_PATTERN,
    cluster_name_for,
    function_name_for,
    interruption_queue_name,
    resource_prefix,
)
from components.shared.cache import bucket_prefix
from components.shared.images import DOCKER_HUB, default_repository_prefix
from tests.fuzz.test_fuzz_stack import PROFILE
from tests.harness import sentinel

STACKS = st.from_regex(STACK_NAME_PATTERN, fullmatch=True)
RUNNERS = st.from_regex(NAME_PATTERN, fullmatch=True)
AWS_NAME = re.compile(r"[A-Za-z0-9_-]+")
ECR_PREFIX = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
LOG_GROUP = re.compile(r"[.\-_/#A-Za-z0-9]+")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
RUNNER = parse_config({"runners": [{"name": "x"}], "runnerTokens": {"x": sentinel("x")}})[
    0
].runners[0]


def fits(name: str, limit: int, pattern: re.Pattern[str]) -> bool:
    return 1 <= len(name) <= limit and pattern.fullmatch(name) is not None


@PROFILE
@given(STACKS, RUNNERS)
def test_every_derived_name_fits_its_service(stack: str, runner: str) -> None:
    prefix = resource_prefix(stack)
    cluster = cluster_name_for(stack)
    assert fits(cluster, 100, re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]*"))
    assert fits(interruption_queue_name(cluster), 80, AWS_NAME)
    ecr = f"{default_repository_prefix(stack)}/{DOCKER_HUB.name}"
    assert 2 <= len(ecr) <= 30 and ECR_PREFIX.fullmatch(ecr), ecr
    assert fits(function_name_for(prefix, "task-reaper"), 64, AWS_NAME)
    for name in (prefix, f"{prefix}-spot", task_family(prefix, runner)):
        assert fits(name, 255, AWS_NAME)
    for group in (
        f"/{prefix}/managers",
        f"/aws/events/{prefix}/tasks-not-started",
        fargate_log_group_name(cluster),
        fluent_bit_process_log_group_name(cluster),
    ):
        assert fits(group, 512, LOG_GROUP)
    assert fits(bucket_prefix(stack), 37, re.compile(r"[a-z0-9][a-z0-9.-]*"))
    assert len(f"{prefix}-runner-{runner}-not-polling") <= 255  # CloudWatch alarm names
    assert fits(runner_namespace(runner), 63, DNS_LABEL)
    assert fits(release_name(replace(RUNNER, name=runner)), 53, DNS_LABEL)


@PROFILE
@given(STACKS)
def test_names_that_fit_are_the_names_existing_stacks_have(stack: str) -> None:
    """The formulas before issue 23: a name that was not cut must not change, or `pulumi up`
    would replace the cluster, the queue or the pull-through rules of a running stack."""
    old_prefix = re.sub(r"[^a-z0-9._-]+", "-", f"glr-{stack}".lower())
    if len(old_prefix) <= 19 and not re.search(r"[._-]{2}", old_prefix.rstrip("._-")):
        assert default_repository_prefix(stack) == old_prefix.rstrip("._-")
    if len(resource_prefix(stack)) <= 100:
        assert cluster_name_for(stack) == resource_prefix(stack)
    queue = f"{cluster_name_for(stack)}-karpenter"
    if len(queue) <= 80:
        assert interruption_queue_name(cluster_name_for(stack)) == queue


@PROFILE
@given(st.from_regex(r"[a-z0-9]{100}", fullmatch=True), st.sampled_from([15, 60, 85, 99]))
def test_siblings_that_differ_only_after_the_cut_get_different_names(base: str, keep: int) -> None:
    one, two = base[:keep] + "a" * (100 - keep), base[:keep] + "b" * (100 - keep)
    assert default_repository_prefix(one) != default_repository_prefix(two)
    if keep >= 85:  # the cluster name is cut past 85 characters of stack name
        assert cluster_name_for(one) != cluster_name_for(two)
    queue = interruption_queue_name
    assert queue(cluster_name_for(one)) != queue(cluster_name_for(two))


def test_a_cut_name_ends_in_a_hash_of_the_whole_name() -> None:
    stack = "team-a-production-eu"
    digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
    assert default_repository_prefix(stack) == f"glr-team-a-{digest}"
    assert default_repository_prefix("dev") == "glr-dev"
