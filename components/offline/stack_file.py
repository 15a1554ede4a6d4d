"""Reads a Pulumi.<stack>.yaml stack file without the Pulumi CLI (for the offline plan)."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.naming import PROJECT
from components.offline.config_path import FIELD_NAME, Segment, apply_setting


class StackFileError(Exception):
    """The stack file is missing or unreadable; the message names the file and the line."""


@dataclass(frozen=True)
class StackFile:
    project_config: dict[str, Any]  # this project's plain values, prefix removed
    other_config: dict[str, str]  # other namespaces' plain values, e.g. aws:region
    # Project config paths (`pulumi config set --path` syntax) whose value is `secure:`, i.e.
    # encrypted with the stack's secrets provider: the offline plan cannot read them.
    encrypted_paths: tuple[str, ...]


def path_text(segments: Sequence[Segment]) -> str:
    """[runnerTokens, fargate] -> runnerTokens.fargate (the form `--path` accepts)."""
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif FIELD_NAME.fullmatch(segment):
            text += f".{segment}" if text else segment
        else:
            text += f'["{segment}"]'
    return text


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _encrypted(value: Any, path: list[Segment]) -> Iterator[list[Segment]]:
    if _is_secure(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _encrypted(item, [*path, str(key)])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _encrypted(item, [*path, index])


def _without_secure(value: Any) -> Any:
    """The plain part of a value: encrypted entries of objects are left out."""
    if isinstance(value, dict):
        return {k: _without_secure(v) for k, v in value.items() if not _is_secure(v)}
    if isinstance(value, list):
        return [_without_secure(v) for v in value if not _is_secure(v)]
    return value


def _line_of(text: str, key: str) -> int:
    """1-based line of a top-level key in the document (1 when it cannot be found)."""
    node = yaml.compose(text)
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if key_node.value == key:
                return key_node.start_mark.line + 1
    return 1


def load_config_section(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, keys as written (`namespace:key`)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise StackFileError(
            f"{path}: no such stack file; create the stack with `pulumi stack init "
            f"{path.stem.removeprefix('Pulumi.')}` or pass --stack/--project-dir"
        ) from None
    except OSError as error:
        raise StackFileError(f"{path}: cannot read it: {error.strerror}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise StackFileError(f"{path}{line}: not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(
            f"{path} line 1: a stack file is a mapping with a `config:` section, "
            f"not a {type(document).__name__}"
        )
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackFileError(
            f"{path} line {_line_of(text, 'config')}: `config:` must be a mapping of "
            f"`namespace:key: value` entries, not a {type(config).__name__}"
        )
    return config


def read_stack_file(path: Path, settings: Sequence[str] = ()) -> StackFile:
    """Read a stack file, apply `--set KEY=VALUE` settings on top, and split its config."""
    config: dict[str, Any] = {}
    for full_key, value in load_config_section(path).items():
        key = str(full_key)
        config[key if ":" in key else f"{PROJECT}:{key}"] = copy.deepcopy(value)
    for setting in settings:
        apply_setting(config, setting)
    project: dict[str, Any] = {}
    other: dict[str, str] = {}
    encrypted: list[str] = []
    for full_key, value in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT:
            encrypted += [path_text(p) for p in _encrypted(value, [key])]
            if not _is_secure(value):
                project[key] = _without_secure(value)
        elif not _is_secure(value):
            other[full_key] = value if isinstance(value, str) else str(value).lower()
    return StackFile(project, other, tuple(encrypted))
