"""The Karpenter CRD hand-over covers every CRD of the pinned karpenter-crd chart.

Stacks whose CRDs the main chart's crds/ installed carry no Helm ownership metadata, and Helm's
install refuses objects another owner (or none) holds (helm v3.20.2, the Helm pulumi-kubernetes
builds on, pkg/action/install.go:350-354: existingResourceConflict unless TakeOwnership, then
requireAdoption; :339 setMetadataVisitor writes the release's labels and annotations on every
rendered object; :458-461 updates the adopted ones). pulumi-kubernetes 4.34.2 exposes that as
`takeOwnership` on helm.v3.Release (its SDK docstring: "mirrors the Helm --take-ownership
flag"; pulumi/pulumi-kubernetes pull request 4476).

The CRD list comes from the chart's templates at the pinned version
(tests/upstream/karpenter-crds.json, written by scripts/upstream_facts.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from components.offline.mocks import Plan
from tests.eks.support import RELEASE

ROOT = Path(__file__).resolve().parent.parent.parent
FACTS = json.loads((ROOT / "tests" / "upstream" / "karpenter-crds.json").read_text())
CHART_CRDS = FACTS["karpenter_crd_chart"]["crds"]


def test_the_facts_are_read_at_the_pinned_karpenter_version(plan: Plan) -> None:
    """When eks.karpenterVersion's default moves, re-run scripts/upstream_facts.py."""
    pinned = plan.one(RELEASE, "eks-karpenter-crds").inputs["version"]
    assert FACTS["provenance"]["ref"].split()[0] == f"v{pinned}"
    assert "charts/karpenter-crd/templates/" in FACTS["provenance"]["files"]


def test_the_chart_holds_five_crds_at_1_14() -> None:
    assert {c["name"] for c in CHART_CRDS} == {
        "nodepools.karpenter.sh",
        "nodeclaims.karpenter.sh",
        "ec2nodeclasses.karpenter.k8s.aws",
        "nodeoverlays.karpenter.sh",
        "capacitybuffers.autoscaling.x-k8s.io",
    }
    # Each name is plural.group, as the API server requires of a CRD.
    assert all(c["name"] == f"{c['plural']}.{c['group']}" for c in CHART_CRDS)


def test_the_crd_chart_holds_every_crd_the_main_chart_skips(plan: Plan) -> None:
    """The main release sets skipCrds: nothing of its crds/ may be missing from the CRD chart."""
    assert plan.one(RELEASE, "eks-karpenter-release").inputs["skipCrds"] is True
    assert FACTS["main_chart_crds_dir"] == sorted(c["file"] for c in CHART_CRDS)


def test_the_crd_release_adopts_existing_crds(plan: Plan) -> None:
    crds = plan.one(RELEASE, "eks-karpenter-crds").inputs
    assert crds["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert crds["takeOwnership"] is True


def test_the_operations_guide_lists_every_crd_of_the_chart() -> None:
    text = (ROOT / "docs" / "eks-operations.md").read_text()
    (command,) = re.findall(r"kubectl get crd (.*?) -o custom-columns", text, re.S)
    listed = command.replace("\\", " ").split()
    assert sorted(listed) == sorted(c["name"] for c in CHART_CRDS)
