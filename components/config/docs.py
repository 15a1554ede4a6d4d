"""Generates the configuration reference and the `config:` block of Pulumi.yaml from the schema.

    venv/bin/python -m components.config.docs          # rewrite both files
    venv/bin/python -m components.config.docs --check  # exit 1 when either is out of date

Both files keep hand-written text outside the generated block, between BEGIN/END markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from components.config.keys import PULUMI_TYPES, Key, Section
from components.config.schema import SECTIONS, TOP

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "configuration.md"
PROJECT_FILE = ROOT / "Pulumi.yaml"
BEGIN = "BEGIN GENERATED CONFIG (python -m components.config.docs)"
END = "END GENERATED CONFIG"


def _shown_default(key: Key) -> str:
    if key.default_doc:
        return key.default_doc
    if key.default is None or key.default == "":
        return "-"
    if isinstance(key.default, bool):
        return str(key.default).lower()
    if isinstance(key.default, tuple):
        return json.dumps(list(key.default))
    return str(key.default)


def _allowed(key: Key) -> str:
    if key.choices:
        return " | ".join(map(str, key.choices))
    if key.minimum is not None or key.maximum is not None:
        return f"{key.minimum if key.minimum is not None else ''}..{key.maximum or ''}"
    shown = [f"`{key.pattern}`"] if key.pattern else []
    return "; ".join([*shown, key.rule] if key.rule else shown)


def _type(key: Key) -> str:
    return {"strings": "list of strings", "map": "object", "secret": "secret object"}.get(
        key.kind, key.kind
    )


def _section_table(section: Section) -> list[str]:
    title = section.path or "top level"
    lines = [f"### `{title}`", "", section.doc, ""]
    lines += [
        "| Key | Type | Default | Allowed | Modes | Description |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key in section.keys:
        full = f"{section.path}.{key.name}" if section.path else key.name
        modes = "/".join(key.modes if set(key.modes) < set(section.modes) else section.modes)
        cells = [f"`{full}`", _type(key), _shown_default(key), _allowed(key), modes, key.doc]
        lines.append("| " + " | ".join(c.replace("|", "\\|") if c else "" for c in cells) + " |")
    return [*lines, ""]


def render_reference() -> str:
    lines: list[str] = []
    for section in SECTIONS:
        lines += _section_table(section)
    return "\n".join(lines)


def render_pulumi_config() -> str:
    """The `config:` block of Pulumi.yaml: scalar keys typed with defaults; objects untyped
    (Pulumi project config has no object type) and validated by components/config."""
    block: dict[str, Any] = {}
    for key in TOP.keys:
        entry: dict[str, Any] = {}
        if key.kind in PULUMI_TYPES:
            entry["type"] = PULUMI_TYPES[key.kind]
        entry["description"] = key.doc
        if key.kind == "secret":
            entry["secret"] = True
        elif key.default is not None:
            default = key.default
            entry["default"] = [dict(d) for d in default] if isinstance(default, tuple) else default
        block[key.name] = entry
    return yaml.safe_dump({"config": block}, sort_keys=False, width=100).rstrip()


def _replace_block(text: str, generated: str, begin: str, end: str) -> str:
    """Replace what lies between the marker lines `begin` and `end`."""
    head, found, rest = text.partition(begin + "\n")
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise SystemExit(f"missing marker line '{begin}' or '{end}'")
    return f"{head}{begin}\n{generated}\n{end}{tail}"


def expected_files() -> dict[Path, str]:
    markdown = _replace_block(
        REFERENCE.read_text(), render_reference(), f"<!-- {BEGIN} -->", f"<!-- {END} -->"
    )
    project = _replace_block(
        PROJECT_FILE.read_text(), render_pulumi_config(), f"# {BEGIN}", f"# {END}"
    )
    return {REFERENCE: markdown, PROJECT_FILE: project}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.config.docs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = [path for path, text in expected_files().items() if path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.name} is out of date: run venv/bin/python -m components.config.docs")
        return 1 if stale else 0
    for path, text in expected_files().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
