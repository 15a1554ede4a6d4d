"""What AWS says about the versions at preview (issue 22 item 6, issue 23 item 3): EKS with no
addon version for the Kubernetes version, an AMI alias with no SSM parameter. Both stop the
preview with a message naming the key and the fix, never a provider traceback; offline, every
version the config check lets through plans."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from components.offline import mocks
from tests.eks.support import eks_config
from tests.harness import run_program
from tests.test_preflight import ProviderError

ADDON_INVOKE = "aws:eks/getAddonVersion:getAddonVersion"
SSM_INVOKE = "aws:ssm/getParameter:getParameter"


def test_a_kubernetes_version_newer_than_the_program_knows_plans_offline() -> None:
    """1.37 passes the config check with a warning (components/domain/versions.py); the mocks'
    addon table stops at 1.36 and used to end the plan in ValueError."""
    plan = run_program(eks_config(eks={"kubernetesVersion": "1.37"}))
    assert any("eks.kubernetesVersion: '1.37' is newer" in w for w in plan.warnings)
    assert ADDON_INVOKE in plan.invokes


def test_eks_without_an_addon_version_stops_the_preview_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`aws eks describe-addon-versions` answers nothing for a minor EKS does not offer yet; the
    provider turns that into an invoke error (pulumi-aws eks.getAddonVersion)."""

    def none_offered(args: dict[str, Any], _region: str) -> dict[str, Any]:
        raise ProviderError(f"no addon versions found for {args['addonName']}")

    monkeypatch.setitem(mocks.INVOKES_BY_TOKEN, ADDON_INVOKE, none_offered)
    with pytest.raises(ConfigError) as raised:
        run_program(eks_config(eks={"kubernetesVersion": "1.36"}))
    (problem,) = raised.value.problems
    assert problem.startswith("eks.kubernetesVersion: '1.36': EKS offers no version of the ")
    assert "aws eks describe-addon-versions --addon-name vpc-cni --kubernetes-version 1.36" in (
        problem
    )


def test_an_ami_alias_without_its_ssm_parameter_stops_the_preview(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Karpenter pkg/providers/amifamily/al2023.go `resolvePath` (the same at commits 41cd746
    and 0546f04; the file at the pinned v1.14.1, bde0065, was not at hand): the
    parameter /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/standard/
    amazon-eks-node-al2023-<arch>-standard-<k8s>-<release>/image_id; none found ->
    "failed to discover any AMIs for alias" and no node."""
    asked: list[str] = []

    def missing(args: dict[str, Any], _region: str) -> dict[str, Any]:
        asked.append(args["name"])
        raise ProviderError(f"ParameterNotFound: {args['name']}")

    monkeypatch.setitem(mocks.INVOKES_BY_TOKEN, SSM_INVOKE, missing)
    with pytest.raises(ConfigError) as raised:
        run_program(eks_config(eks={"kubernetesVersion": "1.36"}))
    path = (
        "/aws/service/eks/optimized-ami/1.36/amazon-linux-2023/x86_64/standard/"
        "amazon-eks-node-al2023-x86_64-standard-1.36-v20260930/image_id"
    )
    assert asked == [path]
    (problem,) = raised.value.problems
    assert problem.startswith("eks.nodeAmiAlias: 'al2023@v20260930' has no amd64 AMI")
    assert path in problem and "bump the alias with the version" in problem


def test_al2023_latest_needs_no_ssm_lookup() -> None:
    plan = run_program(eks_config(eks={"nodeAmiAlias": "al2023@latest"}))
    assert SSM_INVOKE not in plan.invokes
