"""IAM documents both topologies build the same way, as pure functions of plain strings."""

from __future__ import annotations

from typing import Any

POLICY_VERSION = "2012-10-17"


def assume_role_policy(service: str, source_account: str | None = None) -> dict[str, Any]:
    """Trust policy for one AWS service principal.

    With `source_account`, only requests made on behalf of this account may assume the role
    (AWS's confused-deputy guard for ECS task and execution roles, and the one EventBridge
    Scheduler documents for its execution role)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": POLICY_VERSION, "Statement": [statement]}
