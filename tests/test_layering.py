"""The tree reads bottom-up: domain facts, then config, then shared components, then the
topologies, then the switch and the tools. A module that imports upward, or grows past 450
lines, fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "components"
MAX_LINES = 450

# Bottom-up: each layer may import only the layers before it (and itself); the topologies, the
# switch and the tools above them import what they need. observability and shared both sit
# on config and do not import each other.
LAYERS = (
    "components.domain",
    "components.config",
    "components.observability",
    "components.shared",
)
ABOVE = (
    "components.ecs",
    "components.eks",
    "components.gitlab",
    "components.offline",
    "components.capacity",
    "components.topology",
    "components.preflight",
)
# package -> the project packages it must never import (directly or lazily inside a function)
FORBIDDEN = {layer: (*LAYERS[i + 1 :], *ABOVE) for i, layer in enumerate(LAYERS)}
FORBIDDEN["components.observability"] = (*ABOVE, "components.shared")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


SOURCES = sorted(COMPONENTS.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_upward(path: Path) -> None:
    name = _module_name(path)
    for package, forbidden in FORBIDDEN.items():
        if name == package or name.startswith(f"{package}."):
            upward = sorted(
                i for i in _imports(path) for f in forbidden if i == f or i.startswith(f"{f}.")
            )
            assert not upward, f"{name} (in {package}) imports {upward}"


def test_the_layering_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from components.eks.cluster import EksCluster\n")
    assert "components.eks.cluster" in _imports(module)


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *SOURCES,
            *(ROOT / "tests").rglob("*.py"),
            *(ROOT / "scripts").rglob("*.py"),
            *(ROOT / "provider").rglob("*.py"),
            *(ROOT / "examples").rglob("*.py"),
        ]
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_over_450_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by concern"


# The component package: what a program of your own imports. Its args say everything it needs,
# so nothing in it reads the stack program's config or the stack's name (two fleets in one
# stack, or a fleet in someone else's program, would otherwise collide or read the wrong keys).
PACKAGE = ("ecs", "eks", "shared", "gitlab", "observability")
PACKAGE_SOURCES = sorted(p for d in PACKAGE for p in (COMPONENTS / d).rglob("*.py"))
STACK_STATE_CALLS = ("get_stack", "get_project", "Config")


def _stack_state_reads(path: Path) -> list[str]:
    """`pulumi.get_stack()`, `pulumi.Config(...)` and friends, however they are imported."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in STACK_STATE_CALLS:
            if isinstance(node.value, ast.Name) and node.value.id == "pulumi":
                found.append(f"pulumi.{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.ImportFrom) and node.module == "pulumi":
            found.extend(
                f"from pulumi import {a.name} (line {node.lineno})"
                for a in node.names
                if a.name in STACK_STATE_CALLS
            )
    return found


@pytest.mark.parametrize("path", PACKAGE_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_package_reads_no_stack_config(path: Path) -> None:
    config_imports = sorted(i for i in _imports(path) if i.startswith("components.config"))
    assert not config_imports, f"{path.relative_to(ROOT)} imports {config_imports}"
    assert not _stack_state_reads(path), f"{path.relative_to(ROOT)}: {_stack_state_reads(path)}"


def test_the_stack_state_check_sees_a_config_read(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import pulumi\n\nprefix = pulumi.get_stack()\naws = pulumi.Config('aws')\n")
    assert len(_stack_state_reads(module)) == 2
