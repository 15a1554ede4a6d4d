"""The capacity report prices arm64 jobs at the Fargate Linux/ARM and Graviton rates (issue 18)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.capacity import model, prices
from components.capacity.cli import main
from components.capacity.inputs import load_inputs
from components.capacity.report import report
from components.config import parse_config
from tests.harness import DEV_STACK, ROOT, dev_config

ARM_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci/coordinator-debian:bookworm"


def runner_costs(raw: dict[str, Any], region: str = "eu-west-1") -> dict[str, dict[str, Any]]:
    config, _ = parse_config(raw)
    doc = report(load_inputs(config, region, 100))
    return {r["name"]: r for r in doc["runners"]}


def test_arm64_fargate_rates_are_about_20_percent_lower_in_every_priced_region() -> None:
    for region, table in prices.PRICES.items():
        assert table.fargate_arm_vcpu_hour == pytest.approx(0.8 * table.fargate_vcpu_hour, 1e-3)
        assert table.fargate_arm_gb_hour == pytest.approx(0.8 * table.fargate_gb_hour, 1e-2)
        x86 = prices.per_1000_job_minutes(table, 1, 2, spot=False)
        arm = prices.per_1000_job_minutes(table, 1, 2, spot=False, architecture=model.ARM64)
        assert arm < x86, region
        node_x86 = prices.ec2_job_hour(table, 1, 2, model.X86_64)
        node_arm = prices.ec2_job_hour(table, 1, 2, model.ARM64)
        assert node_x86 is not None and node_arm is not None and node_arm < node_x86, region


def test_ecs_arm64_catalogue_entry_prices_its_jobs_lower() -> None:
    ecs = dev_config()["ecs"]
    ecs["taskDefinitions"].append({"name": "graviton", "image": ARM_IMAGE, "architecture": "arm64"})
    raw = dev_config(
        ecs=ecs,
        runners=[
            {"name": "x86", "concurrency": 10},
            {"name": "arm", "concurrency": 10, "taskDefinition": "graviton"},
            {"name": "arm-spot", "lane": "spot", "concurrency": 10, "taskDefinition": "graviton"},
        ],
    )
    costs = runner_costs(raw)
    assert {n: c["architecture"] for n, c in costs.items()} == {
        "x86": "x86_64",
        "arm": "arm64",
        "arm-spot": "arm64",
    }
    # 1 vCPU / 2 GiB for 1000 minutes in eu-west-1: (0.03238 + 2 * 0.00356) * 1000 / 60
    assert costs["arm"]["fargateUsdPer1000JobMinutes"] == pytest.approx(0.6583, abs=1e-4)
    assert costs["x86"]["fargateUsdPer1000JobMinutes"] == pytest.approx(0.8228, abs=1e-4)
    assert costs["arm-spot"]["fargateUsdPer1000JobMinutes"] == pytest.approx(0.1975, abs=1e-4)
    assert costs["arm"]["priceBasis"] == "Fargate Linux/ARM list price"
    assert (
        costs["arm-spot"]["priceBasis"] == "Fargate Linux/ARM list price x 0.3 (Spot, an estimate)"
    )
    assert all(c["ec2UsdPer1000JobMinutes"] is None for c in costs.values())


def test_eks_graviton_lane_is_priced_by_its_node_and_cheaper() -> None:
    raw = dev_config(
        mode="eks",
        runners=[
            {"name": "fargate", "concurrency": 10},
            {"name": "spot", "lane": "spot", "concurrency": 10},
            {"name": "graviton", "lane": "spot", "concurrency": 10, "architecture": "arm64"},
        ],
    )
    costs = runner_costs(raw)
    # A 1 vCPU / 2 GiB pod is a quarter of a 4 vCPU / 16 GiB node (eu-west-1 list prices),
    # on the spot lane at the EC2 Spot estimate (prices.EC2_SPOT_FRACTION), so it is no longer
    # priced above the same job on Fargate.
    spot = prices.EC2_SPOT_FRACTION
    assert costs["spot"]["ec2UsdPer1000JobMinutes"] == pytest.approx(
        0.214 / 4 * spot * 1000 / 60, 1e-3
    )
    assert costs["graviton"]["ec2UsdPer1000JobMinutes"] == pytest.approx(
        0.172 / 4 * spot * 1000 / 60, 1e-3
    )
    basis = "at its on-demand list price x 0.4 (EC2 Spot, an estimate)"
    assert costs["graviton"]["priceBasis"] == f"share of an m6g.xlarge {basis}"
    assert costs["spot"]["priceBasis"] == f"share of an m6i.xlarge {basis}"
    assert (
        costs["spot"]["ec2UsdPer1000JobMinutes"] < costs["fargate"]["fargateUsdPer1000JobMinutes"]
    )
    assert costs["fargate"]["architecture"] == "x86_64"
    assert costs["fargate"]["fargateUsdPer1000JobMinutes"] == pytest.approx(0.8228, abs=1e-4)
    assert costs["graviton"]["fargateUsdPer1000JobMinutes"] is None


def test_a_region_without_the_node_price_says_so() -> None:
    table = prices.RegionPrices(
        fargate_vcpu_hour=0.04,
        fargate_gb_hour=0.004,
        fargate_arm_vcpu_hour=0.032,
        fargate_arm_gb_hour=0.0032,
        eks_cluster_hour=0.1,
        nat_gateway_hour=0.045,
        public_ipv4_hour=0.005,
        interface_endpoint_az_hour=0.01,
        ec2_hour={},
    )
    price = prices.job_price(table, 1, 2, model.ARM64, model.COMPUTE_EC2)
    assert price.ec2_usd_per_1000_minutes is None
    assert price.fargate_usd_per_1000_minutes is None


def test_readme_job_cost_table_matches_the_price_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = prices.PRICES["us-east-1"]

    def usd(value: float | None) -> str:
        assert value is not None
        return f"${round(value, 4):.4f}/h"

    for arch in (model.X86_64, model.ARM64):
        assert usd(prices.fargate_hour(table, 1, 2, False, arch)) in readme
        assert f"about {usd(prices.fargate_hour(table, 1, 2, True, arch))}" in readme
        node = prices.EC2_JOB_NODES[arch][0].split(".")[0]
        assert f"{usd(prices.ec2_job_hour(table, 1, 2, arch))} ({node})" in readme
    assert f"${table.fargate_arm_vcpu_hour} and ${table.fargate_arm_gb_hour}" in readme


def test_a_region_without_prices_says_which_prices_it_used(tmp_path, capsys) -> None:
    """The config accepts every region (domain/aws_regions.py); prices.py has two. The estimate
    for eu-central-1 used to say only '(no prices for eu-central-1)' in the text and nothing in
    the JSON's words: now both state the basis."""
    (tmp_path / "Pulumi.dev.yaml").write_text(DEV_STACK.read_text())
    base = ["--project-dir", str(tmp_path), "--jobs", "10", "--set", "aws:region=eu-central-1"]
    assert main([*base, "--json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert (cost["region"], cost["pricesForRegion"]) == ("eu-central-1", "us-east-1")
    assert cost["priceBasis"].startswith(
        "us-east-1 On-Demand list prices (2025), NOT eu-central-1's"
    )
    assert main(base) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("Cost at ")]
    assert line.startswith(f"Cost at {cost['priceBasis']}: ")
    assert main(["--project-dir", str(tmp_path), "--jobs", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"]["priceBasis"] == (
        "eu-west-1 On-Demand list prices (2025)"
    )
