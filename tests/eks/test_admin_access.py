"""eks.adminRoleArns: access entries named by their principal, not their list position.

EKS holds one access entry per principal (FACTS.md section 9), so renaming an entry (a delete
and a create-before-delete under the new name) fails on ResourceInUseException and leaves the
admin without access. Reordering or removing one role must touch only that role's entry; a
stack whose entries pulumi-eks made under `admin-<index>` keys adopts them through aliases.
"""

from __future__ import annotations

import pytest

from components.eks.cluster_access import ADMIN_POLICY_KEY, admin_entry_key
from components.offline import mock_answers
from components.offline.eks_model import RULES, conflicts
from components.offline.mocks import Plan, RecordedResource
from components.offline.order import removal, replacements
from tests.eks.support import CLUSTER, eks_config
from tests.harness import run_program

ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
PLATFORM = "arn:aws:iam::123456789012:role/platform-admins"
RELEASE = "arn:aws:iam::123456789012:role/team/release-managers"
# Same role name in another account: another principal, another entry.
ELSEWHERE = "arn:aws:iam::210987654321:role/platform-admins"
ORDERS = {
    "first": [PLATFORM, RELEASE, ELSEWHERE],
    "reordered": [ELSEWHERE, PLATFORM, RELEASE],
    "first-removed": [RELEASE, ELSEWHERE],
}


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {k: run_program(eks_config(eks={"adminRoleArns": v})) for k, v in ORDERS.items()}


def admin_entries(plan: Plan) -> dict[str, RecordedResource]:
    """The program's admin entries by principal ARN (pulumi-eks' are the Karpenter ones; the
    start-wait sampler's is tests/eks/test_start_wait_sampler.py)."""
    return {e.inputs["principalArn"]: e for e in plan.all(ENTRY) if "start-wait" not in e.name}


def association_of(plan: Plan, entry: RecordedResource) -> RecordedResource:
    (association,) = [a for a in plan.all(ASSOCIATION) if a.parent == entry.urn]
    return association


def admin_urns(plan: Plan) -> set[str]:
    return {r.urn for r in plan.resources if r.type in (ENTRY, ASSOCIATION)}


def test_each_entry_is_named_by_its_principal(plans: dict[str, Plan]) -> None:
    plan = plans["first"]
    cluster = plan.one(CLUSTER)
    entries = admin_entries(plan)
    assert set(entries) == set(ORDERS["first"])
    # No admin entry goes through pulumi-eks' accessEntries (keyed there by position).
    assert set(cluster.inputs["accessEntries"]) == {"karpenter-nodes"}
    for arn, entry in entries.items():
        assert entry.name == f"eks-cluster-{admin_entry_key(arn)}"
        assert entry.inputs == {"clusterName": cluster.inputs["name"], "principalArn": arn}
        assert cluster.urn in entry.dependencies
        association = association_of(plan, entry)
        assert association.name == f"{entry.name}-{ADMIN_POLICY_KEY}"
        assert association.inputs == {
            "clusterName": cluster.inputs["name"],
            "principalArn": arn,
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster"},
        }
        assert entry.urn in association.dependencies
    assert entries[PLATFORM].name != entries[ELSEWHERE].name
    assert conflicts(plan, mock_answers.MOCK_CALLER_ARN) == []


def test_reordering_deletes_creates_and_replaces_nothing(plans: dict[str, Plan]) -> None:
    before, after = plans["first"], plans["reordered"]
    assert admin_urns(before) == admin_urns(after)
    assert [r for wave in removal(before, after) for r in wave] == []
    assert [r for r in replacements(before, after) if r.before.type in (ENTRY, ASSOCIATION)] == []


def test_removing_the_first_role_deletes_only_its_entry(plans: dict[str, Plan]) -> None:
    before, after = plans["first"], plans["first-removed"]
    gone = admin_entries(before)[PLATFORM]
    waves = removal(before, after)
    assert [[r.urn for r in wave] for wave in waves] == [
        [association_of(before, gone).urn],
        [gone.urn],
    ]
    assert admin_urns(after) < admin_urns(before)  # nothing new is created
    assert [r for r in replacements(before, after) if r.before.type in (ENTRY, ASSOCIATION)] == []


def legacy_entry_urn(cluster: RecordedResource, index: int) -> str:
    """Where releases that keyed accessEntries `admin-<index>` have the entry: pulumi-eks
    names it `<cluster>-<key>` as a child of its Cluster (RULES["access-entry-name"])."""
    prefix, _ = cluster.urn.rsplit("::", 1)
    return f"{prefix}${ENTRY}::{cluster.name}-admin-{index}"


