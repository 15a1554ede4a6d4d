"""Reads untyped config values, collecting every problem instead of stopping at the first."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any


def did_you_mean(key: str, known: Iterable[str], otherwise: str) -> str:
    """The closest known name for a typo, else the given advice. A name that differs only in
    case wins (gitlabURL -> gitlabUrl, not the shorter gitlab)."""
    same = [k for k in known if k.lower() == key.lower()]
    close = same or difflib.get_close_matches(key, list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else otherwise


class Reader:
    """Collects problems (the deployment must not go ahead) and warnings (it may)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def obj(self, path: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        """An object whose keys must all be known; unknown ones get a "did you mean"."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"{path}: expected an object, got {json.dumps(value)}")
            return {}
        for key in value:
            if key not in allowed:
                hint = did_you_mean(key, allowed, f"known keys: {', '.join(allowed)}")
                where = f"{path}.{key}" if path else key
                self.problem(f"{where}: unknown {'key' if path else 'configuration key'}; {hint}")
        return {k: v for k, v in value.items() if k in allowed}

    def integer(
        self, path: str, value: Any, default: int, minimum: int, maximum: int | None = None
    ) -> int:
        if value is None:
            return default
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{path}: expected a whole number, got {json.dumps(value)}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.problem(f"{path}: {value} is out of range; use a value {bound}")
            return default
        return value

    def boolean(self, path: str, value: Any, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.problem(f"{path}: expected true or false, got {json.dumps(value)}")
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
            self.problem(f"{path}: expected a non-empty string, got {json.dumps(value)}")
            return default
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(f"{path}: '{value}' is not valid; {hint}")
            return default
        return value

    def choice(self, path: str, value: Any, default: Any, choices: tuple[Any, ...]) -> Any:
        if value is None:
            return default
        if isinstance(value, str) and all(isinstance(c, int) for c in choices):
            value = int(value) if value.strip().isdigit() else value
        if value not in choices:
            shown = f"'{value}'" if isinstance(value, str) else json.dumps(value)
            options = " | ".join(map(str, choices))
            self.problem(f"{path}: {shown} is not one of {options}; pick one of them")
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
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(f"{path}: expected a list of strings, got {json.dumps(value)}")
            return default
        for item in value:
            error = check(item) if check else None
            if error:
                self.problem(f"{path}: '{item}' {error}")
        return tuple(value)

    def string_map(self, path: str, value: Any, example: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.problem(f"{path}: expected an object of string values, e.g. {example}")
            return {}
        return dict(value)
