"""Which versions of Kubernetes (on EKS), Karpenter and gitlab-runner can work, and which ones
this program is tested with. A version that cannot work is a problem; one outside the tested
range is a warning.

Sources (tests/config/test_versions.py pins the tested versions to tests/upstream/*.json):
- EKS: the Amazon EKS Kubernetes release calendar (docs.aws.amazon.com/eks/latest/userguide/
  kubernetes-versions.html, as mirrored by endoflife.date/amazon-eks), last checked 2026-04-24.
  A minor version is in standard support for 14 months and in extended support (at extra cost
  per cluster hour) for 12 more; after that EKS creates no cluster on it.
- Karpenter: the `karpenter.sh/v1` and `karpenter.k8s.aws/v1` APIs this program writes
  (components/eks/karpenter_objects.py) are served from Karpenter 1.0.0 on (the v1 migration
  guide); the tested chart is the one tests/upstream/karpenter-crds.json was taken from.
- gitlab-runner: GitLab releases minor x.0 in May and x.11 the following April, on the third
  Thursday of each month (docs.gitlab.com/policy/maintenance: "Versioning"); the Helm chart
  0.N releases with runner 18.(N-77) (0.86 ships 18.9, tests/upstream/gitlab-runner-chart.json;
  0.92 ships 19.3). Pause pods (`[runners.kubernetes.autoscaler]`, runners[].warmJobs) are in
  the runner source from v18.11.0 on (executors/kubernetes/autoscaler/ is absent at v18.10.0,
  although the docs' history note says 18.10).
  Runner authentication tokens (glrt-, the only kind this program accepts) need 15.10 or later.
"""

from __future__ import annotations

import datetime as dt
import re

from components.config.reader import Reader

# minor -> (released on EKS, end of standard support, end of extended support)
EKS_CALENDAR: dict[str, tuple[str, str, str]] = {
    "1.29": ("2024-01-23", "2025-03-23", "2026-03-23"),
    "1.30": ("2024-05-23", "2025-07-23", "2026-07-23"),
    "1.31": ("2024-09-26", "2025-11-26", "2026-11-26"),
    "1.32": ("2025-01-25", "2026-03-23", "2027-03-23"),
    "1.33": ("2025-05-28", "2026-07-29", "2027-07-29"),
    "1.34": ("2025-10-06", "2026-12-02", "2027-12-02"),
    "1.35": ("2026-01-28", "2027-03-27", "2028-03-27"),
}
EKS_CALENDAR_CHECKED = "2026-04-24"
TESTED_KUBERNETES = ("1.35", "1.35")  # the default; the EKS tests render for it only

MIN_KARPENTER = (1, 0, 0)
TESTED_KARPENTER_MINOR = (1, 14)

TESTED_RUNNER = "19.3.0"
TESTED_CHART = "0.92.0"
MIN_RUNNER = (15, 10)
PAUSE_PODS_RUNNER = (18, 11)
CHART_MINOR_OF_RUNNER_18_0 = 77

_MINOR = re.compile(r"1\.(\d+)")
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def _minor_key(version: str) -> int:
    match = _MINOR.fullmatch(version)
    return int(match.group(1)) if match else -1


def _release_month(major: int, minor: int) -> tuple[int, int]:
    """(year, month) gitlab-runner major.minor is released: 18.0 in May 2025, one a month."""
    index = (major - 18) * 12 + minor + 4  # months since January 2025
    return 2025 + index // 12, index % 12 + 1


