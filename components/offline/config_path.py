"""`--set KEY=VALUE` for the offline plan, with the key syntax of `pulumi config set --path`.

Keys are `[namespace:]name` followed by `.field`, `[index]` or `["quoted.field"]` segments:
`mode`, `aws:region`, `runners[0].concurrency`, `ecs.runnerVersion`. A key without a namespace
belongs to this project. Values are typed the way the Pulumi CLI stores them without `--type`
(pulumi/pulumi#18285): a top-level value is always a string; below the top level, `true` and
`false` become booleans and integers without a leading zero become numbers, everything else
stays a string. The config parser accepts numeric and boolean strings where it expects numbers
and booleans, so `--set mode=eks` and `--set 'runners[0].concurrency=50'` both work.

Lists are set item by item, as with the Pulumi CLI: `eks.publicAccessCidrs[0]=1.2.3.4/32`, then
`[1]`. A nested value written as a JSON list or object, `eks.publicAccessCidrs=["1.2.3.4/32"]`,
is stored as that list or object, the same as setting its items one by one (the Pulumi CLI
would store that text as a string: use the item form there). A top-level JSON value stays a
string, as Pulumi stores it, and the program decodes it: `runners=[{"name": "a"}]`.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from components.naming import PROJECT

Segment = str | int
_SEGMENT = re.compile(r'\.([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
FIELD_NAME = re.compile(r'[^.\[\]"]+')
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


class SettingError(ValueError):
    """A `--set` argument the plan cannot apply; the message names it and the fix."""


def parse_key(key: str) -> tuple[str, list[Segment]]:
    """`runners[0].tags` -> ("gitlab-fargate-runners:runners", [0, "tags"])."""
    head = FIELD_NAME.match(key)
    if head is None:
        raise SettingError(f"'{key}': a key starts with a name, e.g. mode or runners[0].name")
    name = head.group(0)
    full = name if ":" in name else f"{PROJECT}:{name}"
    path: list[Segment] = []
    position = head.end()
    while position < len(key):
        match = _SEGMENT.match(key, position)
        if match is None:
            raise SettingError(
                f"'{key}': cannot read the path at '{key[position:]}'; use .field, [index] "
                'or ["field.with.dots"]'
            )
        field, index, quoted = match.groups()
        if index is not None:
            path.append(int(index))
        else:
            path.append(field if field is not None else json.loads(f'"{quoted}"'))
        position = match.end()
    return full, path


def typed_value(text: str, nested: bool, setting: str = "") -> Any:
    """The value as `pulumi config set --path` would store it, or, nested, the list or object
    a JSON value spells (see the module docstring)."""
    if not nested:
        return text
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise SettingError(
                f"'{setting or text}': the value starts like a JSON list or object but is not "
                f"valid JSON ({error.msg} at character {error.pos}); quote strings, as in "
                """["1.2.3.4/32"], or set items by path: KEY[0]=VALUE"""
            ) from None
    if text in ("true", "false"):
        return text == "true"
    if _INTEGER.fullmatch(text):
        return int(text)
    return text


def _child(container: Any, segment: Segment, next_segment: Segment) -> Any:
    """The container at `segment`, created (object or list) when it does not exist yet."""
    fresh: Any = [] if isinstance(next_segment, int) else {}
    if isinstance(segment, int):
        if segment == len(container):
            container.append(fresh)
        return container[segment]
    if container.get(segment) is None:
        container[segment] = fresh
    return container[segment]


def _check_container(container: Any, segment: Segment, setting: str) -> None:
    if isinstance(container, dict) and set(container) == {"secure"}:
        raise SettingError(f"'{setting}': the value there is encrypted; set the whole key")
    if isinstance(segment, int):
        if not isinstance(container, list):
            raise SettingError(
                f"'{setting}': [{segment}] indexes a value that is not a list; set the list "
                'item by item (KEY[0]=VALUE, KEY[1]=VALUE) or as JSON (KEY=["VALUE"])'
            )
        if segment > len(container):
            raise SettingError(
                f"'{setting}': index {segment} is past the end of the list ({len(container)} "
                "items); use the next free index to add one"
            )
    elif not isinstance(container, dict):
        raise SettingError(f"'{setting}': .{segment} reaches into a value that is not an object")


def apply_setting(config: dict[str, Any], setting: str) -> None:
    """Apply one `KEY=VALUE` to a stack file's `config:` mapping (full keys), in place."""
    key, sep, text = setting.partition("=")
    if not sep or not key:
        raise SettingError(f"'{setting}': expected KEY=VALUE, e.g. mode=eks")
    full, path = parse_key(key)
    if not path:
        config[full] = typed_value(text, nested=False)
        return
    if config.get(full) is None:
        config[full] = [] if isinstance(path[0], int) else {}
    container = config[full]
    for segment, next_segment in itertools.pairwise(path):
        _check_container(container, segment, setting)
        container = _child(container, segment, next_segment)
    _check_container(container, path[-1], setting)
    value = typed_value(text, nested=True, setting=setting)
    if isinstance(path[-1], int) and path[-1] == len(container):
        container.append(value)
    else:
        container[path[-1]] = value
