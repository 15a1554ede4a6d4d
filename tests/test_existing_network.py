"""An existing VPC checked against what AWS says about its subnets (components/existing_network.py),
through the offline mocks' getSubnet/getRouteTable answers: each verdict and a network that
plans clean."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from components.offline import mock_answers
from tests.harness import dev_config, run_program
from tests.test_preflight import ProviderError

VPC = "vpc-0abc1234"
A, B, PUB = "subnet-0aaaaaaa", "subnet-0bbbbbbb", "subnet-0ccccccc"


def existing(mode: str = "ecs", public: bool = False) -> dict[str, Any]:
    network: dict[str, Any] = {"vpcId": VPC, "privateSubnetIds": [A, B]}
    if public:
        network["publicSubnetIds"] = [PUB]
    return dev_config(mode=mode, network=network)


def network_warnings(warnings: list[str]) -> list[str]:
    return [w for w in warnings if w.startswith("network.privateSubnetIds")]


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_a_well_built_network_plans_without_network_findings(mode: str) -> None:
    """The mocks answer the listed subnets as a working VPC: in vpcId, one zone each, NAT
    routes for private ones, and the route tables are read (no 'could not read' warning)."""
    plan = run_program(existing(mode, public=True))
    assert network_warnings(plan.warnings) == []
    assert "aws:ec2/getRouteTable:getRouteTable" in plan.invokes


def test_a_subnet_of_another_vpc_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(mock_answers.MOCK_SUBNETS, B, {"vpcId": "vpc-0other99"})
    with pytest.raises(ConfigError) as caught:
        run_program(existing())
    (problem,) = caught.value.problems
    assert problem.startswith(f"network.privateSubnetIds: '{B}' is in vpc-0other99, not in")
    assert f"network.vpcId '{VPC}'" in problem and "different networks" in problem


def test_eks_in_one_zone_is_refused_and_ecs_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    """EKS CreateCluster needs subnets in two Availability Zones; ECS runs in one, fragile."""
    monkeypatch.setitem(mock_answers.MOCK_SUBNETS, B, {"availabilityZone": "eu-west-1a"})
    with pytest.raises(ConfigError) as caught:
        run_program(existing("eks"))
    assert any(
        "EKS needs subnets in at least two Availability Zones" in p for p in caught.value.problems
    )
    (warning,) = network_warnings(run_program(existing("ecs")).warnings)
    assert f"{A}, {B} are all in eu-west-1a" in warning and "another zone" in warning


def test_private_subnets_that_are_public_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        mock_answers.MOCK_ROUTE_TABLES, A, [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0abc"}]
    )
    monkeypatch.setitem(mock_answers.MOCK_SUBNETS, B, {"mapPublicIpOnLaunch": True})
    found = network_warnings(run_program(existing()).warnings)
    assert any(f"'{A}' routes to an internet gateway" in w for w in found)
    assert any(
        f"'{B}' assigns public IPv4 addresses" in w and "--no-map-public" in w for w in found
    )
    assert len(found) == 2


def test_an_unreadable_route_table_is_a_warning_not_a_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(args: dict[str, Any], region: str) -> dict[str, Any]:
        raise ProviderError("UnauthorizedOperation: ec2:DescribeRouteTables")

    monkeypatch.setitem(
        mock_answers.INVOKES_BY_TOKEN, "aws:ec2/getRouteTable:getRouteTable", denied
    )
    found = network_warnings(run_program(existing()).warnings)
    assert len(found) == 2 and all("allow ec2:DescribeRouteTables" in w for w in found)
