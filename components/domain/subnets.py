"""The subnet layout of a new VPC, and how many jobs a subnet can hold.

Every ECS task and every EKS Fargate pod takes one IP from its subnet, so subnet size bounds
concurrency. Changing a subnet's CIDR or zone replaces it and everything in it (NAT gateway,
endpoints, manager, EKS cluster, Fargate profiles), so the layout is a function of the VPC block
and the zone index only: never of concurrency, runners or anything else users change often.

Layout of a VPC block /p (p = 16..20), zone i = 0..5:

    private[i] = the i-th  /(p+3) of the block   (1/8 of the VPC each; 6 zones use 6/8)
    public[i]  = the (48+i)-th /(p+6) of the block (1/64 each, packed into the 7th eighth)

The last eighth stays free for later use. In the default 10.42.0.0/16: private /19s
(10.42.0.0/19, 10.42.32.0/19, ...) of 8,187 usable IPs each and public /22s (10.42.192.0/22,
10.42.196.0/22, ...) of 1,019. Adding a zone adds subnets and moves none.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from components.domain.manager_sizing import manager_shares

MAX_ZONES = 6
PRIVATE_EXTRA_BITS = 3  # eight private-sized slots per VPC
PUBLIC_EXTRA_BITS = 6  # sixty-four public-sized slots per VPC
PUBLIC_FIRST_SLOT = 48  # the first public-sized slot of the seventh eighth
LARGEST_VPC_PREFIX = 16
SMALLEST_VPC_PREFIX = 20  # keeps public subnets at /26 or larger (AWS minimum is /28)
AWS_RESERVED_IPS_PER_SUBNET = 5
# Runner managers, interface endpoint ENIs (one per service and zone), NAT gateway, CoreDNS and
# Karpenter pods, Karpenter node IPs: IPs a subnet holds besides the jobs.
FIXED_IPS_PER_SUBNET = 32
# Room for pods that are still terminating while their replacements start.
HEADROOM = 1.25


@dataclass(frozen=True)
class SubnetLayout:
    private: tuple[str, ...]
    public: tuple[str, ...]


def vpc_prefix_problem(vpc_cidr: str) -> str | None:
    """Why the block cannot be carved, or None."""
    prefix = ipaddress.IPv4Network(vpc_cidr).prefixlen
    if LARGEST_VPC_PREFIX <= prefix <= SMALLEST_VPC_PREFIX:
        return None
    return (
        f"has prefix /{prefix}; use /{LARGEST_VPC_PREFIX} to /{SMALLEST_VPC_PREFIX} "
        f"(e.g. 10.42.0.0/16: private /19 and public /22 subnets per zone)"
    )


def fixed_layout(vpc_cidr: str, zones: int) -> SubnetLayout:
    """The subnets of the first `zones` zones; zone i's subnets never depend on `zones`."""
    network = ipaddress.IPv4Network(vpc_cidr)
    if vpc_prefix_problem(vpc_cidr) or not 1 <= zones <= MAX_ZONES:
        raise ValueError(f"cannot carve {zones} zones out of {vpc_cidr}")
    private = list(network.subnets(prefixlen_diff=PRIVATE_EXTRA_BITS))
    public = list(network.subnets(prefixlen_diff=PUBLIC_EXTRA_BITS))
    return SubnetLayout(
        private=tuple(str(private[i]) for i in range(zones)),
        public=tuple(str(public[PUBLIC_FIRST_SLOT + i]) for i in range(zones)),
    )


def usable_ips(cidr: str) -> int:
    return ipaddress.IPv4Network(cidr).num_addresses - AWS_RESERVED_IPS_PER_SUBNET


def jobs_for_free_ips(free_ips: int) -> int:
    """Jobs a subnet with this many free IPs carries, after fixed IPs and headroom."""
    return max(0, math.floor((free_ips - FIXED_IPS_PER_SUBNET) / HEADROOM))


def ips_for_jobs(jobs: int) -> int:
    """Free IPs a subnet needs to carry `jobs` (the inverse of jobs_for_free_ips)."""
    return math.ceil(jobs * HEADROOM) + FIXED_IPS_PER_SUBNET


def jobs_per_subnet(cidr: str) -> int:
    return jobs_for_free_ips(usable_ips(cidr))


def ecs_load_per_subnet(
    concurrencies: list[int], subnets: int, max_jobs_per_manager: int
) -> list[int]:
    """Jobs each subnet carries in ECS mode. The driver puts a runner's tasks on one manager
    into the one subnet of that manager's fargate.toml for it (components/ecs/sizing.py
    shard_subnet): a single manager puts runner r in subnet r mod n; with two or more, manager
    i puts all its tasks in subnet i mod n (so a task's subnet names its possible owners, for
    the reaper), and each manager's share of every runner is manager_shares'."""
    load = [0] * subnets
    shares = manager_shares(concurrencies, max_jobs_per_manager)
    if len(shares) == 1:
        for runner, share in enumerate(shares[0]):
            load[runner % subnets] += share
        return load
    for manager, row in enumerate(shares):
        load[manager % subnets] += sum(row)
    return load


def capacity_shortfall(
    mode: str, concurrencies: list[int], jobs_per: list[int], max_jobs_per_manager: int
) -> tuple[int, int] | None:
    """(jobs needed, jobs that fit) where the subnets cannot carry the runners, else None.

    ECS checks each subnet against the manager shares placed in it; EKS spreads pods over every
    subnet of the Fargate profile, so it checks the total."""
    if not jobs_per:
        return None
    if mode == "ecs":
        for load, fits in zip(
            ecs_load_per_subnet(concurrencies, len(jobs_per), max_jobs_per_manager),
            jobs_per,
            strict=True,
        ):
            if load > fits:
                return load, fits
        return None
    total, fits = sum(concurrencies), sum(jobs_per)
    return (total, fits) if total > fits else None


def ecs_placement_fixes(
    concurrencies: list[int], jobs_per: int, zones: int, max_jobs_per_manager: int
) -> tuple[int | None, int | None]:
    """(zones, ecs.maxJobsPerManager) that each alone make ECS jobs fit subnets of `jobs_per`
    jobs: the fewest zones up to MAX_ZONES with today's cap, and the largest cap with today's
    zones (more managers spread each runner over more zones); None where none does."""

    def fits(n: int, cap: int) -> bool:
        return max(ecs_load_per_subnet(concurrencies, n, cap)) <= jobs_per

    more_zones = next(
        (n for n in range(zones + 1, MAX_ZONES + 1) if fits(n, max_jobs_per_manager)), None
    )
    total = sum(concurrencies)
    managers = max(1, math.ceil(total / max_jobs_per_manager))
    # Searched over a bounded number of extra managers (two rounds of every runner over every
    # zone): the message names a cap only when one in that range fits.
    for count in range(managers + 1, managers + 2 * zones * len(concurrencies) + 1):
        cap = math.ceil(total / count)
        if math.ceil(total / cap) == count and fits(zones, cap):
            return more_zones, cap
    return more_zones, None
