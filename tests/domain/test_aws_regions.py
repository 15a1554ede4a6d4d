"""The region and zone table is checked against the sources it was taken from: botocore's
endpoint data for the regions, moto's describe-availability-zones data for the zones."""

from __future__ import annotations

import pytest
from botocore.loaders import Loader
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

from components.domain.aws_regions import PARTITIONS, REGIONS, nearest_regions, zones
from components.offline.mock_answers import invoke_result

ZONES_TOKEN = "aws:index/getAvailabilityZones:getAvailabilityZones"


def test_regions_are_botocores_regions_of_the_supported_partitions() -> None:
    endpoints = Loader().load_data("endpoints")
    regions = {
        region
        for partition in endpoints["partitions"]
        if partition["partition"] in PARTITIONS
        for region in partition["regions"]
    }
    assert set(REGIONS) == regions


def test_zones_are_the_zones_aws_lists_for_each_region() -> None:
    moto = {
        region: tuple((z.name, z.zone_id) for z in listed if z.zone_type == "availability-zone")
        for region, listed in RegionsAndZonesBackend.zones.items()
    }
    assert {r: zones(r) for r in REGIONS} == {r: moto[r] for r in REGIONS}


@pytest.mark.parametrize(
    ("region", "names", "ids"),
    [
        ("us-west-1", ["us-west-1a", "us-west-1b"], ["usw1-az3", "usw1-az1"]),
        ("ap-northeast-1", ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"], None),
        ("us-east-1", [f"us-east-1{c}" for c in "abcdef"], None),
        ("ca-central-1", ["ca-central-1a", "ca-central-1b", "ca-central-1d"], None),
    ],
)
def test_the_mocks_answer_the_regions_real_zones(
    region: str, names: list[str], ids: list[str] | None
) -> None:
    answer = invoke_result(ZONES_TOKEN, {"state": "available"}, region)
    assert answer["names"] == names
    assert len(answer["zoneIds"]) == len(names)
    if ids is not None:
        assert answer["zoneIds"] == ids


def test_the_mocks_refuse_a_region_they_know_nothing_of() -> None:
    with pytest.raises(NotImplementedError, match="eu-west-9"):
        invoke_result(ZONES_TOKEN, {}, "eu-west-9")


def test_nearest_regions_share_the_geography() -> None:
    assert nearest_regions("eu-west-9") == ["eu-west-1", "eu-west-2", "eu-west-3"]
    assert "us-east-1" in nearest_regions("us-middle-1")
