"""The Fargate size table and the nearest valid size suggested for an invalid request."""

from __future__ import annotations

import pytest

from components.domain.fargate_sizes import (
    FARGATE_SIZES,
    is_valid_fargate_size,
    nearest_fargate_size,
)


def test_table_matches_the_documented_fargate_sizes() -> None:
    # FACTS.md section 6: the ECS/EKS Fargate task size table.
    assert FARGATE_SIZES[256] == (512, 1024, 2048)
    assert FARGATE_SIZES[4096][0] == 8192 and FARGATE_SIZES[4096][-1] == 30720
    assert FARGATE_SIZES[8192][1] - FARGATE_SIZES[8192][0] == 4096
    assert FARGATE_SIZES[16384][1] - FARGATE_SIZES[16384][0] == 8192
    assert is_valid_fargate_size(1024, 2048) and not is_valid_fargate_size(1024, 1024)
    assert not is_valid_fargate_size(3000, 6144)


@pytest.mark.parametrize(
    ("request_", "nearest"),
    [
        ((1024, 1000), (1024, 2048)),  # valid CPU: the smallest memory that holds the request
        ((1024, 9000), (1024, 8192)),  # more than the row allows: the row's maximum
        ((3000, 6144), (2048, 6144)),  # invalid CPU: the nearest row (2048 before 4096)
        ((3072, 8192), (2048, 8192)),  # equally near 2048 and 4096: the smaller one
        ((100, 100), (256, 512)),
        ((20000, 200000), (16384, 122880)),
    ],
)
def test_nearest_size(request_: tuple[int, int], nearest: tuple[int, int]) -> None:
    assert nearest_fargate_size(*request_) == nearest
    assert is_valid_fargate_size(*nearest)
