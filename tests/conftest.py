"""Plans of the example stack, evaluated once per test session (per xdist worker) and shared
by every test that only reads them (a plan takes a few hundred milliseconds to evaluate)."""

from __future__ import annotations

import gc
import sys
from collections import Counter

import pytest

from components.offline.mocks import Plan
from tests.harness import company_config, dev_config, shared_plan

# A plan evaluation allocates ~100k short-lived objects (futures, tasks, outputs) while the
# session keeps every shared plan alive: at the default thresholds (700, 10, 10) the collector
# rescans that live heap so often that it costs a third of the suite's CPU. Rarer collections
# still free the cycles pulumi's outputs leave (peak memory grows by ~100 MB per worker).
# A young generation of 200k holds a few whole evaluations: most of their objects are garbage
# by the time it is scanned, fewer survivors are promoted and scanned again (the suite's CPU
# -3% and its peak memory -10% against 50k; 500k scans slower per object).
GC_THRESHOLDS = (200_000, 20, 100)

# Modules of a few tests that take seconds each: the README's commands in subprocesses and the
# Hypothesis runs. xdist's loadscope hands out modules largest (by test count) first, which
# left these for last and one worker running them alone at the end. They go first instead
# (longest first), the rest by test count as xdist would (`--no-loadscope-reorder` in addopts
# keeps this order).
RUN_FIRST = ("tests/test_readme.py", "tests/fuzz/test_fuzz_stack.py", "tests/fuzz/")


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def _first_rank(nodeid: str) -> int:
    return next((i for i, p in enumerate(RUN_FIRST) if nodeid.startswith(p)), len(RUN_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    module = [item.nodeid.split("::")[0] for item in items]
    counts = Counter(module)
    order = {name: i for i, name in enumerate(dict.fromkeys(module))}
    rank = {
        item.nodeid: (_first_rank(name), -counts[name], order[name])
        for item, name in zip(items, module, strict=True)
    }
    items.sort(key=lambda item: rank[item.nodeid])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The xdist controller collects no test, so Hypothesis's plugin imported Hypothesis (~1 s)
    for its summary after the last test, while both workers sat idle. The first report is
    the controller's idle moment to do it (the workers hold queued modules)."""
    if "hypothesis" not in sys.modules:
        import hypothesis  # noqa: F401


def pytest_collection_finish(session: pytest.Session) -> None:
    """The imported modules and the collected tests live to the end: keep them out of every
    collection."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def ecs_dev_plan() -> Plan:
    """Pulumi.dev.yaml as committed: an on-demand and a spot runner, two catalogue entries."""
    return shared_plan(dev_config())


@pytest.fixture(scope="session")
def eks_dev_plan() -> Plan:
    """Pulumi.dev.yaml switched to `mode: eks`, nothing else changed."""
    return shared_plan(dev_config(mode="eks"))


@pytest.fixture(scope="session")
def ecs_company_plan() -> Plan:
    """The example for a self-managed GitLab behind a private CA and a proxy (issue 27)."""
    return shared_plan(company_config())


@pytest.fixture(scope="session")
def eks_company_plan() -> Plan:
    """The same in eks mode."""
    return shared_plan(company_config(mode="eks"))


@pytest.fixture(scope="session")
def to_ecs() -> Plan:
    """Step 1 of a switch from EKS: `mode: ecs` serving, `switchFrom: eks` retiring."""
    return shared_plan(dev_config(mode="ecs", switchFrom="eks"))


@pytest.fixture(scope="session")
def to_eks() -> Plan:
    """Step 1 of a switch from ECS: `mode: eks` serving, `switchFrom: ecs` retiring."""
    return shared_plan(dev_config(mode="eks", switchFrom="ecs"))
