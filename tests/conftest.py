"""Plans of the example stack, evaluated once per test session and shared by every test that
only reads them (a plan takes a few hundred milliseconds to evaluate)."""

from __future__ import annotations

import pytest

from components.offline.mocks import Plan
from tests.harness import company_config, dev_config, run_program


@pytest.fixture(scope="session")
def ecs_dev_plan() -> Plan:
    """Pulumi.dev.yaml as committed: an on-demand and a spot runner, two catalogue entries."""
    return run_program(dev_config())


@pytest.fixture(scope="session")
def eks_dev_plan() -> Plan:
    """Pulumi.dev.yaml switched to `mode: eks`, nothing else changed."""
    return run_program(dev_config(mode="eks"))


@pytest.fixture(scope="session")
def ecs_company_plan() -> Plan:
    """The example for a self-managed GitLab behind a private CA and a proxy (issue 27)."""
    return run_program(company_config())


@pytest.fixture(scope="session")
def eks_company_plan() -> Plan:
    """The same in eks mode."""
    return run_program(company_config(mode="eks"))
