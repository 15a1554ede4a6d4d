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


def type_token(module: str, type_name: str) -> str:
    return f"{TYPE_PREFIX}:{module}:{type_name}"


def resource_prefix(stack: str) -> str:
    """`gitlab-runners-<stack>`: the prefix of cluster names, task families and log groups."""
    return _INVALID_NAME_CHARS.sub("-", f"gitlab-runners-{stack}")[:200]


def topology_marker_name(prefix: str) -> str:
    """The SSM parameter every `pulumi up` writes with the deployed `mode`: a teardown that
    finds it is a topology switch, one that does not is `pulumi destroy`."""
    return f"/{prefix}/topology"


def cluster_name_for(stack: str) -> str:
    """A fixed, readable EKS cluster name: Karpenter's discovery tags must know it up front."""
    return resource_prefix(stack)[:EKS_CLUSTER_NAME_LIMIT]


def function_name_for(prefix: str, role: str) -> str:
    """A fixed Lambda function name, `<prefix>-<role>`, at most 64 characters: a long prefix
    is cut and keeps a hash of itself, so two long stack names still differ."""
    name = f"{prefix}-{role}"
    if len(name) <= LAMBDA_FUNCTION_NAME_LIMIT:
        return name
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:8]
    keep = LAMBDA_FUNCTION_NAME_LIMIT - len(role) - len(digest) - 2
    return f"{prefix[:keep]}-{digest}-{role}"


def slug(value: str) -> str:
    """Lowercase letters, digits and single dashes: safe in any resource name."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def keyed_name(label: str, identity: str, max_label: int = 40) -> str:
    """`<label>-<hash>` for a resource that follows what it is (a principal, a policy) rather
    than its position in a list: reordering the list renames nothing. The label is slugged
    and cut to `max_label`; the hash of the full identity keeps cut or equal labels apart."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{slug(label)[:max_label].strip('-')}-{digest}"
