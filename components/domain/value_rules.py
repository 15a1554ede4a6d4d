"""The texts of the single-value rules, one function each: the stack file's reader
(components/config/reader.py) and the fleets' args checks (fleet_rules.py, lane_rules.py)
word a value out of range, not among its choices or not matching its pattern the same way."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


def shown(value: object) -> str:
    """A value as its author typed it: text in quotes, '' marked as empty, else JSON."""
    if value == "":
        return '"" (empty)'
    if isinstance(value, str):
        return f"'{value}'"
    return json.dumps(value, default=str, ensure_ascii=False)


def range_problem(path: str, value: int, minimum: int, maximum: int | None = None) -> str | None:
    if value >= minimum and (maximum is None or value <= maximum):
        return None
    bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
    return f"{path}: {value} is out of range; use a value {bound}"


def choice_problem(path: str, value: object, choices: Sequence[object]) -> str | None:
    if not isinstance(value, bool) and value in choices:
        return None
    return f"{path}: {shown(value)} is not one of {' | '.join(map(str, choices))}; pick one of them"


def pattern_problem(path: str, value: str, pattern: str, hint: str) -> str | None:
    if re.fullmatch(pattern, value):
        return None
    return f"{path}: '{value}' is not valid; {hint}"


def item_problems(path: str, items: Sequence[str], check: Callable[[str], str | None]) -> list[str]:
    """A list's items by their own rule (`check`: item -> why not, or None)."""
    return [f"{path}: '{item}' {error}" for item in items if (error := check(item))]


def too_few_problem(path: str, items: Sequence[str], least: int, rule: str = "") -> str | None:
    if len(items) >= least:
        return None
    count = "one" if least == 1 else str(least)
    return f"{path}: {list(items)} has {len(items)} item(s); list at least {count}" + (
        f" ({rule})" if rule else ""
    )


def repeated_problems(path: str, items: Sequence[str]) -> list[str]:
    """A list whose items must differ (subnets, roles given access, CIDR rules)."""
    return [
        f"{path}: '{item}' is listed more than once; list each one once"
        for item in sorted({i for i in items if items.count(i) > 1})
    ]


def one_of(allowed: tuple[str, ...]) -> Callable[[str], str | None]:
    """A check of each item of a list against its choices."""
    return lambda v: None if v in allowed else f"is not one of {' | '.join(allowed)}"


class Findings(Protocol):
    """Where a rule that can also warn reports: the stack file's Reader, or `Found`."""

    def problem(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


@dataclass
class Found:
    """Problems (the deployment must not go ahead) and warnings (it may), as a rule found them."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
