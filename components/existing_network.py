"""Preflight for an existing VPC: what AWS says about the listed subnets, checked against what
the stack will put in them, before any resource is created.

- Every subnet must lie in network.vpcId: EC2 refuses an instance or ENI whose security group
  and subnet "belong to different networks" (the security groups are created in vpcId).
- EKS needs subnets in at least two Availability Zones (EKS user guide, "View Amazon EKS
  networking requirements for VPC and subnets": CreateCluster refuses subnets of one zone).
- ECS in one zone runs, but loses every job and manager with that zone: warned.
- A private subnet (job tasks, managers) should not be public: a subnet whose route table has a
  route to an internet gateway is public (VPC user guide, "Subnets for your VPC": a public
  subnet has a direct route to an internet gateway), and MapPublicIpOnLaunch gives each
  instance a public IPv4 address (VPC user guide, "Modify the public IPv4 addressing attribute
  for your subnet"). Job tasks there get no public IP (no way out) and managers face the
  internet: warned.

The route table is read with aws.ec2.get_route_table(subnet_id=...) (the provider's
`aws_route_table` data source filters association.subnet-id); a subnet with no explicit
association uses its VPC's main route table (VPC user guide, "Route tables": a subnet not
explicitly associated is implicitly associated with the main route table), read next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi_aws as aws

from components.config import ConfigError, StackConfig


@dataclass(frozen=True)
class SubnetFacts:
    """What DescribeSubnets / DescribeRouteTables say about one listed subnet."""

    id: str
    vpc_id: str
    zone: str
    maps_public_ip: bool
    free_ips: int
    routes_to_igw: bool | None  # None: the route table could not be read


class NetworkError(ConfigError):
    """An existing network the stack cannot use: a ConfigError, so preview prints it without a
    traceback and the offline plan exits 2."""


def network_verdicts(
    config: StackConfig, facts: dict[str, SubnetFacts]
) -> tuple[list[str], list[str]]:
    """(problems, warnings) for the listed subnets of an existing VPC."""
    network = config.network
    problems, warnings = [], []
    listed = [("privateSubnetIds", s) for s in network.private_subnet_ids]
    listed += [("publicSubnetIds", s) for s in network.public_subnet_ids]
    for key, subnet in listed:
        fact = facts.get(subnet)
        if fact is not None and fact.vpc_id != network.vpc_id:
            problems.append(
                f"network.{key}: '{subnet}' is in {fact.vpc_id}, not in network.vpcId "
                f"'{network.vpc_id}': EC2 refuses security groups and subnets of different "
                f"networks; list subnets of {network.vpc_id} or set network.vpcId to "
                f"{fact.vpc_id}"
            )
    private = [facts[s] for s in network.private_subnet_ids if s in facts]
    zones = sorted({f.zone for f in private})
    if private and len(zones) < 2:
        where = f"all in {zones[0]}"
        if config.mode == "eks":
            problems.append(
                f"network.privateSubnetIds: {', '.join(f.id for f in private)} are {where}, but "
                "EKS needs subnets in at least two Availability Zones; add a private subnet "
                "of another zone of the VPC"
            )
        else:
            warnings.append(
                f"network.privateSubnetIds: {', '.join(f.id for f in private)} are {where}: "
                "the managers and every job stop when that zone fails; add a private subnet "
                "of another zone"
            )
    for fact in private:
        if fact.routes_to_igw:
            warnings.append(
                f"network.privateSubnetIds: '{fact.id}' routes to an internet gateway, so it "
                "is a public subnet: job tasks there get no public IP and so no way out (image "
                "pulls fail), and managers face the internet; list a subnet that routes "
                "through a NAT gateway (or move it to network.publicSubnetIds)"
            )
        if fact.maps_public_ip:
            warnings.append(
                f"network.privateSubnetIds: '{fact.id}' assigns public IPv4 addresses on "
                "launch (MapPublicIpOnLaunch), so managers there get public IPs; turn it off "
                f"(aws ec2 modify-subnet-attribute --subnet-id {fact.id} "
                "--no-map-public-ip-on-launch) or list a private subnet"
            )
        if fact.routes_to_igw is None:
            warnings.append(
                f"network.privateSubnetIds: could not read the route table of '{fact.id}'; "
                "allow ec2:DescribeRouteTables to check it routes through a NAT gateway"
            )
    return problems, warnings


def _routes_to_igw(subnet: str, vpc_id: str) -> bool | None:
    """Whether the subnet's route table (explicit, else the VPC's main one) has an igw- route."""
    try:
        table = aws.ec2.get_route_table(subnet_id=subnet)
    except Exception:
        try:
            table = aws.ec2.get_route_table(
                vpc_id=vpc_id, filters=[{"name": "association.main", "values": ["true"]}]
            )
        except Exception:
            # A read-only check must not stop the preview: unreadable becomes a warning.
            return None
    return any((r.gateway_id or "").startswith("igw-") for r in table.routes)


def read_subnets(config: StackConfig) -> dict[str, SubnetFacts]:
    """DescribeSubnets (and the private subnets' route tables) for every listed subnet."""
    network = config.network
    facts = {}
    for subnet in (*network.private_subnet_ids, *network.public_subnet_ids):
        answer = aws.ec2.get_subnet(id=subnet)
        private = subnet in network.private_subnet_ids
        facts[subnet] = SubnetFacts(
            id=subnet,
            vpc_id=answer.vpc_id,
            zone=answer.availability_zone,
            maps_public_ip=bool(answer.map_public_ip_on_launch),
            free_ips=answer.available_ip_address_count,
            routes_to_igw=_routes_to_igw(subnet, answer.vpc_id) if private else False,
        )
    return facts


def check_existing_network(
    config: StackConfig, warn: Callable[[str], None], facts: dict[str, SubnetFacts]
) -> None:
    problems, warnings = network_verdicts(config, facts)
    if problems:
        raise NetworkError(problems)
    for warning in warnings:
        warn(warning)
