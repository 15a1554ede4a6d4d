"""EKS Fargate profiles: one profile serves every runner namespace, and a runner namespace is
deleted before the profile (and the NodePools) its pods run on.

AWS creates and deletes one profile per cluster at a time (minutes each), every profile input
forces a replacement, and deleting a profile deletes the pods it placed (EKS user guide,
fargate-profile.md "Deleting a Fargate profile"). So the number of profiles must not grow with
the runners, and what a draining manager runs on must outlive its namespace.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace

import pytest

from components.eks.placement import FARGATE_PROFILE_LABEL, RUNNERS_PROFILE
from components.eks.runner_chart import NAMESPACE_DELETE_MARGIN_SECONDS
from components.offline.mocks import Plan, RecordedResource
from components.offline.order import Order, removal, replacements
from tests.eks.support import COMPUTE_LABEL, PROFILE, eks_config, release
from tests.harness import run_program
from tests.offline.invariants import eks_selector_matches

NAMESPACE = "kubernetes:core/v1:Namespace"


def _runners(count: int) -> list[dict[str, object]]:
    lanes = ("fargate", "spot", "privileged")
    return [
        {"name": f"r{i}", "lane": lanes[i % 3], "tags": [f"t{i}"], "concurrency": 5}
        for i in range(count)
    ]


def selects(profile: RecordedResource, namespace: str, labels: dict[str, str]) -> bool:
    return any(
        eks_selector_matches(s["namespace"], namespace)
        and all(labels.get(k) == v for k, v in (s.get("labels") or {}).items())
        for s in profile.inputs["selectors"]
    )


def runners_profile(plan: Plan) -> RecordedResource:
    (profile,) = [p for p in plan.all(PROFILE) if p.inputs["fargateProfileName"] == RUNNERS_PROFILE]
    return profile


def namespace_of(plan: Plan, runner: str) -> RecordedResource:
    return plan.one(NAMESPACE, f"eks-runner-{runner}-namespace")


def test_the_wildcard_matcher_follows_the_eks_rules() -> None:
    assert eks_selector_matches("prod*", "prod") and eks_selector_matches("prod*", "prod-metrics")
    assert eks_selector_matches("value?", "valuea")
    assert not eks_selector_matches("value?", "value")
    assert not eks_selector_matches("value?", "value-a")


def test_one_profile_selects_every_runners_fargate_pods(full_plan: Plan) -> None:
    profiles = {p.inputs["fargateProfileName"]: p for p in full_plan.all(PROFILE)}
    assert set(profiles) == {"karpenter", RUNNERS_PROFILE}
    shared = profiles[RUNNERS_PROFILE]
    assert shared.inputs["selectors"] == [{"namespace": "gitlab-runner-*", "labels": COMPUTE_LABEL}]
    for runner in ("fargate", "spot", "docker"):
        namespace = namespace_of(full_plan, runner).inputs["metadata"]["name"]
        assert selects(shared, namespace, COMPUTE_LABEL)
        # Unlabelled pods (EC2 lanes, managers on EC2) fall through to Karpenter.
        assert not selects(shared, namespace, {})
        (entry,) = tomllib.loads(release(full_plan, runner).inputs["values"]["runners"]["config"])[
            "runners"
        ]
        job_labels = entry["kubernetes"].get("pod_labels", {})
        assert selects(shared, namespace, job_labels) is (runner == "fargate")
    assert not selects(shared, "karpenter", COMPUTE_LABEL)
    assert not selects(shared, "kube-system", COMPUTE_LABEL)


def test_runner_pods_on_fargate_match_and_name_the_shared_profile(plan: Plan) -> None:
    """Where several profiles match a pod, the label eks.amazonaws.com/fargate-profile names the
    one it uses (EKS user guide, fargate-profile.md)."""
    shared = runners_profile(plan)
    labelled = [release(plan, r).inputs["values"]["podLabels"] for r in ("fargate", "spot")]
    (entry,) = tomllib.loads(release(plan, "fargate").inputs["values"]["runners"]["config"])[
        "runners"
    ]
    labelled.append(entry["kubernetes"]["pod_labels"])
    for labels in labelled:
        assert selects(shared, "gitlab-runner-fargate", labels)
        assert labels[FARGATE_PROFILE_LABEL] == shared.inputs["fargateProfileName"]


def test_three_and_six_runners_have_the_same_profiles() -> None:
    def profiles(count: int) -> list[tuple[str, dict[str, object]]]:
        plan = run_program(eks_config(runners=_runners(count)))
        return [(p.name, p.inputs) for p in plan.all(PROFILE)]

    three, six = profiles(3), profiles(6)
    assert three == six
    # A fresh deploy waits for kube-system's profile (pulumi-eks' `fargate`), Karpenter's and
    # the runners': three, one after another, whatever the number of runners.
    assert len(six) + 1 == 3


def test_the_shared_profile_sorts_before_the_per_runner_profiles_it_replaces() -> None:
    """Fargate takes the first matching profile by name, so during the migration new pods land
    on the shared profile, not on an old `runner-<name>` one about to be deleted."""
    assert all(f"runner-{name}" > RUNNERS_PROFILE for name in ("a", "fargate", "zz", "0"))


@pytest.mark.parametrize("which", ["plan", "full_plan"])
def test_a_runner_namespace_goes_before_what_its_pods_run_on(
    which: str, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(which)
    order = Order(plan)
    shared = runners_profile(plan)
    pools = plan.all("kubernetes:karpenter.sh/v1:NodePool")
    names = [r.inputs["metadata"]["name"] for r in plan.all(NAMESPACE)]
    runners = [n.removeprefix("gitlab-runner-") for n in names if n.startswith("gitlab-runner-")]
    assert runners
    checked_pools = 0
    for runner in runners:
        namespace = namespace_of(plan, runner)
        assert order.deleted_before(namespace, shared)
        assert order.deleted_before(release(plan, runner), namespace)
        # The NodePools its manager and jobs run on (the release waits for them) too.
        for pool in pools:
            if pool.urn in release(plan, runner).dependencies:
                assert order.deleted_before(namespace, pool), (runner, pool.name)
                checked_pools += 1
    # full_plan: system for every manager, plus spot and privileged; plan: the spot jobs.
    assert checked_pools == (5 if which == "full_plan" else 1)


@pytest.mark.parametrize("which", ["plan", "full_plan"])
def test_a_namespace_delete_waits_out_its_managers_grace_period(
    which: str, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(which)
    for namespace in plan.all(NAMESPACE):
        name = namespace.inputs["metadata"]["name"]
        if not name.startswith("gitlab-runner-"):
            continue
        grace = release(plan, name.removeprefix("gitlab-runner-")).inputs["values"][
            "terminationGracePeriodSeconds"
        ]
        timeout = namespace.custom_timeouts["delete"]
        assert timeout.endswith("s")
        assert int(timeout[:-1]) >= grace + NAMESPACE_DELETE_MARGIN_SECONDS


def test_switching_manager_placement_keeps_the_profile(plan: Plan) -> None:
    """fargate -> ec2: the old manager pods drain on Fargate while the new ones start on EC2;
    the profile they drain on is neither deleted nor replaced."""
    config = eks_config(eks={"managerPlacement": "ec2"})
    after = run_program(config)
    gone = [r for wave in removal(plan, after) for r in wave]
    assert not [r.name for r in gone if r.type in (PROFILE, NAMESPACE)]
    assert not [r.after.name for r in replacements(plan, after) if r.after.type == PROFILE]
    assert runners_profile(after).urn == runners_profile(plan).urn


def test_migration_from_per_runner_profiles_creates_before_it_deletes(plan: Plan) -> None:
    """A stack from before the shared profile holds `runner-<name>` profiles chained after
    Karpenter's. The update creates the shared profile (a new resource) first; the old ones
    leave the program and go afterwards, one at a time (each waits for the next in the old
    chain), and nothing else goes with them."""
    shared = runners_profile(plan)
    karpenter = next(p for p in plan.all(PROFILE) if p.inputs["fargateProfileName"] == "karpenter")
    old: list[RecordedResource] = []
    previous = karpenter.urn
    for runner in ("fargate", "spot"):
        name = f"runner-{runner}"
        inputs = copy.deepcopy(shared.inputs)
        inputs["fargateProfileName"] = name
        inputs["selectors"] = [{"namespace": f"gitlab-runner-{runner}", "labels": COMPUTE_LABEL}]
        profile = replace(
            shared,
            name=f"eks-cluster-fargate-{name}",
            urn=shared.urn.replace(shared.name, f"eks-cluster-fargate-{name}"),
            inputs=inputs,
            dependencies=[previous],
        )
        old.append(profile)
        previous = profile.urn
    before_resources = [r for r in plan.resources if r.urn != shared.urn] + old
    before = replace(plan, resources=before_resources)
    waves = removal(before, plan)
    assert [[r.name for r in wave] for wave in waves] == [
        ["eks-cluster-fargate-runner-spot"],
        ["eks-cluster-fargate-runner-fargate"],
    ]
    assert not replacements(before, plan)


def test_removing_a_runner_drains_its_namespace_and_keeps_the_profile(plan: Plan) -> None:
    """The removal deletes the release first (its manager gets SIGQUIT), then the namespace,
    whose delete waits out the manager's grace period; the shared profile stays."""
    after = run_program(eks_config(runners=[{"name": "fargate", "concurrency": 20}]))
    waves = removal(plan, after)
    gone = {r.name: i for i, wave in enumerate(waves) for r in wave}
    assert gone["eks-runner-spot-release"] < gone["eks-runner-spot-namespace"]
    assert not [r for wave in waves for r in wave if r.type == PROFILE]
    assert runners_profile(after).urn == runners_profile(plan).urn
