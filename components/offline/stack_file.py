"""Reads a Pulumi.<stack>.yaml stack file without the Pulumi CLI, the way the CLI reads it.

YAML is decoded with gopkg.in/yaml.v3's rules (components/offline/yaml_v3.py: yes/no stay text,
duplicate keys are refused, 010 is octal 8), then each top-level value becomes the config
value the CLI hands the program (pulumi/pulumi sdk/go/common/workspace/loaders.go
`LoadProjectStackBytes`; sdk/go/common/resource/config/object.go `MarshalString`): a string as
is, a number or boolean as its JSON text, a blank or null as "" with a warning
(`checkForEmptyConfig`), an object or list as JSON whose nested nulls stay null. A key without a
namespace is this project's (`stackConfigNamespacedWithProject`); `a:b:c` is refused as
`config.ParseKey` refuses it. Beyond the CLI, a namespace one typo away from this project's
is refused (the program would never see the key), and every value YAML probably read
differently from what was meant gets a warning with its line.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config.commands import HIDDEN, set_command
from components.config.misplaced import namespace_key_problem, nested_key
from components.config.reader import namespace_problem
from components.naming import PROJECT
from components.offline.config_path import FIELD_NAME, Segment, apply_setting
from components.offline.yaml_v3 import Note, YamlError, compose, go_float_text, load


class StackFileError(Exception):
    """The stack file is missing or unreadable; the message names the file and the line."""


@dataclass(frozen=True)
class StackFile:
    project_config: dict[str, Any]  # this project's plain values, prefix removed
    other_config: dict[str, str]  # other namespaces' plain values, e.g. aws:region
    # Project config paths (`pulumi config set --path` syntax) whose value is `secure:`, i.e.
    # encrypted with the stack's secrets provider: the offline plan cannot read them.
    encrypted_paths: tuple[str, ...]
    # Values YAML read differently from how they look (1.30 -> 1.3, yes, a date, a blank),
    # each "<file> line N: <key>: why, and the fix".
    warnings: tuple[str, ...] = ()


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
    """config/object.go isSecureValue: an object whose only key is `secure`, a string."""
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


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


def _key_lines(text: str) -> dict[str, int]:
    """1-based line of every key of the document and of its `config:` mapping."""
    lines: dict[str, int] = {}
    node = compose(text.removeprefix("\ufeff"))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines.setdefault(key_node.value, key_node.start_mark.line + 1)
            if key_node.value == "config" and isinstance(value_node, yaml.MappingNode):
                for config_key, _ in value_node.value:
                    lines.setdefault(f"config.{config_key.value}", config_key.start_mark.line + 1)
    return lines


def _read(path: Path) -> tuple[dict[str, Any], list[Note], dict[str, int]]:
    """The `config:` mapping as the CLI decodes it, the notes, and the key lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackFileError(
            f"{path}: no such stack file; create the stack with `pulumi stack init "
            f"{path.stem.removeprefix('Pulumi.')}` or pass --stack/--project-dir"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "it is not UTF-8 text"
        raise StackFileError(f"{path}: cannot read it: {reason}") from None
    try:
        document, notes = load(text)
        lines = _key_lines(text)
    except YamlError as error:
        raise StackFileError(f"{path} line {error.line}: {error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise StackFileError(f"{path}{line}: not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {error}") from None
    except RecursionError:  # yaml.v3 stops at a nesting depth of 10000 too
        raise StackFileError(f"{path}: not valid YAML: nested too deeply") from None
    notes = [n for n in notes if len(n.path) > 1 and n.path[0] == "config"]
    if document is None:
        return {}, notes, lines
    if not isinstance(document, dict):
        raise StackFileError(
            f"{path} line 1: a stack file is a mapping with a `config:` section, "
            f"not a {type(document).__name__}"
        )
    config = document.get("config")
    if config is None:
        return {}, notes, lines
    if not isinstance(config, dict):
        raise StackFileError(
            f"{path} line {lines.get('config', 1)}: `config:` must be a mapping of "
            f"`namespace:key: value` entries, not a {type(config).__name__}"
        )
    return config, notes, lines


def load_config_section(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, keys as written (`namespace:key`)."""
    return _read(path)[0]


def _full_key(key: str, value: Any, line: int, where: str) -> tuple[str, list[str]]:
    """config.ParseKey: `name` is this project's, `ns:name` and `ns:config:name` are kept,
    anything else is refused; a namespace a typo away from this project's is refused too, and
    so is a nested key written with a colon (`ecs:maxJobsPerManager`), with its command."""
    shown = HIDDEN if _is_secure(value) else value
    parts = key.split(":")
    if len(parts) == 1:
        return f"{PROJECT}:{key}", []
    if len(parts) == 3 and parts[1] == "config":
        parts = [parts[0], parts[2]]
    if len(parts) != 2:
        meant = nested_key(":".join(parts[1:])) if parts[0] == PROJECT else None
        fix = f"delete the line and {set_command(meant, shown)}" if meant else ""
        return key, [
            f"{where} line {line}: '{key}' is not a configuration key (the Pulumi CLI "
            "refuses it: keys are `<namespace>:<name>`); "
            + (f"a colon is not a path separator: {fix}" if fix else "nest the value instead")
        ]
    namespace, name = parts
    problem = namespace_problem(f"{namespace}:{name}", PROJECT) or namespace_key_problem(
        f"{namespace}:{name}", shown
    )
    if problem:
        return key, [f"{where} line {line}: {problem}"]
    return f"{namespace}:{name}", []


def cli_text(value: Any) -> Any:
    """A top-level value as the CLI passes it (object.go MarshalString): text for scalars."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return go_float_text(value)
    if isinstance(value, int):
        return str(value)
    return value


_OCTAL_LOOKING = re.compile(r"[+-]?0[0-7_]+")


def _note_text(note: Note, top_level: bool) -> str:
    """Why YAML's reading is probably not what the user meant, and the fix."""
    text, value = note.text, note.value
    if note.kind == "null":
        if top_level:
            return (
                'no value; the Pulumi CLI passes a blank or null as an empty string "" (it warns '
                '"No value for configuration key"), which this program refuses for every key: '
                "set the value, or delete the line to get the default"
            )
        return (
            f"no value ({text or 'blank'} is null in YAML); the program refuses a null rather "
            "than guess: set the value, or delete the key to get its default"
        )
    if note.kind == "timestamp":
        return (
            f'{text} is a YAML date: the Pulumi CLI passes it on as "{value}"; quote it '
            f"('{text}') to keep the text"
        )
    if note.kind == "bool11":
        return (
            f'{text} stays the text "{text}" (the Pulumi CLI reads YAML 1.2, where only '
            "true and false are booleans; YAML 1.1 tools read it as a boolean): write true or "
            f"false for a boolean, or quote it ('{text}') for text"
        )
    if _OCTAL_LOOKING.fullmatch(text):
        return (
            f"{text} has a leading zero, so YAML (as the Pulumi CLI reads it) takes it as the "
            f"octal number {value}; write {text.lstrip('0+-_') or '0'} for the decimal number, "
            f"or quote it ('{text}') for text"
        )
    return f"{text} is read as the number {value}; quote it ('{text}') if you meant the text"


def _warnings(notes: list[Note], keys: dict[str, str], where: str) -> list[str]:
    found = []
    for note in notes:
        written = str(note.path[1])
        full = keys.get(written, written)
        namespace, _, name = full.partition(":")
        head = name if namespace == PROJECT else full
        shown = path_text([head, *note.path[2:]])
        found.append(f"{where} line {note.line}: {shown}: {_note_text(note, len(note.path) == 2)}")
    return found


def read_stack_file(path: Path, settings: Sequence[str] = ()) -> StackFile:
    """Read a stack file, apply `--set KEY=VALUE` settings on top, and split its config.

    Raises StackFileError listing everything the CLI would refuse (a duplicate key, a key it
    cannot parse, NaN) and every misspelt project namespace."""
    section, notes, lines = _read(path)
    config: dict[str, Any] = {}
    problems: list[str] = []
    keys: dict[str, str] = {}
    for written, value in section.items():
        full, found = _full_key(written, value, lines.get(f"config.{written}", 1), str(path))
        if full in config:
            problems.append(
                f"{path} line {lines.get(f'config.{written}', 1)}: '{written}' is the key "
                f"'{full}' again (a key without a namespace is this project's); the Pulumi CLI "
                "would keep either one at random: keep one"
            )
        problems += found
        keys[written] = full
        config[full] = copy.deepcopy(cli_text(value))
    if problems:
        raise StackFileError("\n".join(problems))
    warnings = _warnings(notes, keys, path.name)
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
            other[full_key] = value if isinstance(value, str) else json.dumps(value)
    return StackFile(project, other, tuple(encrypted), tuple(warnings))
