"""Values that look like credentials in plain (not --secret) config.

A plain value is written to the stack file in clear text, and a task definition's
`environment` is shown by ecs:DescribeTaskDefinition to anyone who may describe it. The
shapes are the issuers' own: AWS access key ids start AKIA (long-term) or ASIA (temporary),
then 16 characters of A-Z and 2-7 (IAM User Guide, "Unique identifier prefixes"); a secret
access key is 40 characters of base64 (IAM User Guide, "Managing access keys": example
wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY); GitLab tokens carry a type prefix (GitLab docs,
security/tokens "Token prefixes": glpat-, glrt-, gldt-, glptt-, glcbt-, glft-, glimt-,
glagent-, gloas-, glsoat-); a URL's userinfo holds a password after the colon (RFC 3986 3.2.1,
"user:password" is deprecated for exactly this reason).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from components.config.commands import plain_path

_KINDS = (
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[A-Z2-7]{16}\b")),
    (
        "an AWS secret access key",
        # 40 base64 characters with both cases and a digit or '/'/'+': a hex digest (git,
        # SHA-1) has no upper case, a word no digit.
        re.compile(
            r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])"
            r"(?=[A-Za-z0-9/+]*[0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
    ),
    (
        "a GitLab token",
        re.compile(r"\b(glpat|glrt|gldt|glptt|glcbt|glft|glimt|glagent|gloas|glsoat)-[\w-]{20,}"),
    ),
    ("a URL with a password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
)

# Where a credential goes instead of a task definition's environment (both doors say it).
ENVIRONMENT_FIX = (
    "ECS shows task environment values to anyone who may describe the task definition, even "
    "when the stack file keeps them secret, and this program has no task `secrets` key: keep "
    "the credential in Secrets Manager and let jobs read it with the entry's task role (grant "
    "secretsmanager:GetSecretValue on it through its taskRolePolicyArns), or in a masked GitLab "
    "CI/CD variable; for AWS access the task role already gives jobs credentials"
)


def credential_kind(text: str) -> str | None:
    """What credential `text` looks like, or None."""
    return next((kind for kind, pattern in _KINDS if pattern.search(text)), None)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every text leaf of a config value with its key path (a.b, a[0].b)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def credential_warnings(raw: dict[str, Any], secret_keys: frozenset[str]) -> list[str]:
    """One warning per plain value that looks like a credential; the value is never echoed.
    Keys stored with --secret (`secret_keys`, top-level names) are not looked at."""
    found = []
    for key, value in raw.items():
        if key in secret_keys:
            continue
        for path, text in _strings(value, key):
            kind = credential_kind(text)
            if kind is None:
                continue
            path = plain_path(path)
            if ".environment." in path:
                fix = f"{ENVIRONMENT_FIX}. Then remove it: pulumi config rm --path '{path}'"
            else:
                fix = (
                    f"take the credential out of the value, or at least store it encrypted: "
                    f"pulumi config set --secret --path '{path}' <value> (the offline plan "
                    "cannot decrypt it; pulumi preview can)"
                )
            found.append(
                f"{path}: the value looks like {kind} and is stored in plain text in the stack "
                f"file; {fix}"
            )
    return found


def unkept_secret_problems(secret_keys: frozenset[str], secret_kinds: frozenset[str]) -> list[str]:
    """Keys stored with --secret that the program would write in plain text.

    Only `runnerTokens` and `gitlabToken` travel as Pulumi secrets (into Secrets Manager and
    Kubernetes Secrets). Every other value is read as plain text and lands in user data, task
    definitions, Helm values and the state; `pulumi.Config.get` returns a secret's plain text
    without its secret mark. So a key the user meant to keep secret is refused rather than
    written out."""
    return [
        f"{key}: stored with --secret, but the program writes this key's values in plain text "
        "(user data, task definitions, Helm values, the state); store it without --secret "
        f"(pulumi config rm {key}, then pulumi config set --path '{key}...' <value>) and keep "
        "credentials out of it: jobs read theirs from Secrets Manager through "
        "ecs.taskDefinitions[].taskRolePolicyArns, or from a masked GitLab CI/CD variable"
        for key in sorted(secret_keys - secret_kinds)
    ]
