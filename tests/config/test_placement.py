"""ECS subnet capacity follows the managers' placement, and the fixes the refusal offers plan.

One manager puts runner r in private subnet r mod n; several put manager i's tasks in subnet
i mod n (ecs/sizing.py shard_subnet; docs/ecs-operations.md), so the check counts each
manager's share where it lands.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from tests.harness import dev_config, run_program

TASK = "aws:ecs/taskDefinition:TaskDefinition"


def small_vpc(concurrency: int, **ecs: Any) -> dict[str, Any]:
    """One runner on a /20 (private /23s of 380 jobs each), two zones."""
    return dev_config(
        runners=[{"name": "big", "concurrency": concurrency}],
        runnerTokens=None,
        network={"vpcCidr": "10.0.0.0/20", "availabilityZones": 2},
        ecs={"maxJobsPerManager": 250, **ecs},
    )


def refusal(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    (problem,) = [p for p in caught.value.problems if p.startswith("runners:")]
    return problem


def test_a_runner_spread_over_two_managers_fits_two_small_subnets() -> None:
    """The issue's case: 400 jobs on a /20 were refused as "must fit in one subnet", but two
    managers put 200 in each zone."""
    config, _ = parse_config(small_vpc(400, maxJobsPerManager=200))
    assert config.network.layout is not None


def test_the_fixes_the_refusal_names_really_plan() -> None:
    raw = small_vpc(700)
    problem = refusal(raw)
    assert "467 concurrent jobs land in one private subnet" in problem
    assert "hold 380" in problem and "network.availabilityZones: 3" in problem
    assert "ecs.maxJobsPerManager: 175" in problem
    more_zones = {**raw, "network": {**raw["network"], "availabilityZones": 3}}
    assert parse_config(more_zones)[0].network.layout is not None
    plan = run_program({**raw, "ecs": {"maxJobsPerManager": 175}})
    assert plan.all(TASK)


def test_no_fix_is_named_that_would_not_plan() -> None:
    """800 jobs never fit two /23s (760): the message offers no cap, only more zones (4: with
    managers 0..3 three zones still put two shares in zone 0)."""
    problem = refusal(small_vpc(800, maxJobsPerManager=200))
    assert "network.availabilityZones: 4" in problem and "ecs.maxJobsPerManager:" not in problem
