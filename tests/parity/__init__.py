"""Plan parity: what the engine would receive for a fixed set of stacks, committed as JSON.

For each stack of tests/parity/stacks.py, tests/parity/baseline/<stack>.json holds every
resource the program registers under the recording mocks: type, name, URN, parent chain,
inputs (secrets redacted as the recorder does) and engine options (dependencies, aliases,
deleted_with, ignore_changes, protect, delete_before_replace, custom timeouts, provider...).
tests/parity/test_parity.py compares today's plans with it, so a refactor that must change no
resource (issue 24) proves it. After an intended change, refresh and review the diff:
`venv/bin/python -m tests.parity --update`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from components.naming import PROJECT
from components.offline.mocks import Plan, RecordedResource
from tests.harness import ROOT, shared_plan
from tests.parity.stacks import STACKS

BASELINE_DIR = Path(__file__).resolve().parent / "baseline"
REFRESH_COMMAND = "venv/bin/python -m tests.parity --update"
# Longer strings (scripts, policies, rendered files) are kept as a digest: the golden files
# and the plan command show their text; the baseline only has to notice a change.
LONGEST_KEPT = 160


def _plain(value: Any, urn_prefix: str) -> Any:
    """JSON with stable, short strings: URNs without the stack/project prefix, the checkout's
    path as <repo>, long text as its digest."""
    if isinstance(value, dict):
        return {k: _plain(v, urn_prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, urn_prefix) for v in value]
    if not isinstance(value, str):
        return value
    text = value.replace(urn_prefix, "").replace(str(ROOT), "<repo>")
    if len(text) <= LONGEST_KEPT:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"<{len(text)} chars, sha256 {digest}>"


def _options(resource: RecordedResource, short: dict[str, str]) -> dict[str, Any]:
    """The engine options that are set (defaults left out to keep the file short), with the
    resources they name by their short names."""

    def names(urns: list[str]) -> list[str]:
        return sorted(short.get(urn, urn) for urn in urns)

    options = {
        "dependencies": names(resource.dependencies),
        "property_dependencies": {
            key: names(urns) for key, urns in resource.property_dependencies.items() if urns
        },
        "replace_on_changes": sorted(resource.replace_on_changes),
        "ignore_changes": sorted(resource.ignore_changes),
        "custom_timeouts": resource.custom_timeouts,
        "delete_before_replace": resource.delete_before_replace,
        "retain_on_delete": resource.retain_on_delete,
        "protect": resource.protect,
        "deleted_with": short.get(resource.deleted_with, resource.deleted_with),
        "import_id": resource.import_id,
        "provider": short.get(resource.provider, resource.provider),
        "aliases": resource.aliases,
    }
    return {key: value for key, value in options.items() if value}


def snapshot(plan: Plan, stack: str = "dev") -> dict[str, Any]:
    """A plan as the baseline stores it: resources sorted by URN, each with its parent chain
    (nearest parent first) and its options. Other resources are named by their name where it is
    unique in the plan, else by "type::name" (the URN's own part, also unique)."""
    by_urn = {r.urn: r for r in plan.resources}
    counts = Counter(r.name for r in plan.resources)
    short = {
        r.urn: r.name if counts[r.name] == 1 else r.urn.rsplit("$", 1)[-1] for r in plan.resources
    }
    prefix = f"urn:pulumi:{stack}::{PROJECT}::"
    resources = []
    for resource in sorted(plan.resources, key=lambda r: r.urn):
        parents, parent = [], by_urn.get(resource.parent or "")
        while parent is not None:
            parents.append(short[parent.urn])
            parent = by_urn.get(parent.parent or "")
        entry = {
            "urn": resource.urn,
            "type": resource.type,
            "name": resource.name,
            "parents": parents,
            "custom": resource.custom,
            "inputs": resource.redacted_inputs,
            "options": _options(resource, short),
        }
        resources.append(_plain(entry, prefix))
    return {"resources": resources}


def plan_of(stack: str) -> Plan:
    return shared_plan(STACKS[stack]())


def stored(stack: str) -> dict[str, Any]:
    path = BASELINE_DIR / f"{stack}.json"
    return json.loads(path.read_text()) if path.is_file() else {"resources": []}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _first_field(old: Any, new: Any, path: str) -> str | None:
    """The path of the first difference between two JSON values, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            if key not in new:
                return f"{path}.{key}: removed (was {json.dumps(old[key])[:200]})"
            if key not in old:
                return f"{path}.{key}: added ({json.dumps(new[key])[:200]})"
            found = _first_field(old[key], new[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found = _first_field(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    if old == new:
        return None
    return f"{path}: was {json.dumps(old)[:200]}, now {json.dumps(new)[:200]}"


def difference(stack: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """A readable account of how a stack's plan moved from the baseline: resources gone and
    new, then the first differing field of the first changed resource."""
    before = {r["urn"]: r for r in old["resources"]}
    after = {r["urn"]: r for r in new["resources"]}
    lines = [f"- {urn}" for urn in sorted(before.keys() - after.keys())]
    lines += [f"+ {urn}" for urn in sorted(after.keys() - before.keys())]
    changed = [u for u in sorted(before.keys() & after.keys()) if before[u] != after[u]]
    if changed:
        field = _first_field(before[changed[0]], after[changed[0]], "")
        lines.append(f"~ {changed[0]}\n    {field.lstrip('.') if field else '?'}")
        if len(changed) > 1:
            lines.append(f"  ({len(changed) - 1} more resources changed)")
    if not lines:
        return None
    return f"plan of stack {stack!r} differs from tests/parity/baseline/{stack}.json:\n" + (
        "\n".join(lines)
    )
