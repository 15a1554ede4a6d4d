"""Reads untyped config values, collecting every problem instead of stopping at the first.

Values arrive as the Pulumi CLI parsed the stack file (gopkg.in/yaml.v3, see
components/offline/yaml_v3.py): nested numbers and booleans typed, top-level ones as text, a
blank top-level value as "", a nested one as null. Whatever can still be seen here is refused
with the key, the value and the fix instead of becoming a default: a null or empty value, a
number where text goes (unquoted 1.30 arrives as 1.3), yes/no where a boolean goes (YAML 1.2
text), a date the CLI rewrote as Go's time.Time.String().
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from components.config.commands import HIDDEN, move_command
from components.domain.value_rules import (
    choice_problem,
    item_problems,
    pattern_problem,
    range_problem,
    shown,
)

# What the CLI makes of an unquoted YAML date: time.Time.String() (config/object.go).
GO_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+")
NO_VALUE_FIX = "set a value, or delete the key to use its default"


def text_problem(value: str) -> str | None:
    """Why a text value is not what its author wrote, or None."""
    if GO_TIME.fullmatch(value):
        day = value[:10]
        return (
            f"'{value}' is how the Pulumi CLI rewrites an unquoted YAML date; quote it in the "
            f"stack file ('{day}') to keep the text"
        )
    return None


def type_fix(value: Any, expected: str) -> str:
    """The fix for a value of the wrong JSON type, by what it most likely is."""
    if isinstance(value, bool | int | float):
        return (
            f"expected {expected}, got the {'boolean' if isinstance(value, bool) else 'number'} "
            f"{shown(value)}; quote it in the stack file (YAML reads unquoted 1.30 as the "
            "number 1.3)"
        )
    return f"expected {expected}, got {shown(value)}"


def closest(key: str, known: Iterable[str]) -> str | None:
    """The known name a typo most likely meant, or None. A name that differs only in case wins
    (gitlabURL -> gitlabUrl, not the shorter gitlab)."""
    same = [k for k in known if k.lower() == key.lower()]
    close = same or difflib.get_close_matches(key, list(known), n=1)
    return close[0] if close else None


def did_you_mean(key: str, known: Iterable[str], otherwise: str) -> str:
    """The closest known name for a typo, else the given advice."""
    close = closest(key, known)
    return f"did you mean '{close}'?" if close else otherwise


# Provider and engine namespaces: never taken for a misspelt project name.
KNOWN_NAMESPACES = ("aws", "pulumi", "kubernetes", "eks", "gitlab", "tls", "random", "command")


def namespace_problem(full_key: str, project: str) -> str | None:
    """Why `namespace:name` is probably meant for this project but never read, or None: its
    namespace is empty or one typo away from the project's (gitlab-fargate-runner:mode)."""
    namespace, _, name = full_key.rpartition(":")
    if namespace == project or namespace in KNOWN_NAMESPACES:
        return None
    if namespace and not difflib.get_close_matches(namespace.lower(), [project], cutoff=0.8):
        return None
    return (
        f"'{full_key}': the namespace '{namespace}' is not this project's ('{project}', from "
        f"Pulumi.yaml), so the program would never read it; did you mean "
        f"'{project}:{name}' (or just '{name}')?"
    )


def list_fix(label: str, value: Any) -> str:
    """How to make the list a plain value was meant to be, in the forms both tools take: the
    Pulumi CLI's `--path` and the offline `--set`, item by item or as JSON. Text with commas is
    taken as its items. A number or true/false is typed by both `--path` forms, so only JSON
    keeps it text. The label loses the "(name)" that messages add to list items."""
    path = re.sub(r" \([^()]*\)", "", label)
    text = value if isinstance(value, str) else json.dumps(value)
    items = [i.strip() for i in text.split(",") if i.strip()] or ["VALUE"]
    whole = f"--set '{path}={json.dumps(items, ensure_ascii=False)}'"
    if not isinstance(value, str) or any(re.fullmatch(r"-?\d+|true|false", i) for i in items):
        in_file = f"{path.rsplit('.', 1)[-1]}: {json.dumps(items, ensure_ascii=False)}"
        return f"write it as a list of quoted text, {in_file} in the stack file, or offline {whole}"
    by_path = " and ".join(
        f"pulumi config set --path '{path}[{i}]' {v}" for i, v in enumerate(items)
    )
    offline = " ".join(f"--set '{path}[{i}]={v}'" for i, v in enumerate(items))
    return f"make it a list: {by_path}, or offline {offline} or {whole}"


