"""Golden copies of the runner files the example stack renders, in both modes.

The files under tests/golden/<variant>/ are what Pulumi.dev.yaml renders (manager user data,
config.toml and fargate-*.toml in ecs mode; each release's Helm values and runners.config TOML
in eks mode); the `-company` variants are the same stack for a self-managed GitLab with a
private CA and a proxy (tests.harness.company_config). tests/test_golden.py compares them with
a fresh evaluation; after an intended change, refresh them with
`python -m tests.golden --update` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

from components.offline.mocks import Plan
from tests.harness import company_config, dev_config, run_program

GOLDEN_DIR = Path(__file__).resolve().parent
MODES = ("ecs", "eks", "ecs-company", "eks-company")
# The session fixture (tests/conftest.py) holding each variant's plan.
FIXTURES = {
    "ecs": "ecs_dev_plan",
    "eks": "eks_dev_plan",
    "ecs-company": "ecs_company_plan",
    "eks-company": "eks_company_plan",
}
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


def example_plan(variant: str) -> Plan:
    mode, _, company = variant.partition("-")
    return run_program(company_config(mode=mode) if company else dev_config(mode=mode))


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
