"""The `pulumi config set` / `rm` commands a message offers as its fix, for a key path as
docs/configuration.md names it (`mode`, `ecs.maxJobsPerManager`, `runners[0].cpu`)."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

HIDDEN = object()  # a value that must not be echoed (a secret): the command shows <value>


def value_text(value: Any) -> str:
    """A value as a shell argument of `pulumi config set`."""
    if value is HIDDEN:
        return "<value>"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return shlex.quote(value)
    return shlex.quote(json.dumps(value, ensure_ascii=False))


def set_command(path: str, value: Any) -> str:
    """`pulumi config set` for a key path as docs/configuration.md names it (a.b, a[0].b)."""
    path = plain_path(path)
    nested = "." in path or "[" in path
    secret = "--secret " if value is HIDDEN else ""
    where = f"--path {shlex.quote(path)}" if nested else shlex.quote(path)
    if isinstance(value, dict | list):
        # `--path` takes one scalar per command: an object or a list goes in the stack file.
        text = json.dumps(value, ensure_ascii=False)
        return f"write it as {path}: {text} in the stack file (nested under its parents)"
    return f"pulumi config set {secret}{where} {value_text(value)}"


def rm_command(path: str, literal: bool = False) -> str:
    """`pulumi config rm`; `literal` for a top-level key whose name holds a dot."""
    path = plain_path(path)
    nested = ("." in path or "[" in path) and not literal
    return f"pulumi config rm {'--path ' if nested else ''}{shlex.quote(path)}"


def plain_path(label: str) -> str:
    """A message label without the "(name)" that messages add to list items."""
    return re.sub(r" \([^()]*\)", "", label)


def move_command(path: str, meant: str, value: Any) -> str:
    """The commands that move a value from the key it was written under to the key meant."""
    return f"{rm_command(path)} && {set_command(meant, value)}"