class Reader:
    """Collects problems (the deployment must not go ahead) and warnings (it may)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def report(self, *problems: str | None) -> None:
        """Each problem a rule found (a rule answers None when the value is fine)."""
        for problem in problems:
            if problem is not None:
                self.problem(problem)

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def obj(
        self, path: str, value: Any, allowed: tuple[str, ...], secrets: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """An object whose keys must all be known; unknown ones get a "did you mean" and, when
        one key is close, the commands that move the value there (a value meant for one of
        `secrets` is not echoed)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"{path or 'config'}: expected an object, got {shown(value)}")
            return {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key not in allowed:
                hint = did_you_mean(key, allowed, f"known keys: {', '.join(allowed)}")
                meant = closest(key, allowed)
                if meant:
                    shown_value = HIDDEN if meant in secrets else item
                    target = f"{path}.{meant}" if path else meant
                    hint += f" {move_command(where, target, shown_value)}"
                self.problem(f"{where}: unknown {'key' if path else 'configuration key'}; {hint}")
            elif item is None:
                self.problem(f"{where}: no value (null); {NO_VALUE_FIX}")
        return {k: v for k, v in value.items() if k in allowed and v is not None}

    def integer(
        self, path: str, value: Any, default: int, minimum: int, maximum: int | None = None
    ) -> int:
        if value is None:
            return default
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            got = shown(value)
            self.problem(f"{path}: expected a whole number, got {got}")
            return default
        problem = range_problem(path, value, minimum, maximum)
        if problem:
            self.problem(problem)
            return default
        return value

    def boolean(self, path: str, value: Any, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            yaml11 = isinstance(value, str) and value.lower() in ("yes", "no", "on", "off")
            why = " (text in YAML 1.2, as the Pulumi CLI reads it)" if yaml11 else ""
            self.problem(
                f"{path}: expected true or false, got {shown(value)}{why}; write true or false"
            )
            return default
        return value

    def string(
        self,
        path: str,
        value: Any,
        default: str | None,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
    ) -> str | None:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{path}: {type_fix(value, 'a non-empty string')}")
            return default
        problem = text_problem(value)
        if problem:
            self.problem(f"{path}: {problem}")
            return default
        wrong = pattern_problem(path, value, pattern.pattern, hint) if pattern else None
        if wrong:
            self.problem(wrong)
            return default
        return value

    def choice(self, path: str, value: Any, default: Any, choices: tuple[Any, ...]) -> Any:
        if value is None:
            return default
        if isinstance(value, str) and all(isinstance(c, int) for c in choices):
            value = int(value) if value.strip().isdigit() else value
        problem = choice_problem(path, value, choices)
        if problem:
            self.problem(problem)
            return default
        return value

    def strings(
        self,
        path: str,
        value: Any,
        default: tuple[str, ...],
        check: Callable[[str], str | None] | None = None,
    ) -> tuple[str, ...]:
        if value is None:
            return default
        if isinstance(value, str | int | float):
            self.problem(
                f"{path}: expected a list of strings, got {shown(value)}; {list_fix(path, value)}"
            )
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(
                f"{path}: expected a list of non-empty strings, got {shown(value)}; quote "
                'numbers and write each item as text, e.g. ["a", "b"]'
            )
            return default
        for item in value:
            rewritten = text_problem(item)
            if rewritten:
                self.problem(f"{path}: {rewritten}")
            elif check:
                self.problems += item_problems(path, [item], check)
        return tuple(value)

    def string_map(self, path: str, value: Any, example: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"{path}: expected an object of string values, e.g. {example}")
            return {}
        for key, item in value.items():
            if item is None:
                self.problem(f'{path}.{key}: no value (null); set it to text ("" for empty)')
            elif not isinstance(item, str):
                text = json.dumps(item, default=str, ensure_ascii=False)
                self.problem(
                    f"{path}.{key}: {shown(item)} is not text; values here are strings, so "
                    f"quote it in the stack file ({key}: '{text}')"
                )
            elif text_problem(item):
                self.problem(f"{path}.{key}: {text_problem(item)}")
        return {k: v for k, v in value.items() if isinstance(v, str)}
