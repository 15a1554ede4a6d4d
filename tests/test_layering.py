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
    sorted([*SOURCES, *(ROOT / "tests").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_over_450_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by concern"
