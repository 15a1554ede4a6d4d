"""Go source helpers: top-level struct fields, the TOML keys they accept, quoted lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_STRUCT_START = re.compile(r"^type\s+(\w+)\s+struct\s*\{\s*$")
_FIELD = re.compile(r"^\s*(\w+)\s+([^`\s]+(?:\s+[^`\s]+)*?)\s*(`[^`]*`)?\s*(?://.*)?$")
_EMBEDDED = re.compile(r"^\s*(\*?[\w.]+)\s*(`[^`]*`)?\s*(?://.*)?$")
_TAG = re.compile(r'(\w+):"([^"]*)"')


def parse_go_structs(files: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Return {struct name: [field dicts]} for top-level struct types in ``files``.

    A field dict has ``name``, ``type``, ``tags`` and ``embedded``. Only gofmt-formatted
    one-field-per-line structs are understood, which is what upstream Go code uses.
    """
    structs: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        current: str | None = None
        depth = 0
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.rstrip()
            if current is None:
                m = _STRUCT_START.match(line)
                if m:
                    current, depth = m.group(1), 1
                    structs.setdefault(current, [])
                continue
            stripped = line.strip()
            depth += stripped.count("{") - stripped.count("}")
            if depth <= 0:
                current = None
                continue
            if depth > 1 or not stripped or stripped.startswith("//"):
                continue
            emb = _EMBEDDED.match(line)
            if emb and " " not in emb.group(1):
                tags = dict(_TAG.findall(emb.group(2) or ""))
                structs[current].append(
                    {
                        "name": emb.group(1).lstrip("*"),
                        "type": emb.group(1),
                        "tags": tags,
                        "embedded": True,
                    }
                )
                continue
            m = _FIELD.match(line)
            if m:
                tags = dict(_TAG.findall(m.group(3) or ""))
                structs[current].append(
                    {
                        "name": m.group(1),
                        "type": m.group(2).strip(),
                        "tags": tags,
                        "embedded": False,
                    }
                )
    return structs


def base_type(go_type: str) -> str:
    t = go_type
    while t.startswith(("*", "[]")):
        t = t[1:] if t.startswith("*") else t[2:]
    return t


def toml_keys(
    structs: dict[str, list[dict[str, Any]]], name: str, *, tagless_uses_field_name: bool = False
) -> dict[str, str]:
    """TOML keys accepted by struct ``name``: {key: Go type}, with embedded structs flattened.

    Anonymous embedded structs and ``toml:",squash"`` fields contribute their own keys.
    ``toml:"-"`` fields are skipped. Untagged fields are skipped unless
    ``tagless_uses_field_name`` (BurntSushi/toml then matches the Go field name).
    """
    keys: dict[str, str] = {}
    for field in structs.get(name, []):
        tag = field["tags"].get("toml")
        tag_name, _, opts = (tag or "").partition(",")
        if tag_name == "-":
            continue
        squash = "squash" in opts.split(",")
        if (field["embedded"] and not tag_name) or squash:
            keys.update(
                toml_keys(
                    structs,
                    base_type(field["type"]),
                    tagless_uses_field_name=tagless_uses_field_name,
                )
            )
            continue
        if tag is None and not tagless_uses_field_name:
            continue
        if not field["name"][0].isupper():
            continue
        keys[tag_name or field["name"]] = field["type"]
    return keys


def toml_sections(
    structs: dict[str, list[dict[str, Any]]],
    root: str,
    prefix: str,
    *,
    tagless_uses_field_name: bool = False,
    max_depth: int = 4,
) -> dict[str, dict[str, Any]]:
    """Walk from ``root`` and describe every nested TOML table whose struct is known."""
    out: dict[str, dict[str, Any]] = {}

    def walk(struct: str, section: str, depth: int) -> None:
        keys = toml_keys(structs, struct, tagless_uses_field_name=tagless_uses_field_name)
        out[section] = {"struct": struct, "keys": dict(sorted(keys.items()))}
        if depth >= max_depth:
            return
        for key, go_type in keys.items():
            base = base_type(go_type)
            if base in structs and base != struct:
                child = f"{section}.{key}" if section else key
                if child not in out:
                    walk(base, child, depth + 1)

    walk(root, prefix, 0)
    return out


def line_with(path: Path, needle: str) -> dict[str, Any] | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return {"line": number, "text": line.strip()}
    return None


def first_line(text: str, needle: str, before: int = 0) -> str | None:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if needle in line:
            return lines[max(0, i - before)].strip()
    return None
