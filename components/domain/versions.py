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
  guide); the tested chart is the one tests/upstream/karpenter-crds.json was taken from. The
  oldest Karpenter for each Kubernetes minor is Karpenter's compatibility matrix
  (karpenter.sh/v1.9/upgrading/compatibility, "Compatibility Matrix"; endoflife.date/karpenter
  agrees: 1.8 supports up to 1.34, 1.9 to 1.11 up to 1.35).
- Node AMIs: Karpenter resolves `al2023@vYYYYMMDD` through the SSM parameter
  /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/
  amazon-eks-node-al2023-<arch>-<variant>-<k8s>-vYYYYMMDD/image_id (aws/karpenter-provider-aws
  pkg/providers/amifamily/al2023.go, `resolvePath`, unchanged between commits 41cd746 and
  0546f04); an AMI release older than the Kubernetes
  minor's EKS release has no such parameter, and Karpenter fails with "failed to discover any
  AMIs for alias" (`DescribeImageQuery`): no nodes.
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

from components.domain.chart_versions import runner_of_chart
from components.domain.specs import KARPENTER_INSTALL, EksSpec
from components.domain.value_rules import Findings

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
# Kubernetes minor -> the oldest Karpenter that supports it (Karpenter's compatibility matrix).
KARPENTER_FOR_KUBERNETES: dict[str, tuple[int, int, int]] = {
    "1.29": (0, 34, 0),
    "1.30": (0, 37, 0),
    "1.31": (1, 0, 5),
    "1.32": (1, 2, 0),
    "1.33": (1, 5, 0),
    "1.34": (1, 6, 0),
    "1.35": (1, 9, 0),
}
TESTED_KARPENTER_MINOR = (1, 14)

TESTED_RUNNER = "19.3.0"
TESTED_CHART = "0.92.0"
MIN_RUNNER = (15, 10)
PAUSE_PODS_RUNNER = (18, 11)

_MINOR = re.compile(r"1\.(\d+)")
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def minor_key(version: str) -> int:
    match = _MINOR.fullmatch(version)
    return int(match.group(1)) if match else -1


def _release_month(major: int, minor: int) -> tuple[int, int]:
    """(year, month) gitlab-runner major.minor is released: 18.0 in May 2025, one a month."""
    index = (major - 18) * 12 + minor + 4  # months since January 2025
    return 2025 + index // 12, index % 12 + 1


