"""Subnet sizing for a new VPC: every Fargate task or pod takes one IP from its subnet."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

AWS_RESERVED_IPS_PER_SUBNET = 5
# Runner managers, VPC endpoint ENIs, CoreDNS/Karpenter pods and Karpenter nodes.
FIXED_IPS_PER_SUBNET = 32
HEADROOM = 1.25
SMALLEST_PRIVATE_PREFIX = 24
PUBLIC_SUBNET_PREFIX = 26


@dataclass(frozen=True)
class SubnetLayout:
    private: tuple[str, ...]
    public: tuple[str, ...]


def private_prefix_for(concurrency: int) -> int:
    """Each private subnet can hold the whole fleet, so one AZ can carry every job when another
    is impaired (and the ECS driver puts all of a runner's tasks into one subnet)."""
    needed = math.ceil(concurrency * HEADROOM) + FIXED_IPS_PER_SUBNET + AWS_RESERVED_IPS_PER_SUBNET
    prefix = 32 - math.ceil(math.log2(needed))
    return min(prefix, SMALLEST_PRIVATE_PREFIX)


def layout_subnets(vpc_cidr: str, zones: int, concurrency: int) -> SubnetLayout | None:
    """Carve `zones` private and public subnets out of the VPC, largest first so every block
    stays aligned. Returns None when the VPC is too small."""
    network = ipaddress.ip_network(vpc_cidr)
    private_prefix = private_prefix_for(concurrency)
    sizes = sorted([private_prefix] * zones + [PUBLIC_SUBNET_PREFIX] * zones)
    if sizes[0] < network.prefixlen:
        return None
    cursor = int(network.network_address)
    end = int(network.broadcast_address) + 1
    blocks: list[tuple[int, str]] = []
    for prefix in sizes:
        block = ipaddress.ip_network((cursor, prefix))
        cursor += block.num_addresses
        if cursor > end:
            return None
        blocks.append((prefix, str(block)))
    private = [cidr for prefix, cidr in blocks if prefix == private_prefix][:zones]
    rest = [cidr for cidr in (c for _, c in blocks) if cidr not in private]
    return SubnetLayout(private=tuple(private), public=tuple(rest))
