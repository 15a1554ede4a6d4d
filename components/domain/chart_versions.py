"""Which gitlab-runner release a gitlab-runner Helm chart release ships: one chart minor per
runner minor, 0.77 shipping 18.0 (the chart's Chart.yaml appVersion at each tag). Shared by
the version and warm-jobs rules (components/domain/versions.py, lane_rules.py) and the
fleet's components."""

from __future__ import annotations

import re

CHART_MINOR_OF_RUNNER_18_0 = 77
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def runner_of_chart(chart_minor: int) -> tuple[int, int]:
    """The gitlab-runner major.minor a 0.N chart ships: 0.77 -> 18.0, 0.86 -> 18.9, 0.92 -> 19.3."""
    index = chart_minor - CHART_MINOR_OF_RUNNER_18_0
    return 18 + index // 12, index % 12


def runner_of_chart_version(version: str) -> tuple[int, int]:
    """The gitlab-runner major.minor the chart release `version` ships."""
    match = _SEMVER.fullmatch(version)
    return runner_of_chart(int(match[2]) if match else 0)
