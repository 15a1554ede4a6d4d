"""EKS plans shared by the whole-program tests, evaluated once per session."""

from __future__ import annotations

import pytest

from components.offline.mocks import Plan
from tests.eks.support import ADMIN_ROLE, FULL_RUNNERS, eks_config
from tests.harness import shared_plan


@pytest.fixture(scope="session")
def plan() -> Plan:
    """Managers on Fargate; a fargate and a spot runner."""
    return shared_plan(eks_config())


@pytest.fixture(scope="session")
def full_plan() -> Plan:
    """Managers on EC2, all three lanes, an admin role."""
    return shared_plan(
        eks_config(
            runners=FULL_RUNNERS,
            eks={
                "managerPlacement": "ec2",
                "adminRoleArns": [ADMIN_ROLE],
                "systemCpuLimit": 4,
                "publicAccessCidrs": ["203.0.113.0/24"],
                "serviceCpu": 512,
                "serviceMemory": 1024,
                "defaultJobImage": "registry.example.com/ci/base:1",
            },
        )
    )
