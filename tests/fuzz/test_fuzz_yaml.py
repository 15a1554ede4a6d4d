"""Property-based fuzzing of the stack file as text: unquoted YAML-looking scalars, random and
unicode text, blank values, repeated, deleted and re-indented lines in Pulumi.dev.yaml.

Reading must end in a StackFileError naming the file (and line), or in config values that the
parser refuses by key or accepts; nothing may raise anything else. No program evaluation here,
so it is cheap: the settings profile of test_fuzz_stack.py bounds it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.config import ConfigError, parse_config, schema
from components.offline.stack_file import StackFileError, read_stack_file
from tests.fuzz.test_fuzz_stack import PROFILE, SPECIAL, names_a_key
from tests.harness import DEV_STACK, sentinel

LINES = DEV_STACK.read_text().splitlines()
VALUE_LINE = re.compile(r"^(?P<head>\s*(- )?[\w:.-]+:)( (?P<value>.*))?$")
PLACES = [i for i, line in enumerate(LINES) if VALUE_LINE.match(line)]
TRICKY = [
    *SPECIAL,
    "010",
    "0o17",
    "0b101",
    "1_000",
    "+5",
    "08",
    ".5",
    "1e3",
    ".inf",
    "-.nan",
    "2001-12-14t21:59:43.10-05:00",
    "2024-1-2",
    "Yes",
    "NO",
    "~",
    "!!str 5",
    "!!int x",
    "&a 1",
    "*a",
    "[a, b]",
    "{a: 1}",
    "[",
    "{",
    "'unterminated",
    '"\\ud83d"',
    "|",
    ">",
    "- x",
    "a: b",
    "# comment",
    "%",
    "@x",
    "`x`",
    "\t1",
]
OPERATIONS = ("value", "value", "value", "repeat", "delete", "blank", "indent")


@st.composite
def stack_texts(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.sampled_from(PLACES))
        match = VALUE_LINE.match(lines[index]) if index < len(lines) else None
        if match is None:  # an earlier operation changed the line
            continue
        operation = draw(st.sampled_from(OPERATIONS))
        if operation == "value":
            token = draw(st.one_of(st.sampled_from(TRICKY), st.text(max_size=16)))
            lines[index] = f"{match['head']} {token}"
        elif operation == "repeat":
            lines.insert(index + 1, lines[index])
        elif operation == "delete":
            del lines[index]
        elif operation == "blank":
            lines[index] = match["head"]
        else:
            lines[index] = " " + lines[index]
    return "\n".join(lines) + "\n"


def check_text(folder: Path, text: str) -> None:
    path = folder / "Pulumi.fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        stack_file = read_stack_file(path)
    except StackFileError as error:
        assert re.match(rf"{re.escape(str(path))}( line \d+)?: ", str(error)), str(error)
        return
    raw: dict[str, Any] = json.loads(json.dumps(stack_file.project_config))  # as mocks pass it
    names = [r.get("name") for r in raw.get("runners") or [] if isinstance(r, dict)]
    valid = [n for n in names if isinstance(n, str) and re.fullmatch(schema.NAME_PATTERN, n)]
    raw["runnerTokens"] = {n: sentinel(n) for n in valid}
    try:
        parse_config(raw)
    except ConfigError as error:
        for problem in error.problems:
            assert names_a_key(problem, list(raw)), problem


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-yaml")


def test_every_edited_stack_file_is_read_or_refused_cleanly(folder: Path) -> None:
    @settings(PROFILE, max_examples=PROFILE.max_examples * 5)
    @given(stack_texts())
    def example(text: str) -> None:
        check_text(folder, text)

    example()
