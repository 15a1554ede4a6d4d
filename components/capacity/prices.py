"""On-demand AWS prices the capacity model uses: one table, with where each number comes from.

Sources (On-Demand list prices, USD, per hour):
  Fargate        https://aws.amazon.com/fargate/pricing/        (Linux/x86 and Linux/ARM)
  EKS            https://aws.amazon.com/eks/pricing/           (standard support, per cluster)
  NAT gateway    https://aws.amazon.com/vpc/pricing/            (per gateway-hour, before data)
  Public IPv4    https://aws.amazon.com/vpc/pricing/            (every public IPv4, since 2024-02)
  PrivateLink    https://aws.amazon.com/privatelink/pricing/    (interface endpoint, per AZ-hour)
  EC2            https://aws.amazon.com/ec2/pricing/on-demand/  (Linux; m6g = Graviton2)
Values as published on those pages in 2025 (PRICES_AS_OF); the us-east-1 Fargate rates were
cross-checked against third-party 2026 summaries (vantage.sh, wring.co: $0.04048 per vCPU-hour,
$0.004445 per GB-hour; vantage.sh: Linux/ARM $0.03238 and $0.00356, 20% less). Data transfer,
NAT per-GB processing, logs and storage are NOT included. Regions not in the table are priced
as us-east-1 and the output says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.capacity.model import ARM64, COMPUTE_EC2, COMPUTE_FARGATE_SPOT, X86_64

PRICES_AS_OF = "2025"
PRICE_SOURCE = "https://aws.amazon.com/fargate/pricing/ (and the pages in prices.py)"
FALLBACK_REGION = "us-east-1"
# Fargate Spot is priced by AWS per region and moves; "up to 70% off" On-Demand
# (https://aws.amazon.com/fargate/pricing/). The model uses that bound: an estimate.
FARGATE_SPOT_FRACTION = 0.30
# EKS EC2 lanes: a job is priced as its share of one general-purpose node of its architecture
# (the larger of its vCPU and memory shares), m6i for x86_64 and the same-generation Graviton2
# m6g for arm64. Karpenter may pick cheaper types (c family, Spot): an on-demand upper bound.
EC2_JOB_NODES = {X86_64: ("m6i.xlarge", 4, 16), ARM64: ("m6g.xlarge", 4, 16)}
# The EKS spot lane runs on EC2 Spot nodes, which AWS prices per instance type, AZ and hour at
# "up to 90%" off On-Demand (https://aws.amazon.com/ec2/spot/pricing/). The model takes 40% of
# the On-Demand price: a project estimate (not a quote) well inside that bound, so the spot
# lane is not priced as if it were on-demand EC2.
EC2_SPOT_FRACTION = 0.40


@dataclass(frozen=True)
class RegionPrices:
    fargate_vcpu_hour: float
    fargate_gb_hour: float
    fargate_arm_vcpu_hour: float
    fargate_arm_gb_hour: float
    eks_cluster_hour: float
    nat_gateway_hour: float
    public_ipv4_hour: float
    interface_endpoint_az_hour: float
    ec2_hour: dict[str, float]


PRICES: dict[str, RegionPrices] = {
    "us-east-1": RegionPrices(
        fargate_vcpu_hour=0.04048,
        fargate_gb_hour=0.004445,
        fargate_arm_vcpu_hour=0.03238,
        fargate_arm_gb_hour=0.00356,
        eks_cluster_hour=0.10,
        nat_gateway_hour=0.045,
        public_ipv4_hour=0.005,
        interface_endpoint_az_hour=0.01,
        ec2_hour={
            "t3.micro": 0.0104,
            "t3.small": 0.0208,
            "t3.medium": 0.0416,
            "t3.large": 0.0832,
            "m5.large": 0.096,
            "m6i.large": 0.096,
            # The larger manager types of components/ecs/sizing.py (m6i scales linearly).
            "m6i.xlarge": 0.192,
            "m6i.2xlarge": 0.384,
            "m6i.4xlarge": 0.768,
            # Graviton2 general purpose: the arm64 job node of the EKS EC2 lanes.
            "m6g.xlarge": 0.154,
        },
    ),
    "eu-west-1": RegionPrices(
        fargate_vcpu_hour=0.04048,
        fargate_gb_hour=0.004445,
        fargate_arm_vcpu_hour=0.03238,
        fargate_arm_gb_hour=0.00356,
        eks_cluster_hour=0.10,
        nat_gateway_hour=0.048,
        public_ipv4_hour=0.005,
        interface_endpoint_az_hour=0.011,
        ec2_hour={
            "t3.micro": 0.0114,
            "t3.small": 0.0228,
            "t3.medium": 0.0456,
            "t3.large": 0.0912,
            "m5.large": 0.107,
            "m6i.large": 0.107,
            "m6i.xlarge": 0.214,
            "m6i.2xlarge": 0.428,
            "m6i.4xlarge": 0.856,
            "m6g.xlarge": 0.172,
        },
    ),
}


def price_basis(region: str) -> str:
    """Which prices an estimate for `region` uses, in words: the output states it rather
    than pass another region's prices off as the region's own."""
    _, priced = prices_for(region)
    if priced == region:
        return f"{region} On-Demand list prices ({PRICES_AS_OF})"
    return (
        f"{priced} On-Demand list prices ({PRICES_AS_OF}), NOT {region or 'the region'}'s: "
        f"components/capacity/prices.py has list prices for {', '.join(sorted(PRICES))} only; "
        "other regions' list prices differ, mostly upward: see the pricing pages"
    )


def prices_for(region: str) -> tuple[RegionPrices, str]:
    """The region's prices and the region they really are for."""
    if region in PRICES:
        return PRICES[region], region
    return PRICES[FALLBACK_REGION], FALLBACK_REGION


