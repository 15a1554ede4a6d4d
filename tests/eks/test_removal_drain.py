"""Removing a runner or destroying the stack: the manager loses its API access in the first wave
(issue 22 item 7), so the docs must not promise a drain.

The order model (components/offline/order.py) deletes the Helm release before its namespace;
the chart creates the manager's ServiceAccount, Role and RoleBinding inside the release
(`rbac.create`, `serviceAccount.create`), so `helm uninstall` deletes them while the manager is
in its grace period. Keeping them out of the release does not help: deleting a namespace deletes
every object in it in one pass (kubernetes pkg/controller/namespace/deletion/
namespaced_resources_deleter.go, `deleteAllContent` over every group-version-resource), the job
pods included. So running jobs fail, and docs/eks-operations.md and docs/gitlab.md say so."""

from __future__ import annotations

from pathlib import Path

from components.offline.mocks import Plan
from components.offline.order import Order
from tests.eks.support import release

DOCS = Path(__file__).resolve().parents[2] / "docs"
NAMESPACE = "kubernetes:core/v1:Namespace"


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end > 0 else None]


def test_the_managers_account_and_rbac_go_before_its_namespace(plan: Plan) -> None:
    values = release(plan, "fargate").inputs["values"]
    assert values["rbac"]["create"] is True and values["serviceAccount"]["create"] is True
    order = Order(plan)
    namespace = plan.one(NAMESPACE, "eks-runner-fargate-namespace")
    assert order.deleted_before(release(plan, "fargate"), namespace)


def test_the_docs_say_running_jobs_fail_when_the_account_goes() -> None:
    operations = (DOCS / "eks-operations.md").read_text()
    destroy = _section(operations, "## Destroying the stack with jobs running")
    assert "ServiceAccount, Role and RoleBinding" in destroy
    assert "Running jobs fail here" in destroy and "does not drain" in destroy
    assert "The manager exits once its jobs have ended" not in operations
    removing = _section(operations, "## One Fargate profile for every runner")
    assert "loses its API access at once" in removing
    gitlab = _section((DOCS / "gitlab.md").read_text(), "## Removing a runner")
    assert "ServiceAccount, Role and" in gitlab and "cannot drain" in gitlab
