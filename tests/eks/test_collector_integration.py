"""The metrics collector (observability) beside the runner releases (eks-profiles) on one
cluster: its objects in the runner namespaces never take a name the chart makes there, and
they go before their namespaces, on destroy and when a runner leaves.

The gitlab-runner chart 0.86.0 (tests/upstream/gitlab-runner-chart.json, same package sha256)
names its Role and RoleBinding `{{ include "gitlab-runner.fullname" . }}`
(templates/role.yaml:5, templates/role-binding.yaml:5), which is fullnameOverride
(templates/_helpers.tpl:14-15), and fullnameOverride is `gitlab-runner-<runner name>`.
"""

from __future__ import annotations

import pytest

from components.offline.mocks import Plan
from components.offline.order import Order, removal
from tests.eks.support import RELEASE, eks_config
from tests.harness import run_program, shared_plan

ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
NAMESPACE = "kubernetes:core/v1:Namespace"
# A valid runner name (1-32 lowercase letters, digits or '-') whose chart objects are named
# like the collector.
RUNNERS = [
    {"name": "fargate", "tags": ["eks-fargate"], "concurrency": 20},
    {"name": "metrics-collector", "lane": "spot", "tags": ["eks-spot"], "concurrency": 10},
]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program(eks_config(runners=RUNNERS))


def _chart_rbac(plan: Plan) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of the Role and RoleBinding each runner release renders."""
    found = set()
    for release in plan.all(RELEASE):
        values = release.inputs.get("values") or {}
        if not (values.get("rbac") or {}).get("create"):
            continue
        for kind in ("Role", "RoleBinding"):
            found.add((kind, release.inputs["namespace"], values["fullnameOverride"]))
    return found


def test_the_collectors_rbac_never_takes_a_name_of_the_charts(plan: Plan) -> None:
    chart = _chart_rbac(plan)
    assert ("Role", "gitlab-runner-metrics-collector", "gitlab-runner-metrics-collector") in chart
    ours = {
        (r.type.rsplit(":", 1)[-1], r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in plan.all(ROLE) + plan.all(BINDING)
    }
    assert len(ours) == 2 * len(RUNNERS)
    assert ours & chart == set()


def test_the_collectors_rbac_goes_before_its_namespace(plan: Plan) -> None:
    order = Order(plan)
    namespaces = {n.inputs["metadata"]["name"]: n for n in plan.all(NAMESPACE)}
    for rbac in plan.all(ROLE) + plan.all(BINDING):
        assert order.deleted_before(rbac, namespaces[rbac.inputs["metadata"]["namespace"]])


def one_runner(observability: bool) -> Plan:
    """The first runner alone (observability is on by default): one plan per setting for the
    whole module."""
    return shared_plan(eks_config(runners=RUNNERS[:1], observability={"enabled": observability}))


def test_a_leaving_runner_takes_its_collector_rbac_before_its_namespace(plan: Plan) -> None:
    after = one_runner(observability=True)
    waves = {(r.type, r.name): i for i, wave in enumerate(removal(plan, after)) for r in wave}
    rbac = "eks-metrics-gitlab-runner-metrics-collector-pods"
    gone = sorted(key for key in waves if key[1].startswith("eks-metrics-"))
    assert gone == [(ROLE, rbac), (BINDING, rbac)]
    namespace = waves[NAMESPACE, "eks-runner-metrics-collector-namespace"]
    assert all(waves[key] < namespace for key in gone)
    # The collector itself stays: it only stops scraping the namespace.


def test_destroy_takes_the_collector_in_the_first_wave_with_the_releases(plan: Plan) -> None:
    """docs/eks-operations.md: the collector and its Roles go with the runner releases."""
    order = Order(plan)
    first = {(r.type, r.name) for r in order.waves()[0]}
    assert ("kubernetes:apps/v1:Deployment", "eks-metrics-deployment") in first
    assert {
        (RELEASE, "eks-runner-fargate-release"),
        (ROLE, "eks-metrics-gitlab-runner-fargate-pods"),
    } <= first


@pytest.mark.parametrize("enabled", [True, False])
def test_the_metrics_port_is_open_only_while_the_collector_scrapes_it(enabled: bool) -> None:
    """The chart's metrics listener binds every pod interface and also serves /debug/jobs/list
    and /debug/pprof (docs/observability.md): with observability off nothing scrapes it, so
    the releases do not open it."""
    plan = one_runner(observability=enabled)
    values = plan.one(RELEASE, "eks-runner-fargate-release").inputs["values"]
    assert values["metrics"] == {"enabled": enabled}
    assert bool(plan.all("kubernetes:apps/v1:Deployment")) is enabled
