"""The project's name, its type-token prefix and the physical names derived from the stack."""

from __future__ import annotations

import hashlib
import re

PROJECT = "gitlab-fargate-runners"
# Component type tokens are `<project>:<module>:<Type>`; changing them would move every URN.
TYPE_PREFIX = PROJECT
# ECS cluster/family and EKS cluster names accept letters, digits, '-' and '_' only; stack
# names may also hold '.', which would make the cloud call fail late.
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
EKS_CLUSTER_NAME_LIMIT = 100
LAMBDA_FUNCTION_NAME_LIMIT = 64
# EventBridge PutRule: a rule's Name is 1-64 characters of [.\-_A-Za-z0-9].
EVENT_RULE_NAME_LIMIT = 64
# SQS CreateQueue: "A queue name can have up to 80 characters ... alphanumeric characters,
# hyphens (-), and underscores (_)".
SQS_QUEUE_NAME_LIMIT = 80
# Pulumi refuses longer stack names ("stack names are limited to 100 characters and may only
# contain alphanumeric, hyphens, underscores, or periods": pkg/backend/diy/store.go).
STACK_NAME_LIMIT = 100
STACK_NAME_PATTERN = r"[A-Za-z0-9_.-]{1,100}"
_HASH_CHARS = 8


def type_token(module: str, type_name: str) -> str:
    return f"{TYPE_PREFIX}:{module}:{type_name}"


def resource_prefix(stack: str) -> str:
    """`gitlab-runners-<stack>`: the prefix of cluster names, task families and log groups."""
    return _INVALID_NAME_CHARS.sub("-", f"gitlab-runners-{stack}")[:200]


def fit(name: str, limit: int, whole: str | None = None) -> str:
    """`name` unchanged when it fits in `limit` (so no existing resource is renamed); else
    cut and ended with `-<8 hex of the whole name>`, so two names that differ only after the
    cut stay apart. `whole` is what the hash identifies when `name` is already derived (the
    stack name before lowercasing)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256((whole or name).encode()).hexdigest()[:_HASH_CHARS]
    return f"{name[: limit - _HASH_CHARS - 1].rstrip('-._')}-{digest}"


def topology_marker_name(prefix: str) -> str:
    """The SSM parameter every `pulumi up` writes with the deployed `mode`: a teardown that
    finds it is a topology switch, one that does not is `pulumi destroy`."""
    return f"/{prefix}/topology"


def cluster_name_for(stack: str) -> str:
    """A fixed, readable EKS cluster name: Karpenter's discovery tags must know it up front."""
    return fit(resource_prefix(stack), EKS_CLUSTER_NAME_LIMIT)


def interruption_queue_name(cluster_name: str) -> str:
    """Karpenter's SQS interruption queue, `<cluster>-karpenter`, within SQS's limit."""
    return fit(f"{cluster_name}-karpenter", SQS_QUEUE_NAME_LIMIT)


def _prefixed(prefix: str, role: str, limit: int) -> str:
    """`<prefix>-<role>` within `limit`: a long prefix is cut and keeps a hash of itself, so
    two long stack names still differ and the role stays readable at the end."""
    name = f"{prefix}-{role}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    keep = limit - len(role) - len(digest) - 2
    return f"{prefix[:keep]}-{digest}-{role}"


def function_name_for(prefix: str, role: str) -> str:
    """A fixed Lambda function name, `<prefix>-<role>`, at most 64 characters."""
    return _prefixed(prefix, role, LAMBDA_FUNCTION_NAME_LIMIT)


def event_rule_name(prefix: str, role: str) -> str:
    """A fixed EventBridge rule name, `<prefix>-<role>`, at most 64 characters: fixed so that
    the docs can name it (a topic's policy you keep names the rule's ARN) and per stack, so
    two stacks in one account and region never share a rule."""
    return _prefixed(prefix, role, EVENT_RULE_NAME_LIMIT)


def slug(value: str) -> str:
    """Lowercase letters, digits and single dashes: safe in any resource name."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def keyed_name(label: str, identity: str, max_label: int = 40) -> str:
    """`<label>-<hash>` for a resource that follows what it is (a principal, a policy) rather
    than its position in a list: reordering the list renames nothing. The label is slugged
    and cut to `max_label`; the hash of the full identity keeps cut or equal labels apart."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{slug(label)[:max_label].strip('-')}-{digest}"