def test_existing_stacks_adopt_their_index_named_entries(plans: dict[str, Plan]) -> None:
    """The aliases name exactly the resources pulumi-eks made for `admin-<index>`: the entry
    under the Cluster (authenticationMode.ts:186) and its association `<entry>-<policy>`
    under the entry (:198, :207). The engine looks the URN up first and the aliases only when
    it is missing (pulumi/pulumi pkg/resource/deploy/step_generator.go getOldResource), so
    they adopt the old resources once and are inert afterwards."""
    assert {"access-entry-name", "access-policy-name", "access-policy-parent"} <= set(RULES)
    plan = plans["first"]
    cluster = plan.one(CLUSTER)
    entries = admin_entries(plan)
    for index, arn in enumerate(ORDERS["first"]):
        entry = entries[arn]
        old_entry = {"name": f"{cluster.name}-admin-{index}", "parentUrn": cluster.urn}
        assert entry.aliases == [old_entry]
        assert association_of(plan, entry).aliases == [
            {
                "name": f"{cluster.name}-admin-{index}-{ADMIN_POLICY_KEY}",
                "parentUrn": legacy_entry_urn(cluster, index),
            }
        ]


def test_the_skipped_deployer_keeps_the_others_old_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deployer's position still counted in the old keys: the role after it was admin-1."""
    monkeypatch.setattr(
        mock_answers, "MOCK_CALLER_ARN", "arn:aws:sts::123456789012:assumed-role/platform-admins/s"
    )
    plan = run_program(eks_config(eks={"adminRoleArns": [PLATFORM, RELEASE]}))
    (entry,) = admin_entries(plan).values()
    assert entry.inputs["principalArn"] == RELEASE
    assert entry.aliases[0]["name"] == f"{plan.one(CLUSTER).name}-admin-1"


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (PLATFORM, "admin-platform-admins-"),
        ("arn:aws:iam::123456789012:role/Team_Ops.Admin", "admin-team-ops-admin-"),
        ("arn:aws:iam::123456789012:user/jane", "admin-jane-"),
    ],
)
def test_keys_are_readable(arn: str, expected: str) -> None:
    key = admin_entry_key(arn)
    assert key.startswith(expected) and len(key) == len(expected) + 8


def test_keys_follow_the_principal_not_the_arn() -> None:
    # A path does not change the principal (components/domain/principals.py) ...
    assert admin_entry_key(RELEASE) == admin_entry_key(
        "arn:aws:iam::123456789012:role/release-managers"
    )
    # ... the account and the kind do.
    assert admin_entry_key(PLATFORM) != admin_entry_key(ELSEWHERE)
    assert admin_entry_key(PLATFORM) != admin_entry_key(
        "arn:aws:iam::123456789012:user/platform-admins"
    )


def test_long_names_are_cut_and_kept_apart() -> None:
    stem = "a" * 60
    keys = {admin_entry_key(f"arn:aws:iam::123456789012:role/{stem}{n}") for n in range(3)}
    assert len(keys) == 3
    assert all(len(k) <= len("admin-") + 40 + 9 for k in keys)


# The other lists of EKS mode that become resources: the API's ingress rules, named by source.


def api_access(cidrs: list[str], groups: list[str]) -> Plan:
    eks = {
        "endpointAccess": "private",
        "privateAccessCidrs": cidrs,
        "privateAccessSecurityGroupIds": groups,
    }
    return run_program(eks_config(eks=eks))


def test_reordering_or_removing_a_source_touches_only_its_rule() -> None:
    rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    before = api_access(
        ["10.100.0.0/16", "192.168.8.0/24", "172.31.0.0/16"],
        ["sg-0123456789abcdef0", "sg-0fedcba9876543210"],
    )
    after = api_access(
        ["172.31.0.0/16", "192.168.8.0/24"], ["sg-0fedcba9876543210", "sg-0123456789abcdef0"]
    )
    rules = {r.urn: r for r in before.all(rule)}
    gone = [r for wave in removal(before, after) for r in wave]
    assert [(r.type, r.inputs["cidrIpv4"]) for r in gone] == [(rule, "10.100.0.0/16")]
    assert {r.urn for r in after.all(rule)} < set(rules)
    assert [r for r in replacements(before, after) if r.before.type == rule] == []
