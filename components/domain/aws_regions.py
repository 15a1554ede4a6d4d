"""The AWS regions this program can deploy to and the availability zones each one offers.

Pure data, no AWS call: the config parser refuses a region that does not exist or more zones
than the region has, and the offline mocks answer `getAvailabilityZones` with the region's real
zones instead of inventing six.

Provenance (tests/domain/test_aws_regions.py keeps both in step, so a botocore or moto upgrade
that adds a region or a zone fails the suite until the table follows):
- regions: botocore's endpoint data (`botocore/data/endpoints.json`, partitions aws, aws-cn and
  aws-us-gov: the ones whose ARNs and DNS suffix the program derives from getPartition);
- zones: the AZ IDs of the AWS Regions and Availability Zones guide
  (docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html), with
  the zone letters moto 5.2.5 answers describe-availability-zones with
  (moto/ec2/models/availability_zones_and_regions.py). In the oldest regions AWS maps letters to
  physical zones per account, so the letter-to-id pairing is one account's view; the number of
  zones is the same for every account.
"""

from __future__ import annotations

import re

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")

# Region -> its zones as "<letter><AZ id number>": "a6" in us-east-1 is us-east-1a, use1-az6.
_ZONES = {
    "af-south-1": "a1 b2 c3",
    "ap-east-1": "a1 b2 c3",
    "ap-east-2": "a1 b2 c3",
    "ap-northeast-1": "a4 c1 d2",
    "ap-northeast-2": "a1 b2 c3 d4",
    "ap-northeast-3": "a1 b2 c3",
    "ap-south-1": "a1 b3 c2",
    "ap-south-2": "a1 b2 c3",
    "ap-southeast-1": "a1 b2 c3",
    "ap-southeast-2": "a1 b3 c2",
    "ap-southeast-3": "a1 b2 c3",
    "ap-southeast-4": "a1 b2 c3",
    "ap-southeast-5": "a1 b2 c3",
    "ap-southeast-6": "a1 b2 c3",
    "ap-southeast-7": "a1 b2 c3",
    "ca-central-1": "a1 b2 d4",
    "ca-west-1": "a1 b2 c3",
    "cn-north-1": "a1 b2",
    "cn-northwest-1": "a1 b2 c3",
    "eu-central-1": "a1 b2 c3",
    "eu-central-2": "a1 b2 c3",
    "eu-north-1": "a1 b2 c3",
    "eu-south-1": "a1 b2 c3",
    "eu-south-2": "a1 b2 c3",
    "eu-west-1": "a3 b1 c2",
    "eu-west-2": "a2 b3 c1",
    "eu-west-3": "a1 b2 c3",
    "il-central-1": "a1 b2 c3",
    "me-central-1": "a1 b2 c3",
    "me-south-1": "a1 b2 c3",
    "mx-central-1": "a1 b2 c3",
    "sa-east-1": "a1 b2 c3",
    "us-east-1": "a6 b1 c2 d4 e3 f5",
    "us-east-2": "a1 b2 c3",
    "us-gov-east-1": "a1 b2 c3",
    "us-gov-west-1": "a1 b2 c3",
    "us-west-1": "a3 b1",
    "us-west-2": "a2 b1 c3 d4",
}
REGIONS = tuple(sorted(_ZONES))

_DIRECTIONS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c"}
_COMPASS = re.compile("|".join(_DIRECTIONS))


def zone_id_prefix(region: str) -> str:
    """AWS's short region code in zone ids: eu-west-1 -> euw1, ap-southeast-2 -> apse2."""
    parts = region.split("-")
    middle = "".join(
        "".join(_DIRECTIONS[w] for w in _COMPASS.findall(part)) or part[:1] for part in parts[1:-1]
    )
    return f"{parts[0]}{middle}{parts[-1]}"


def zones(region: str) -> tuple[tuple[str, str], ...]:
    """(zone name, zone id) of every zone of the region, in name order; () if unknown."""
    prefix = zone_id_prefix(region)
    return tuple((f"{region}{z[0]}", f"{prefix}-az{z[1:]}") for z in _ZONES.get(region, "").split())


def partition_of(region: str) -> str:
    """The partition whose ARNs name resources in `region`."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def nearest_regions(region: str) -> list[str]:
    """Known regions that share the typed one's geography (eu-west-9 -> eu-west-1, ...)."""
    head = region.rsplit("-", 1)[0]
    same = [r for r in REGIONS if r.rsplit("-", 1)[0] == head]
    return same or [r for r in REGIONS if r.split("-")[0] == region.split("-")[0]]
