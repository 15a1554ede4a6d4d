"""The fixed subnet layout and the job capacity of a subnet (pure functions)."""

from __future__ import annotations

import ipaddress

import pytest

from components.domain.subnets import (
    capacity_shortfall,
    ecs_load_per_subnet,
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


def test_ecs_checks_each_runners_subnet_and_eks_the_total() -> None:
    assert ecs_load_per_subnet([150, 30, 20], 2, 200) == [170, 30]  # one manager
    assert ecs_load_per_subnet([500, 300, 200], 2, 200) == [600, 400]  # 5 managers of 200
    assert capacity_shortfall("ecs", [500, 300, 200], [500, 500], 200) == (600, 500)
    assert capacity_shortfall("ecs", [500, 300, 200], [600, 600], 200) is None
    assert capacity_shortfall("eks", [500, 300, 200], [600, 600], 200) is None
    assert capacity_shortfall("eks", [1000, 300], [600, 600], 200) == (1300, 1200)
