"""The model of what pulumi-eks' Cluster creates on its own: pinned to the installed version,
checked against the upstream source when a checkout is at hand, and able to tell a program
that duplicates one of its resources from one that does not."""

from __future__ import annotations

import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from components.domain.principals import Principal, principal_of, role_arn_of_session
from components.offline import eks_model
from components.offline.eks_model import (
    ACCESS_ENTRY,
    ADDON,
    FARGATE_PROFILE,
    OIDC_PROVIDER,
    RULES,
    SECURITY_GROUP,
    cluster_creates,
    conflicts,
)
from components.offline.mocks import Plan, RecordedResource

CREATOR = "arn:aws:sts::123456789012:assumed-role/deployer/session-1"


def test_the_installed_pulumi_eks_is_the_modelled_one() -> None:
    installed = version("pulumi-eks")
    reread = "\n".join(f"  {r.where}: {r.what}" for r in RULES.values())
    assert installed == eks_model.PINNED_VERSION, (
        f"pulumi-eks {installed} is installed but components/offline/eks_model.py models "
        f"{eks_model.PINNED_VERSION}; re-read these lines of {eks_model.SOURCE_REPO} at the new "
        f"version, update RULES, SOURCE_COMMIT and PINNED_VERSION, then re-run "
        f"scripts/pulumi_eks_facts.py:\n{reread}"
    )


FACTS = json.loads(
    (Path(__file__).resolve().parent.parent / "upstream" / "pulumi-eks.json").read_text()
)


def test_the_facts_were_derived_at_the_modelled_source() -> None:
    provenance = FACTS["provenance"]
    assert provenance["ref"] == eks_model.SOURCE_COMMIT
    assert provenance["package_version"] == eks_model.PINNED_VERSION
    assert provenance["generator"] == "scripts/pulumi_eks_facts.py"
    assert set(FACTS["rules"]) == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_cites_the_line_its_quote_is_on(rule: str) -> None:
    """Derived by scripts/pulumi_eks_facts.py from the upstream source at SOURCE_COMMIT."""
    fact, found = FACTS["rules"][rule], RULES[rule]
    assert (fact["file"], fact["quote"]) == (found.file, found.quote)
    assert found.line in fact["lines"]


def _source_checkout() -> Path | None:
    """A pulumi/pulumi-eks git directory (PULUMI_EKS_SRC), e.g. the one `fetch` mirrors."""
    path = os.environ.get("PULUMI_EKS_SRC")
    return Path(path) if path else None


