"""Managers sized and sharded: no manager above the cap, every runner's concurrency kept."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from typing import Any

import pytest

from components.config import parse_config
from components.config.model import RunnerSpec
from components.domain.subnets import ecs_load_per_subnet
from components.ecs.sizing import (
    MANAGER_TYPES,
    manager_instance_type,
    plan_shards,
    shard_subnet,
)
from components.offline.mocks import Plan
from tests.ecs.support import ASG, LAUNCH_TEMPLATE, named
from tests.harness import dev_config

RUNNERS = {"build": 500, "test": 301, "spot": 199}


def shard_toml(plan: Plan, index: int, path: str) -> dict[str, Any]:
    """A file of manager `index` (shard 0's keep their plain paths)."""
    key = path if index == 0 else f"manager-{index}:{path}"
    return tomllib.loads(plan.rendered_files[key])


def test_1000_jobs_make_five_managers_none_above_the_cap(ecs_sharded_plan: Plan) -> None:
    plan = ecs_sharded_plan
    managers = plan.outputs["managers"]
    assert len(managers) == 5
    assert [m["jobs"] for m in managers] == [200] * 5
    assert [m["autoScalingGroupName"] for m in managers] == [
        "ecs-manager-asg",
        *(f"ecs-manager-{i}-asg" for i in range(1, 5)),
    ]
    limits: dict[str, int] = defaultdict(int)
    for index in range(5):
        document = shard_toml(plan, index, "/etc/gitlab-runner/config.toml")
        shares = {r["name"]: r["limit"] for r in document["runners"]}
        assert all(limit > 0 for limit in shares.values())  # 0 would mean unlimited
        assert document["concurrent"] == sum(shares.values()) <= 200
        for name, limit in shares.items():
            limits[name] += limit
    assert dict(limits) == RUNNERS


def test_each_shard_puts_a_runner_in_another_zone(ecs_sharded_plan: Plan) -> None:
    plan = ecs_sharded_plan
    for runner in RUNNERS:
        subnets = [
            shard_toml(plan, i, f"/etc/gitlab-runner/fargate-{runner}.toml")["Fargate"]["Subnet"]
            for i in range(3)
        ]
        assert len(set(subnets)) == 3, runner  # three zones, three managers, three subnets


def test_managers_are_sized_from_their_job_count(ecs_sharded_plan: Plan) -> None:
    plan = ecs_sharded_plan
    for index, suffix in enumerate(["", "-1", "-2", "-3", "-4"]):
        template = named(plan, LAUNCH_TEMPLATE, f"ecs-manager{suffix}-lt")
        assert template["instanceType"] == "m6i.2xlarge", index
    for group in plan.all(ASG):
        assert group.inputs["desiredCapacity"] == 1


def test_small_stacks_keep_one_manager_with_todays_names(ecs_dev_plan: Plan) -> None:
    plan = ecs_dev_plan
    assert [r.name for r in plan.all(ASG)] == ["ecs-manager-asg"]
    assert [r.name for r in plan.all(LAUNCH_TEMPLATE)] == ["ecs-manager-lt"]
    document = tomllib.loads(plan.rendered_files["/etc/gitlab-runner/config.toml"])
    assert {r["name"]: r["limit"] for r in document["runners"]} == {
        "fargate": 20,
        "fargate-spot": 20,
    }


def test_an_explicit_instance_type_wins() -> None:
    config, _ = parse_config(dev_config(ecs={"managerInstanceType": "c6i.large"}))
    assert config.ecs.manager_instance_type == "c6i.large"


def test_plan_shards_balances_remainders_and_skips_empty_shares() -> None:
    config, _ = parse_config(
        dev_config(
            runners=[{"name": "a", "concurrency": 3}, {"name": "b", "concurrency": 2}],
            ecs={"maxJobsPerManager": 1},
        )
    )
    shards = plan_shards(config.runners, 1)
    assert [s.jobs for s in shards] == [1] * 5
    assert [[(r.runner.name, r.limit) for r in s.runners] for s in shards] == [
        [("a", 1)],
        [("a", 1)],
        [("a", 1)],
        [("b", 1)],
        [("b", 1)],
    ]


@pytest.mark.parametrize("total", [1, 7, 199, 200, 201, 999, 1000, 2001])
def test_plan_shards_never_exceeds_the_cap(total: int) -> None:
    config, _ = parse_config(
        dev_config(
            runners=[
                {"name": "a", "concurrency": min(total, 2000)},
                {"name": "b", "concurrency": 1},
            ]
        )
    )
    shards = plan_shards(config.runners, 200)
    assert max(s.jobs for s in shards) <= 200
    assert sum(s.jobs for s in shards) == min(total, 2000) + 1


def test_sizing_table_follows_the_per_job_budget() -> None:
    assert [(t.name, t.max_jobs) for t in MANAGER_TYPES] == [
        ("t3.small", 19),
        ("t3.large", 30),
        ("m6i.large", 50),
        ("m6i.xlarge", 100),
        ("m6i.2xlarge", 200),
        ("m6i.4xlarge", 400),
    ]
    assert manager_instance_type(10) == "t3.small"
    assert manager_instance_type(40) == "m6i.large"
    assert manager_instance_type(250) == "m6i.4xlarge"
    with pytest.raises(ValueError):
        manager_instance_type(401)


def test_shard_subnet_rotates_over_zones() -> None:
    """One manager: runner r in subnet r mod n. Several: manager i in subnet i mod n for every
    runner, so a runner still spreads over the zones and a task's subnet names its shard."""
    subnets = ["a", "b", "c"]
    assert [shard_subnet(subnets, r, 0) for r in range(4)] == ["a", "b", "c", "a"]
    assert [shard_subnet(subnets, 0, i, 4) for i in range(4)] == ["a", "b", "c", "a"]
    assert {shard_subnet(subnets, r, 1, 2) for r in range(3)} == {"b"}
    with pytest.raises(ValueError):
        shard_subnet([], 0, 0)


@pytest.mark.parametrize(
    ("concurrencies", "cap", "subnets"),
    [([40], 200, 2), ([500, 500], 200, 2), ([333, 17, 250], 150, 3), ([7, 7, 7], 5, 2)],
)
def test_ecs_load_per_subnet_covers_where_the_managers_put_their_tasks(
    concurrencies: list[int], cap: int, subnets: int
) -> None:
    """The check counts at least what each subnet really gets from the shard plan and
    sizing.shard_subnet (the driver configs' Subnet)."""
    runners = tuple(
        RunnerSpec(f"r{i}", (f"r{i}",), c, "fargate", 1, "debian", "amd64", 1024, 2048)
        for i, c in enumerate(concurrencies)
    )
    shards = plan_shards(runners, cap)
    names = [f"s{i}" for i in range(subnets)]
    real = dict.fromkeys(names, 0)
    for shard in shards:
        for share in shard.runners:
            real[shard_subnet(names, share.index, shard.index, len(shards))] += share.limit
    counted = ecs_load_per_subnet(concurrencies, subnets, cap)
    assert all(c >= real[n] for c, n in zip(counted, names, strict=True)), (counted, real)
