"""Reads a Pulumi.<stack>.yaml stack file without the Pulumi CLI (for the offline plan)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.naming import PROJECT


@dataclass(frozen=True)
class StackFile:
    project_config: dict[str, Any]  # this project's keys, prefix removed
    other_config: dict[str, str]  # provider keys such as aws:region
    encrypted_keys: tuple[str, ...]  # project keys holding `secure:` values (not decryptable here)


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def read_stack_file(path: Path) -> StackFile:
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    project: dict[str, Any] = {}
    other: dict[str, str] = {}
    encrypted: list[str] = []
    for full_key, value in config.items():
        namespace, _, key = str(full_key).partition(":")
        if not key:
            namespace, key = PROJECT, namespace
        if namespace == PROJECT:
            if _has_secure(value):
                encrypted.append(key)
                continue
            project[key] = value
        elif not _has_secure(value):
            other[full_key] = value if isinstance(value, str) else str(value).lower()
    return StackFile(project, other, tuple(encrypted))
