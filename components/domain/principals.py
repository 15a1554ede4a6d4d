"""IAM principals as EKS access entries see them: one entry per IAM role or user.

An STS session ARN (what `sts:GetCallerIdentity` returns for an assumed role) names the role
but not its path: `arn:aws:sts::111122223333:assumed-role/ROLE/SESSION` for the role
`arn:aws:iam::111122223333:role/some/path/ROLE`. Role names are unique in an account whatever
their path, so a principal is identified by partition, account, kind and name, never by the
path: a configured ARN with a path and a session of that role are the same principal.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_IAM = re.compile(
    r"arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):(?P<kind>role|user)/(?P<rest>.+)"
)
_SESSION = re.compile(
    r"arn:(?P<partition>[\w-]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/[^/]+"
)


class Principal(NamedTuple):
    """What makes two ARNs the same EKS access-entry principal."""

    partition: str
    account: str
    kind: str  # "role" or "user"
    name: str  # without the path


def principal_of(arn: str) -> Principal | None:
    """The IAM role or user behind an ARN (a session maps to its role), or None for anything
    that cannot hold an access entry (federated users, root, malformed values)."""
    if session := _SESSION.fullmatch(arn):
        return Principal(session["partition"], session["account"], "role", session["role"])
    if iam := _IAM.fullmatch(arn):
        return Principal(iam["partition"], iam["account"], iam["kind"], iam["rest"].split("/")[-1])
    return None


def role_arn_of_session(arn: str) -> str:
    """The role ARN (path unknown, so none) of an assumed-role session; other ARNs unchanged.
    Only the account, kind and name of the result are reliable (see principal_of)."""
    principal = principal_of(arn)
    if principal is None or not _SESSION.fullmatch(arn):
        return arn
    return f"arn:{principal.partition}:iam::{principal.account}:role/{principal.name}"
