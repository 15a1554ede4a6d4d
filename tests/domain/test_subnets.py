"""The fixed subnet layout and the job capacity of a subnet (pure functions)."""

from __future__ import annotations

import ipaddress

import pytest

from components.domain.subnets import (
    capacity_shortfall,
    ecs_load_per_subnet,
    ecs_placement_fixes,
    fixed_layout,
    ips_for_jobs,
    jobs_for_free_ips,
    jobs_per_subnet,
)


def test_default_vpc_gives_private_19s_and_public_22s() -> None:
    layout = fixed_layout("10.42.0.0/16", 6)
    assert layout.private == tuple(f"10.42.{32 * i}.0/19" for i in range(6))
    assert layout.public == tuple(f"10.42.{192 + 4 * i}.0/22" for i in range(6))


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/18", "192.168.16.0/20"])
def test_subnets_never_overlap_and_stay_inside_the_vpc(cidr: str) -> None:
    layout = fixed_layout(cidr, 6)
    blocks = [ipaddress.IPv4Network(c) for c in layout.private + layout.public]
    vpc = ipaddress.IPv4Network(cidr)
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_adding_a_zone_moves_no_existing_subnet() -> None:
    two, three = fixed_layout("10.42.0.0/16", 2), fixed_layout("10.42.0.0/16", 3)
    assert three.private[:2] == two.private and three.public[:2] == two.public


def test_a_thousand_jobs_fit_in_one_zone_of_the_default_vpc() -> None:
    per_zone = jobs_per_subnet("10.42.0.0/19")
    assert per_zone == (8192 - 5 - 32) * 4 // 5 == 6524
    assert ips_for_jobs(1000) == 1282 and jobs_for_free_ips(1282) == 1000


def test_ecs_checks_each_subnet_against_the_manager_shares_placed_in_it() -> None:
    """One manager puts runner r in subnet r mod n; several put all of manager i's tasks in
    subnet i mod n (ecs/sizing.py shard_subnet, the Subnet of each rendered fargate.toml)."""
    assert ecs_load_per_subnet([500, 300, 200], 2, 1000) == [700, 300]
    assert ecs_load_per_subnet([150, 30, 20], 2, 200) == [170, 30]  # one manager
    # 5 managers of 200 (each 100 + 60 + 40): managers 0, 2, 4 in subnet 0, 1 and 3 in 1
    assert ecs_load_per_subnet([500, 300, 200], 2, 200) == [600, 400]
    assert capacity_shortfall("ecs", [500, 300, 200], [500, 500], 200) == (600, 500)
    assert capacity_shortfall("ecs", [500, 300, 200], [600, 600], 1000) == (700, 600)
    assert capacity_shortfall("ecs", [500, 300, 200], [600, 600], 200) is None
    assert capacity_shortfall("eks", [500, 300, 200], [600, 600], 200) is None
    assert capacity_shortfall("eks", [1000, 300], [600, 600], 200) == (1300, 1200)


def test_one_big_runner_spreads_over_its_managers_zones() -> None:
    """The issue's case: 400 jobs on a /20 (380 per /23) fit two zones with two managers."""
    assert ecs_load_per_subnet([400], 2, 200) == [200, 200]
    assert ecs_load_per_subnet([400], 2, 400) == [400, 0]
    assert ecs_placement_fixes([400], 380, 2, 400) == (None, 200)
    assert ecs_placement_fixes([700], 380, 2, 250) == (3, 175)
    assert ecs_placement_fixes([800], 380, 2, 200) == (4, None)  # 2 x 380 < 800


def test_the_load_matches_the_rendered_shards() -> None:
    """The check counts exactly what plan_shards + shard_subnet place (ecs/sizing.py)."""
    from components.config import parse_config
    from components.ecs.sizing import plan_shards, shard_subnet
    from tests.harness import dev_config

    config, _ = parse_config(
        dev_config(runners=[{"name": n, "concurrency": c} for n, c in (("a", 7), ("b", 13))])
    )
    subnets = ["s0", "s1", "s2"]
    for cap in (1, 3, 5, 8, 20):
        placed = dict.fromkeys(subnets, 0)
        shards = plan_shards(config.runners, cap)
        for shard in shards:
            for share in shard.runners:
                where = shard_subnet(subnets, share.index, shard.index, len(shards))
                placed[where] += share.limit
        assert list(placed.values()) == ecs_load_per_subnet([7, 13], 3, cap)
