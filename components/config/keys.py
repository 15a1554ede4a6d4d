"""The machinery of the configuration schema: a Key (one setting), a Section (a group of
keys), the value patterns and checks the tables share. The tables are in schema.py and the
schema_*.py modules beside it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from components.config.reader import Reader
from components.domain import fleet_rules
from components.domain.value_rules import repeated_problems, too_few_problem

MODES = ("ecs", "eks")
ECS: tuple[str, ...] = ("ecs",)
EKS: tuple[str, ...] = ("eks",)
NAME_PATTERN = fleet_rules.NAME_PATTERN

Kind = Literal[
    "string", "integer", "boolean", "choice", "strings", "map", "list", "object", "secret"
]
# Pulumi project config knows only these scalar types; objects and lists are validated here.
PULUMI_TYPES = {"string": "string", "choice": "string", "integer": "integer", "boolean": "boolean"}


@dataclass(frozen=True)
class Key:
    """One configuration key as a user writes it in the stack file."""

    name: str
    kind: Kind
    default: Any
    doc: str
    modes: tuple[str, ...] = MODES
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Any, ...] = ()
    pattern: str | None = None
    hint: str = ""  # the fix, shown when a value does not match the pattern
    check: Callable[[str], str | None] | None = None  # for strings and each item of a list
    attr_name: str = ""  # when the snake_case of `name` is not the model's attribute
    default_doc: str = ""  # how a derived default is described in the docs
    rule: str = ""  # what `check` accepts, for the docs' Allowed column
    unique: bool = False  # a list whose items must differ (subnets, roles given access)
    min_items: int = 0  # a list that must name at least this many items
    # How the value is shown in a message (a URL's password must not be echoed).
    shown: Callable[[str], str] = str

    @property
    def attr(self) -> str:
        return self.attr_name or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", self.name).lower()

    def read(self, r: Reader, path: str, value: Any) -> Any:
        """The typed value, or the default after recording the problem."""
        if self.kind == "integer":
            if self.choices:
                number = r.integer(path, value, self.default, min(self.choices))
                return r.choice(path, number, self.default, self.choices)
            return r.integer(path, value, self.default, self.minimum or 0, self.maximum)
        if self.kind == "boolean":
            return r.boolean(path, value, self.default)
        if self.kind == "choice":
            return r.choice(path, value, self.default, self.choices)
        if self.kind == "strings":
            items = r.strings(path, value, self.default, self.check)
            r.problems += repeated_problems(path, items) if self.unique else []
            if value is not None:
                r.report(too_few_problem(path, items, self.min_items, self.rule))
            return items
        if self.kind == "string":
            pattern = re.compile(self.pattern) if self.pattern else None
            text = r.string(path, value, self.default, pattern, self.hint)
            error = self.check(text) if self.check and text and value is not None else None
            if error:
                r.problem(f"{path}: '{self.shown(text)}' {error}")
                return self.default
            return text
        return value  # list, object, map, secret: read by the parser with their own rules


@dataclass(frozen=True)
class Section:
    """A group of keys: the top level, an object such as `ecs`, or each item of a list."""

    path: str  # "" for the top level; "runners[]" for each item of the runners list
    doc: str
    keys: tuple[Key, ...]
    modes: tuple[str, ...] = MODES
    # Keys that existed once and were taken out: {key: why, and what to do instead}.
    removed: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def key(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)

    def default(self, name: str) -> Any:
        return self.key(name).default

    def read(self, r: Reader, label: str, raw: Any, mode: str) -> dict[str, Any]:
        """Every key of this section as {attribute: value}; unknown keys are problems and keys
        of the other mode are warnings."""
        if isinstance(raw, dict):
            for name, why in self.removed:
                if name in raw:
                    r.problem(f"{label}.{name}: no longer supported; {why}")
            raw = {k: v for k, v in raw.items() if k not in dict(self.removed)}
        secrets = tuple(k.name for k in self.keys if k.kind == "secret")
        data = r.obj(label, raw, self.names, secrets)
        values: dict[str, Any] = {}
        for key in self.keys:
            path = f"{label}.{key.name}" if label else key.name
            if key.name in data and mode not in key.modes and mode in self.modes:
                r.warn(f"{path} is ignored in {mode} mode (it is used by {'/'.join(key.modes)})")
            values[key.attr] = key.read(r, path, data.get(key.name))
        return values
