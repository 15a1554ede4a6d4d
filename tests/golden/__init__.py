"""Golden copies of the runner files the example stack renders, in both modes.

The files under tests/golden/<mode>/ are what Pulumi.dev.yaml renders (manager user data,
config.toml and fargate-*.toml in ecs mode; each release's Helm values and runners.config TOML
in eks mode). tests/test_golden.py compares them with a fresh evaluation; after an intended
change, refresh them with `python -m tests.golden --update` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

from components.offline.mocks import Plan
from tests.harness import dev_config, run_program

GOLDEN_DIR = Path(__file__).resolve().parent
MODES = ("ecs", "eks")
REFRESH_COMMAND = "python -m tests.golden --update"


def stored(mode: str) -> dict[str, str]:
    """The golden files of a mode, keyed by their path below tests/golden/<mode>/."""
    root = GOLDEN_DIR / mode
    return {
        path.relative_to(root).as_posix(): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def rendered(plan: Plan) -> dict[str, str]:
    """A plan's rendered files keyed like `stored`."""
    return {path.lstrip("/"): text for path, text in plan.rendered_files.items()}


def example_plan(mode: str) -> Plan:
    return run_program(dev_config(mode=mode))


def update(mode: str, plan: Plan) -> list[str]:
    """Rewrite a mode's golden files from a plan; returns the paths that changed."""
    fresh = rendered(plan)
    old = stored(mode)
    for path in old.keys() - fresh.keys():
        (GOLDEN_DIR / mode / path).unlink()
    for path, text in fresh.items():
        target = GOLDEN_DIR / mode / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return sorted(p for p in old.keys() | fresh.keys() if old.get(p) != fresh.get(p))
