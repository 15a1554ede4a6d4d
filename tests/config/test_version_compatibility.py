"""Versions that parse but cannot work together (issue 22 item 6, issue 23 item 3): a Karpenter
older than the Kubernetes minor's entry in Karpenter's compatibility matrix, an AMI alias older
than the minor's EKS release. Sources are cited in components/domain/versions.py."""

from __future__ import annotations

import pytest

from components.domain import versions
from tests.config.test_feasibility import eks, outcome


@pytest.mark.parametrize(
    ("kubernetes", "karpenter", "oldest"),
    [("1.35", "1.8.2", "1.9.0"), ("1.34", "1.5.4", "1.6.0"), ("1.33", "1.4.1", "1.5.0")],
)
def test_a_karpenter_the_matrix_does_not_list_for_the_minor_is_refused(
    kubernetes: str, karpenter: str, oldest: str
) -> None:
    """karpenter.sh/v1.9/upgrading/compatibility: 1.33 >= 1.5, 1.34 >= 1.6, 1.35 needs 1.9.x
    (endoflife.date/karpenter: 1.8 supports 1.29 - 1.34)."""
    problems, _ = outcome(eks(kubernetesVersion=kubernetes, karpenterVersion=karpenter))
    assert any(
        p.startswith(f"eks.karpenterVersion: '{karpenter}'")
        and f"Kubernetes {kubernetes}" in p
        and oldest in p
        and "1.14.x" in p
        for p in problems
    ), problems


@pytest.mark.parametrize(("kubernetes", "karpenter"), [("1.35", "1.9.0"), ("1.34", "1.6.0")])
def test_the_oldest_karpenter_the_matrix_lists_still_plans(kubernetes: str, karpenter: str) -> None:
    problems, warnings = outcome(eks(kubernetesVersion=kubernetes, karpenterVersion=karpenter))
    assert problems == [] and any("eks.karpenterVersion" in w for w in warnings)


def test_an_ami_alias_older_than_the_kubernetes_release_is_refused() -> None:
    """Karpenter pkg/providers/amifamily/al2023.go (`resolvePath`): the alias resolves through
    /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/.../amazon-eks-node-al2023-...-<k8s>-
    vYYYYMMDD/image_id; a release before 1.35 existed on EKS (2026-01-28) has none for 1.35, and
    Karpenter stops with "failed to discover any AMIs for alias" (`DescribeImageQuery`)."""
    problems, _ = outcome(eks(kubernetesVersion="1.35", nodeAmiAlias="al2023@v20251201"))
    assert any(
        p.startswith("eks.nodeAmiAlias: 'al2023@v20251201'")
        and "2026-01-28" in p
        and "bump the alias with the version" in p
        for p in problems
    ), problems


@pytest.mark.parametrize(
    ("alias", "fragment"),
    [("al2023@v20261340", "not a date"), ("al2023@v20270101", "dated after today")],
)
def test_an_ami_alias_that_cannot_exist_is_refused(alias: str, fragment: str) -> None:
    problems, _ = outcome(eks(nodeAmiAlias=alias))
    assert any(p.startswith(f"eks.nodeAmiAlias: '{alias}'") and fragment in p for p in problems)


@pytest.mark.parametrize(
    "settings",
    [
        {"kubernetesVersion": "1.35", "nodeAmiAlias": "al2023@v20260128"},
        {"kubernetesVersion": "1.34", "nodeAmiAlias": "al2023@v20251006"},
        {"kubernetesVersion": "1.35", "nodeAmiAlias": "al2023@latest"},
        {"kubernetesVersion": "1.36", "nodeAmiAlias": "al2023@v20260930"},
    ],
)
def test_aliases_of_the_minors_release_or_later_plan(settings: dict[str, str]) -> None:
    problems, _ = outcome(eks(**settings))
    assert problems == []


def test_the_matrix_covers_every_minor_of_the_calendar() -> None:
    assert set(versions.KARPENTER_FOR_KUBERNETES) == set(versions.EKS_CALENDAR)
