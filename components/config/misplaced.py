"""Keys written in the wrong place or form, each with the key that was meant and the exact
`pulumi config set` command that writes it.

Pulumi config keys are `<namespace>:<name>`; a nested value is written with `--path`
(`pulumi config set --path ecs.maxJobsPerManager 50`). Three slips are common and would
otherwise be dropped or reported as a bare "unknown key":

- the colon for the dot: `ecs:maxJobsPerManager` is the key `maxJobsPerManager` of a
  namespace `ecs` nobody reads, and the program never sees it;
- the dot without `--path`: `pulumi config set ecs.maxJobsPerManager 50` writes a top-level
  key literally named `ecs.maxJobsPerManager`;
- an AWS provider setting in this project's namespace (`region` instead of `aws:region`),
  which the AWS provider never reads.
"""

from __future__ import annotations

import difflib
from typing import Any

from components.config import schema
from components.config.commands import HIDDEN, rm_command, set_command
from components.config.keys import Section

# Settings of the AWS provider (pulumi-aws provider/resources.go `Config`, the keys
# `pulumi config set aws:<key>` takes); in the project namespace the provider never sees them.
AWS_PROVIDER_KEYS = (
    "region",
    "profile",
    "accessKey",
    "secretKey",
    "token",
    "assumeRole",
    "allowedAccountIds",
    "forbiddenAccountIds",
    "defaultTags",
    "ignoreTags",
    "sharedCredentialsFiles",
    "sharedConfigFiles",
    "skipCredentialsValidation",
    "skipRegionValidation",
    "skipMetadataApiCheck",
    "skipRequestingAccountId",
    "maxRetries",
    "retryMode",
    "endpoints",
    "stsRegion",
    "s3UsePathStyle",
)
# Provider settings that are credentials: the command for them stores a secret.
_SECRET_PROVIDER_KEYS = ("accessKey", "secretKey", "token")


def _sections() -> dict[str, Section]:
    """The object keys of the top level and the section that reads each."""
    return {s.path: s for s in schema.SECTIONS if s.path and "[" not in s.path}


def _meant(section: str, name: str) -> str | None:
    """`section.key` when `name` is (or is one typo away from) a key of that section."""
    found = _sections().get(section)
    if found is None:
        return None
    close = difflib.get_close_matches(name, list(found.names), n=1, cutoff=0.8)
    same = [k for k in found.names if k.lower() == name.lower()]
    key = (same or close or [None])[0]
    return f"{section}.{key}" if key else None


def namespace_key_problem(full_key: str, value: Any) -> str | None:
    """Why `<section>:<key>` (a namespace named like one of this program's objects) is meant
    as the nested key `<section>.<key>`, or None. `value` is HIDDEN for a secret."""
    namespace, _, name = full_key.partition(":")
    name = name.removeprefix("config:")
    meant = _meant(namespace, name) if ":" not in name else None
    if meant is None:
        return None
    return (
        f"'{full_key}': a colon makes '{namespace}' a namespace of its own, which nothing "
        f"reads, so the value is dropped; the nested key is {meant}, written with --path: "
        f"{rm_command(full_key)} && {set_command(meant, value)}"
    )


def nested_key(name: str) -> str | None:
    """`section.key` for a top-level name that is a nested key written with a colon or a dot
    (`ecs:maxJobsPerManager`, `ecs.maxJobsPerManager`), or None."""
    for separator in (":", "."):
        head, found, rest = name.partition(separator)
        meant = _meant(head, rest) if found and separator not in rest else None
        if meant:
            return meant
    return None


def project_key_problem(name: str, value: Any) -> str | None:
    """Why a key of this project's namespace is meant elsewhere, or None: a nested key written
    with a colon (`ecs:maxJobsPerManager`, from `<project>:ecs:maxJobsPerManager`) or a dot
    without --path (`ecs.maxJobsPerManager`), or an AWS provider setting."""
    meant = nested_key(name)
    if meant:
        how = (
            "a colon is not a path separator"
            if ":" in name
            else "without --path the CLI writes a key named with the dot"
        )
        return (
            f"{name}: {how}, so this is a top-level key the program does not know; the "
            f"nested key is {meant}: {rm_command(name, literal=True)} && "
            f"{set_command(meant, value)}"
        )
    if name in AWS_PROVIDER_KEYS:
        fix = set_command(f"aws:{name}", HIDDEN if name in _SECRET_PROVIDER_KEYS else value)
        return (
            f"{name}: a setting of the AWS provider, which reads it only as aws:{name} (in "
            f"this project's namespace nothing reads it): {rm_command(name)} && {fix}"
        )
    return None