def fargate_hour(
    prices: RegionPrices, vcpu: float, memory_gib: float, spot: bool, architecture: str = X86_64
) -> float:
    """One running Fargate pod/task for an hour (billed per second, 1 minute minimum), at the
    Linux/x86 or Linux/ARM rates; Spot takes the same fraction off both."""
    if architecture == ARM64:
        price = vcpu * prices.fargate_arm_vcpu_hour + memory_gib * prices.fargate_arm_gb_hour
    else:
        price = vcpu * prices.fargate_vcpu_hour + memory_gib * prices.fargate_gb_hour
    return price * (FARGATE_SPOT_FRACTION if spot else 1.0)


def per_1000_job_minutes(
    prices: RegionPrices, vcpu: float, memory_gib: float, spot: bool, architecture: str = X86_64
) -> float:
    return round(fargate_hour(prices, vcpu, memory_gib, spot, architecture) * 1000 / 60, 4)


def ec2_job_hour(
    prices: RegionPrices, vcpu: float, memory_gib: float, architecture: str
) -> float | None:
    """One EC2-lane job for an hour: its share of its architecture's node (EC2_JOB_NODES);
    None when the region's table has no price for that node."""
    node, node_vcpu, node_gib = EC2_JOB_NODES[architecture]
    price = prices.ec2_hour.get(node)
    if price is None:
        return None
    return price * max(vcpu / node_vcpu, memory_gib / node_gib)


@dataclass(frozen=True)
class JobPrice:
    """What 1000 minutes of one runner's jobs cost, and on what the number rests."""

    fargate_usd_per_1000_minutes: float | None  # Fargate and Fargate Spot jobs
    ec2_usd_per_1000_minutes: float | None  # EKS EC2-lane jobs
    basis: str


def job_price(
    prices: RegionPrices,
    vcpu: float,
    memory_gib: float,
    architecture: str,
    compute: str,
    ec2_spot: bool = False,
) -> JobPrice:
    """Price one job by where it runs (model.RunnerLoad.compute) and on what architecture;
    `ec2_spot`: an EKS spot-lane job, on EC2 Spot nodes."""
    if compute == COMPUTE_EC2:
        node = EC2_JOB_NODES[architecture][0]
        hour = ec2_job_hour(prices, vcpu, memory_gib, architecture)
        fraction = EC2_SPOT_FRACTION if ec2_spot else 1.0
        usd = None if hour is None else round(hour * fraction * 1000 / 60, 4)
        basis = f"share of an {node} at its on-demand list price"
        if ec2_spot:
            basis += f" x {EC2_SPOT_FRACTION} (EC2 Spot, an estimate)"
        return JobPrice(None, usd, basis)
    spot = compute == COMPUTE_FARGATE_SPOT
    usd = per_1000_job_minutes(prices, vcpu, memory_gib, spot, architecture)
    rates = "Linux/ARM" if architecture == ARM64 else "Linux/x86"
    basis = f"Fargate {rates} list price"
    if spot:
        basis += f" x {FARGATE_SPOT_FRACTION} (Spot, an estimate)"
    return JobPrice(usd, None, basis)


@dataclass(frozen=True)
class AlwaysOn:
    """What runs while no job does."""

    nat_gateways: int
    interface_endpoints: int  # endpoint services x AZs
    eks_clusters: int
    manager_instance_types: tuple[str, ...]  # ECS: one per manager shard
    fargate_pods: tuple[tuple[str, float, float], ...] = ()  # (what, vCPU, GiB) EKS system pods
    # EKS warm EC2 capacity: (runner, warm jobs, vCPU and GiB per job, architecture, on Spot),
    # kept around the clock unless warmPeriods narrow it (then: the hour while it is kept).
    warm_jobs: tuple[tuple[str, int, float, float, str, bool], ...] = ()


def always_on_per_hour(prices: RegionPrices, items: AlwaysOn) -> tuple[float, list[dict]]:
    """Total USD per hour and the line items; an unpriced item has cost None."""
    lines: list[dict] = []

    def add(what: str, count: float, unit: float | None) -> None:
        lines.append(
            {
                "item": what,
                "count": count,
                "usdPerHour": None if unit is None else round(count * unit, 4),
            }
        )

    for kind in sorted(set(items.manager_instance_types)):
        add(
            f"manager EC2 {kind}",
            items.manager_instance_types.count(kind),
            prices.ec2_hour.get(kind),
        )
    add("NAT gateway", items.nat_gateways, prices.nat_gateway_hour)
    add("NAT public IPv4", items.nat_gateways, prices.public_ipv4_hour)
    add(
        "interface VPC endpoint (per AZ)",
        items.interface_endpoints,
        prices.interface_endpoint_az_hour,
    )
    add("EKS control plane", items.eks_clusters, prices.eks_cluster_hour)
    for what, vcpu, gib in items.fargate_pods:
        add(
            f"Fargate pod: {what} ({vcpu} vCPU, {gib} GiB)",
            1,
            fargate_hour(prices, vcpu, gib, spot=False),
        )
    for runner, count, vcpu, gib, architecture, spot in items.warm_jobs:
        hour = ec2_job_hour(prices, vcpu, gib, architecture)
        add(
            f"warm EC2 capacity: {runner} ({vcpu:g} vCPU, {gib:g} GiB per job)",
            count,
            None if hour is None else hour * (EC2_SPOT_FRACTION if spot else 1.0),
        )
    total = sum(line["usdPerHour"] or 0.0 for line in lines if line["count"])
    return round(total, 4), [line for line in lines if line["count"]]
