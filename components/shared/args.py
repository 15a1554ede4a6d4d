"""The error a component raises for bad args, before it registers anything."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi


class InvalidArgsError(pulumi.RunError):
    """Problems in a component's args, one per line, each naming its field.

    A RunError, so `pulumi preview` prints the message without a Python traceback; raised
    before the component registers, so nothing is half created."""

    def __init__(self, component: str, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"invalid args for {component} ({len(self.problems)} problem(s)):\n{lines}"
        )


def check_args(component: str, problems: Sequence[str]) -> None:
    if problems:
        raise InvalidArgsError(component, problems)
