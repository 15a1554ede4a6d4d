"""The EKS manager pod size the docs state is the size the estimate prices and preflight counts:
one function (domain/eks_sizing.ManagerSize.on_fargate). The README used to give only the
requests (3000m / 2768Mi) while the estimate priced the 4 vCPU / 8 GB pod Fargate runs them in
(Fargate rounds a pod up to the smallest size that holds its requests plus 256 MiB; at 4 vCPU
the smallest memory is 8 GB: FACTS.md 4 and 6)."""

from __future__ import annotations

import json

import pytest

from components.capacity.cli import main
from components.domain.eks_sizing import manager_size
from tests.harness import DEV_STACK, ROOT

DOCS = {
    "README.md": (20, 500),
    "docs/eks-operations.md": (20, 500),
    "docs/scaling.md": (20,),
}


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_the_docs_state_the_manager_pod_as_the_sizing_function_does(doc: str) -> None:
    text = " ".join((ROOT / doc).read_text().split())
    for concurrency in DOCS[doc]:
        assert manager_size(concurrency).describe() in text, (doc, concurrency)


def test_the_estimate_prices_the_manager_at_that_size(tmp_path, capsys) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(DEV_STACK.read_text())
    argv = ["--project-dir", str(tmp_path), "--jobs", "10", "--set", "mode=eks", "--json"]
    argv += ["--set", "runners[0].concurrency=500"]
    assert main(argv) == 0
    items = json.loads(capsys.readouterr().out)["cost"]["alwaysOnItems"]
    vcpu, gib = manager_size(500).on_fargate()
    assert (vcpu, gib) == (4.0, 8.0)
    assert f"Fargate pod: manager fargate ({vcpu} vCPU, {gib} GiB)" in [i["item"] for i in items]