def check_kubernetes(r: Findings, version: str, today: dt.date) -> None:
    key = f"eks.kubernetesVersion: '{version}'"
    known = sorted(EKS_CALENDAR, key=minor_key)
    offered = [v for v in known if dt.date.fromisoformat(EKS_CALENDAR[v][2]) >= today]
    newest = minor_key(known[-1])
    if version not in EKS_CALENDAR:
        if newest < minor_key(version) <= newest + 2:
            r.warn(
                f"{key} is newer than the EKS versions this program knows (up to {known[-1]}, "
                f"calendar checked {EKS_CALENDAR_CHECKED}); check that EKS offers it "
                "(aws eks describe-cluster-versions), that eks.karpenterVersion supports it "
                "(Karpenter's compatibility matrix) and that eks.nodeAmiAlias is an AMI release "
                "built for it (preview asks SSM)"
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
    low, high = (minor_key(v) for v in TESTED_KUBERNETES)
    if not low <= minor_key(version) <= high:
        r.warn(
            f"{key} is outside the versions this program is tested with "
            f"({TESTED_KUBERNETES[0]} to {TESTED_KUBERNETES[1]})"
        )


def _semver(version: str) -> tuple[int, int, int]:
    match = _SEMVER.fullmatch(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def check_karpenter(r: Findings, version: str, kubernetes: str) -> None:
    parsed = _semver(version)
    key = f"eks.karpenterVersion: '{version}'"
    tested = f"{_dotted(TESTED_KARPENTER_MINOR)}.x"
    oldest = KARPENTER_FOR_KUBERNETES.get(kubernetes)
    if parsed >= MIN_KARPENTER and oldest is not None and parsed < oldest:
        r.problem(
            f"{key} does not support Kubernetes {kubernetes} (eks.kubernetesVersion): Karpenter's "
            f"compatibility matrix needs {_dotted(oldest)} or later for it; use {tested} "
            "(tested), and upgrade Karpenter before the cluster (docs/eks-operations.md)"
        )
    elif parsed < MIN_KARPENTER:
        r.problem(
            f"{key} predates Karpenter's v1 APIs; this program writes karpenter.sh/v1 NodePools "
            "and karpenter.k8s.aws/v1 EC2NodeClasses, which Karpenter serves from 1.0.0 on; use "
            f"{tested} (tested), at least 1.0.0"
        )
    elif parsed[:2] != TESTED_KARPENTER_MINOR:
        r.warn(
            f"{key} is not the tested Karpenter minor version {tested}; check its CRDs, "
            "upgrade notes and compatibility matrix"
        )


_AMI_RELEASE = re.compile(r"al2023@v(\d{4})(\d{2})(\d{2})")


def ami_release(alias: str) -> dt.date | None:
    """The release date of a pinned `al2023@vYYYYMMDD` alias; None for `latest` or no date."""
    match = _AMI_RELEASE.fullmatch(alias)
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


# kubernetes.io/arch -> the architecture in the AMI's SSM path
AMI_ARCHITECTURES = {"amd64": "x86_64", "arm64": "arm64"}


def ami_parameter(alias: str, kubernetes: str, architecture: str) -> str | None:
    """The SSM parameter Karpenter reads for a pinned alias's standard AMI (al2023.go
    `resolvePath`, variant "standard"); None for al2023@latest (always the recommended one)."""
    match = _AMI_RELEASE.fullmatch(alias)
    if not match:
        return None
    arch = AMI_ARCHITECTURES[architecture]
    release = alias.split("@", 1)[1]
    name = f"amazon-eks-node-al2023-{arch}-standard-{kubernetes}-{release}"
    folder = f"/aws/service/eks/optimized-ami/{kubernetes}/amazon-linux-2023/{arch}/standard"
    return f"{folder}/{name}/image_id"


def check_ami_alias(r: Findings, alias: str, kubernetes: str, today: dt.date) -> None:
    """A pinned AMI release must exist and be built for the Kubernetes minor: EKS publishes a
    minor's AMIs from the minor's release on, so an older release has none for it."""
    key = f"eks.nodeAmiAlias: '{alias}'"
    released = ami_release(alias)
    if released is None:
        if _AMI_RELEASE.fullmatch(alias):
            r.problem(f"{key} is not a date (al2023@vYYYYMMDD); use al2023@v20260930")
        return
    if released > today:
        r.problem(
            f"{key} is dated after today ({today}): no AMI of that release exists yet; use a "
            "published AL2023 EKS AMI release (aws ssm get-parameters-by-path --path "
            f"/aws/service/eks/optimized-ami/{kubernetes}/amazon-linux-2023/x86_64/standard)"
        )
        return
    if kubernetes not in EKS_CALENDAR:
        return  # preflight asks SSM at preview
    minor_release = dt.date.fromisoformat(EKS_CALENDAR[kubernetes][0])
    if released < minor_release:
        r.problem(
            f"{key} predates Kubernetes {kubernetes} on EKS ({minor_release}): that AMI release "
            f"has no AMI for {kubernetes}, so Karpenter finds none for the alias and the EC2 "
            f"lanes get no nodes; bump the alias with the version, to an AL2023 EKS AMI "
            f"release of {minor_release} or later (aws ssm get-parameters-by-path --path "
            f"/aws/service/eks/optimized-ami/{kubernetes}/amazon-linux-2023/x86_64/standard)"
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


def check_runner_version(r: Findings, version: str, today: dt.date) -> None:
    major, minor, _ = _semver(version)
    problem = _runner_release_problem(major, minor, today)
    key = f"ecs.runnerVersion: '{version}'"
    if problem:
        r.problem(f"{key} {problem}; use a released gitlab-runner version such as {TESTED_RUNNER}")
    elif version != TESTED_RUNNER:
        r.warn(f"{key} is not the tested gitlab-runner release {TESTED_RUNNER}")


def check_chart_version(r: Findings, version: str, today: dt.date) -> None:
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


def check_eks_versions(
    r: Findings, eks: EksSpec, joined: bool, karpenter: str, today: dt.date
) -> None:
    """The versions an EKS fleet runs. On a cluster it joins the cluster's own version counts,
    which the stack program's preview reads and checks with these rules
    (components/preflight_cluster.py); a Karpenter it does not install is the cluster's."""
    kubernetes = None if joined else eks.kubernetes_version
    if kubernetes is not None:
        check_kubernetes(r, kubernetes, today)
        check_ami_alias(r, eks.node_ami_alias, kubernetes, today)
    if karpenter == KARPENTER_INSTALL:
        check_karpenter(r, eks.karpenter_version, kubernetes or "")
    check_chart_version(r, eks.runner_chart_version, today)