@pytest.mark.skipif(_source_checkout() is None, reason="set PULUMI_EKS_SRC to a pulumi-eks git dir")
@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_quotes_its_source_line(rule: str) -> None:
    found = RULES[rule]
    text = subprocess.run(
        ["git", "-C", str(_source_checkout()), "show", f"{eks_model.SOURCE_COMMIT}:{found.file}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert text.splitlines()[found.line - 1].strip() == found.quote


def _made(inputs: dict) -> set[tuple[str, str]]:
    return {(m.type, m.key) for m in cluster_creates(inputs, CREATOR)}


def test_defaults_make_every_addon_and_the_creator_entry() -> None:
    made = _made({"authenticationMode": "API", "skipDefaultNodeGroup": False})
    assert {(ADDON, "vpc-cni"), (ADDON, "kube-proxy"), (ADDON, "coredns")} <= made
    assert (ACCESS_ENTRY, "arn:aws:iam::123456789012:role/deployer") in made
    assert (SECURITY_GROUP, "eksClusterSecurityGroup") in made
    assert (OIDC_PROVIDER, "issuer") not in made


def test_options_turn_each_resource_off() -> None:
    made = _made(
        {
            "useDefaultVpcCni": True,
            "kubeProxyAddonOptions": {"enabled": False},
            "corednsAddonOptions": {"enabled": False},
            "skipDefaultNodeGroup": True,
            "skipDefaultSecurityGroups": True,
        }
    )
    assert made == set()  # no authenticationMode: EKS' own default, no entry made here


def test_auto_mode_skips_the_addons_and_security_groups() -> None:
    made = _made({"autoMode": {"enabled": True}, "authenticationMode": "API"})
    assert (ADDON, "vpc-cni") not in made and (ADDON, "kube-proxy") not in made
    assert (ADDON, "coredns") in made  # Auto Mode still counts as somewhere to run it
    assert not any(t == SECURITY_GROUP for t, _ in made)


def test_fargate_makes_the_profile_and_coredns_on_fargate() -> None:
    (profile,) = [
        m
        for m in cluster_creates({"fargate": True, "skipDefaultNodeGroup": True}, CREATOR)
        if m.type == FARGATE_PROFILE
    ]
    assert profile.detail["selectors"] == [{"namespace": "default"}, {"namespace": "kube-system"}]
    (coredns,) = [
        m
        for m in cluster_creates(
            {
                "fargate": {"selectors": [{"namespace": "kube-system"}]},
                "corednsAddonOptions": {"configurationValues": {"replicaCount": 4}},
            },
            CREATOR,
        )
        if m.key == "coredns"
    ]
    assert coredns.detail["configurationValues"] == {"computeType": "Fargate", "replicaCount": 4}
    assert coredns.where == "nodejs/eks/cluster/cluster.ts:1204"


def _resource(name: str, type_: str, inputs: dict) -> RecordedResource:
    return RecordedResource(type_, name, f"urn:{name}", None, inputs, inputs, True)


def _plan(*resources: RecordedResource) -> Plan:
    return Plan(resources=list(resources), outputs={}, redacted_outputs={}, rendered_files={})


CLUSTER = {
    "name": "c",
    "authenticationMode": "API",
    "skipDefaultNodeGroup": True,
    "createOidcProvider": True,
    "accessEntries": {"admin-0": {"principalArn": "arn:aws:iam::123456789012:role/ops/deployer"}},
}


def test_conflicts_name_each_duplicate_and_its_source_line() -> None:
    plan = _plan(
        _resource("eks", eks_model.CLUSTER_TYPE, CLUSTER),
        _resource("cni", ADDON, {"clusterName": "c", "addonName": "vpc-cni"}),
        _resource("other-cluster-cni", ADDON, {"clusterName": "d", "addonName": "vpc-cni"}),
        _resource("oidc", OIDC_PROVIDER, {"url": "https://oidc"}),
    )
    found = conflicts(plan, CREATOR)
    assert any(p.startswith("cni: addon vpc-cni") and "cluster.ts:1092" in p for p in found)
    assert not any(p.startswith("other-cluster-cni") for p in found)
    # The deployer's session and its role (with a path) are one principal: two entries.
    assert any(p.startswith("access entry for") and "cluster.ts:739" in p for p in found)
    assert any(p.startswith("oidc:") and "cluster.ts:1247" in p for p in found)


def test_no_conflicts_when_the_program_leaves_pulumi_eks_alone() -> None:
    cluster = {**CLUSTER, "useDefaultVpcCni": True, "accessEntries": {}}
    plan = _plan(
        _resource("eks", eks_model.CLUSTER_TYPE, cluster),
        _resource("cni", ADDON, {"clusterName": "c", "addonName": "vpc-cni"}),
    )
    assert conflicts(plan, CREATOR) == []


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (CREATOR, Principal("aws", "123456789012", "role", "deployer")),
        (
            "arn:aws:iam::123456789012:role/ops/team/deployer",
            Principal("aws", "123456789012", "role", "deployer"),
        ),
        (
            "arn:aws-cn:iam::123456789012:user/alice",
            Principal("aws-cn", "123456789012", "user", "alice"),
        ),
        ("arn:aws:sts::123456789012:federated-user/bob", None),
        ("arn:aws:iam::123456789012:root", None),
    ],
)
def test_principals_ignore_the_role_path_a_session_drops(arn: str, expected: object) -> None:
    assert principal_of(arn) == expected


def test_a_session_maps_to_its_role_arn() -> None:
    assert role_arn_of_session(CREATOR) == "arn:aws:iam::123456789012:role/deployer"
    user = "arn:aws:iam::123456789012:user/alice"
    assert role_arn_of_session(user) == user
