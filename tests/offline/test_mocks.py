"""The recording mocks invent ids in the stack's own region."""

from __future__ import annotations

import pytest

from components.domain.aws_regions import zone_id_prefix


@pytest.mark.parametrize(
    ("region", "prefix"),
    [
        ("eu-west-1", "euw1"),
        ("us-east-1", "use1"),
        ("ap-southeast-2", "apse2"),
        ("us-gov-west-1", "usgw1"),
    ],
)
def test_zone_ids_use_the_regions_short_code(region: str, prefix: str) -> None:
    assert zone_id_prefix(region) == prefix
