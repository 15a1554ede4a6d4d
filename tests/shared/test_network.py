"""The shared network: subnet layout, NAT strategy, endpoints, existing VPCs."""

from __future__ import annotations

from typing import Any

from components.config import parse_config
from components.offline.mocks import Plan, record
from components.shared.network import INTERFACE_ENDPOINT_SERVICES, Network, NetworkArgs
from components.topology import StackResult
from tests.harness import sentinel

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"


def network_plan(network: dict[str, Any], mode: str = "ecs", **args: Any) -> Plan:
    raw = {"mode": mode, "network": network, "runnerTokens": {"fargate": sentinel("fargate")}}
    config, _ = parse_config(raw)

    def build(_warn: Any) -> StackResult:
        net = Network("network", NetworkArgs(config.network, **args))
        return StackResult(
            outputs={"private": net.private_subnet_ids, "public": net.public_subnet_ids},
            rendered_files={},
        )

    return record(build, raw)


def subnets(plan: Plan, tier: str) -> list[dict[str, Any]]:
    """Subnet inputs in index order (resources register concurrently, in no fixed order)."""
    found = sorted(plan.all(SUBNET), key=lambda r: r.name)
    return [r.inputs for r in found if r.inputs["tags"]["tier"] == tier]


def test_new_vpc_has_private_and_public_subnets_in_distinct_zones() -> None:
    plan = network_plan({"availabilityZones": 3})
    private, public = subnets(plan, "private"), subnets(plan, "public")
    assert [s["cidrBlock"] for s in private] == ["10.42.0.0/19", "10.42.32.0/19", "10.42.64.0/19"]
    assert [s["cidrBlock"] for s in public] == [
        "10.42.192.0/22",
        "10.42.196.0/22",
        "10.42.200.0/22",
    ]
    assert len({s["availabilityZone"] for s in private}) == 3
    assert all(s["mapPublicIpOnLaunch"] is False for s in private + public)
    assert len(plan.outputs["private"]) == 3 and len(plan.outputs["public"]) == 3


def test_private_subnets_route_to_nat_and_public_ones_to_the_internet_gateway() -> None:
    plan = network_plan({})
    tables = {r.name: r.inputs for r in plan.all("aws:ec2/routeTable:RouteTable")}
    assert tables["network-public-rt"]["routes"][0]["gatewayId"].startswith("network-igw")
    for index in range(2):
        route = tables[f"network-private-{index}-rt"]["routes"][0]
        assert (
            route["cidrBlock"] == "0.0.0.0/0" and route["natGatewayId"] == "network-nat-0-mock-id"
        )


def test_single_nat_by_default_and_one_per_zone_on_request() -> None:
    assert len(network_plan({}).all(NAT)) == 1
    per_az = network_plan({"natGateways": "perAz", "availabilityZones": 3})
    assert len(per_az.all(NAT)) == 3
    tables = {r.name: r.inputs for r in per_az.all("aws:ec2/routeTable:RouteTable")}
    assert tables["network-private-2-rt"]["routes"][0]["natGatewayId"] == "network-nat-2-mock-id"


def test_vpc_endpoints_are_optional_and_only_reachable_from_the_vpc() -> None:
    assert network_plan({}).all("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    plan = network_plan({"vpcEndpoints": True})
    endpoints = {
        r.inputs["serviceName"]: r.inputs for r in plan.all("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    expected = {f"com.amazonaws.eu-west-1.{s}" for s in (*INTERFACE_ENDPOINT_SERVICES, "s3")}
    assert set(endpoints) == expected
    assert endpoints["com.amazonaws.eu-west-1.s3"]["vpcEndpointType"] == "Gateway"
    assert endpoints["com.amazonaws.eu-west-1.ecr.dkr"]["privateDnsEnabled"] is True
    (group,) = plan.all("aws:ec2/securityGroup:SecurityGroup")
    (rule,) = group.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["cidrBlocks"]) == (443, 443, ["10.42.0.0/16"])


def test_existing_vpc_creates_no_network_and_writes_nothing_onto_it() -> None:
    # Karpenter selects existing subnets by id: no aws.ec2.Tag that destroy would delete.
    plan = network_plan(
        {"vpcId": "vpc-0abc1234", "privateSubnetIds": ["subnet-0aaaaaaa", "subnet-0bbbbbbb"]},
        mode="eks",
    )
    assert plan.all("aws:ec2/vpc:Vpc") == [] and plan.all(SUBNET) == []
    assert plan.all("aws:ec2/tag:Tag") == []
    assert plan.outputs["private"] == ["subnet-0aaaaaaa", "subnet-0bbbbbbb"]


def test_existing_vpc_gets_interface_endpoints_but_no_s3_gateway() -> None:
    plan = network_plan(
        {"vpcId": "vpc-0abc1234", "privateSubnetIds": ["subnet-0aaaaaaa"], "vpcEndpoints": True}
    )
    endpoints = plan.all("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert {e.inputs["vpcEndpointType"] for e in endpoints} == {"Interface"}
    assert all(e.inputs["subnetIds"] == ["subnet-0aaaaaaa"] for e in endpoints)
    _, warnings = parse_config(
        {
            "network": {
                "vpcId": "vpc-0abc1234",
                "privateSubnetIds": ["subnet-0aaaaaaa"],
                "vpcEndpoints": True,
            },
            "runnerTokens": {"fargate": sentinel("fargate")},
        }
    )
    assert any("S3 gateway endpoint" in w for w in warnings)