def check_kubernetes(r: Reader, version: str, today: dt.date) -> None:
    key = f"eks.kubernetesVersion: '{version}'"
    known = sorted(EKS_CALENDAR, key=_minor_key)
    offered = [v for v in known if dt.date.fromisoformat(EKS_CALENDAR[v][2]) >= today]
    newest = _minor_key(known[-1])
    if version not in EKS_CALENDAR:
        if newest < _minor_key(version) <= newest + 2:
            r.warn(
                f"{key} is newer than the EKS versions this program knows (up to {known[-1]}, "
                f"calendar checked {EKS_CALENDAR_CHECKED}); check that EKS offers it "
                "(aws eks describe-cluster-versions) and that Karpenter supports it"
            )
            return
        r.problem(
            f"{key} is not a Kubernetes version EKS offers; use one of {', '.join(offered)} "
            f"(EKS release calendar)"
        )
        return
    _, standard_end, extended_end = (dt.date.fromisoformat(d) for d in EKS_CALENDAR[version])
    if today > extended_end:
        r.problem(
            f"{key} left EKS extended support on {extended_end}: EKS creates no cluster on it "
            f"and upgrades existing ones; use one of {', '.join(offered)} (upgrade one minor "
            "version at a time, docs/eks-operations.md)"
        )
        return
    if today > standard_end:
        r.warn(
            f"{key} is in EKS extended support since {standard_end} (an extra charge per "
            f"cluster hour, ends {extended_end}); upgrade to {offered[-1]}"
        )
    low, high = (_minor_key(v) for v in TESTED_KUBERNETES)
    if not low <= _minor_key(version) <= high:
        r.warn(
            f"{key} is outside the versions this program is tested with "
            f"({TESTED_KUBERNETES[0]} to {TESTED_KUBERNETES[1]})"
        )


def _semver(version: str) -> tuple[int, int, int]:
    match = _SEMVER.fullmatch(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)


def check_karpenter(r: Reader, version: str) -> None:
    parsed = _semver(version)
    key = f"eks.karpenterVersion: '{version}'"
    if parsed < MIN_KARPENTER:
        r.problem(
            f"{key} predates Karpenter's v1 APIs; this program writes karpenter.sh/v1 NodePools "
            "and karpenter.k8s.aws/v1 EC2NodeClasses, which Karpenter serves from 1.0.0 on; use "
            f"{'.'.join(map(str, TESTED_KARPENTER_MINOR))}.x (tested), at least 1.0.0"
        )
    elif parsed[:2] != TESTED_KARPENTER_MINOR:
        r.warn(
            f"{key} is not the tested Karpenter minor version "
            f"{'.'.join(map(str, TESTED_KARPENTER_MINOR))}.x; check its CRDs and upgrade notes"
        )


def _runner_release_problem(major: int, minor: int, today: dt.date) -> str | None:
    if minor > 11:
        return f"does not exist: GitLab releases {major}.0 to {major}.11 only"
    if (major, minor) < MIN_RUNNER:
        return (
            "is older than 15.10, the first release that accepts runner authentication tokens "
            "(glrt-), the only kind this program uses"
        )
    year, month = _release_month(major, minor)
    if (year, month) > (today.year, today.month):
        return f"is not released yet (due {year}-{month:02d})"
    return None


def check_runner_version(r: Reader, version: str, today: dt.date) -> None:
    major, minor, _ = _semver(version)
    problem = _runner_release_problem(major, minor, today)
    key = f"ecs.runnerVersion: '{version}'"
    if problem:
        r.problem(f"{key} {problem}; use a released gitlab-runner version such as {TESTED_RUNNER}")
    elif version != TESTED_RUNNER:
        r.warn(f"{key} is not the tested gitlab-runner release {TESTED_RUNNER}")


def runner_of_chart(chart_minor: int) -> tuple[int, int]:
    """The gitlab-runner major.minor a 0.N chart ships: 0.77 -> 18.0, 0.86 -> 18.9, 0.92 -> 19.3."""
    index = chart_minor - CHART_MINOR_OF_RUNNER_18_0
    return 18 + index // 12, index % 12


def runner_of_chart_version(version: str) -> tuple[int, int]:
    """The gitlab-runner major.minor the chart release `version` ships."""
    return runner_of_chart(_semver(version)[1])


def check_chart_version(r: Reader, version: str, today: dt.date) -> None:
    major, minor, _ = _semver(version)
    key = f"eks.runnerChartVersion: '{version}'"
    problem = "gitlab-runner charts are numbered 0.N.P" if major != 0 else None
    if problem is None:
        runner = runner_of_chart(minor)
        why = _runner_release_problem(*runner, today)
        if why:
            problem = f"it would ship gitlab-runner {runner[0]}.{runner[1]}, which {why}"
    if problem:
        r.problem(f"{key} is not a gitlab-runner chart release: {problem}; use {TESTED_CHART}")
    elif version != TESTED_CHART:
        r.warn(f"{key} is not the tested gitlab-runner chart {TESTED_CHART}")
