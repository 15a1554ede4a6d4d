"""What pulumi-eks' `eks:index:Cluster` creates on its own, from its inputs, at the pinned version.

Under mocks the remote component is one opaque resource: nothing it creates inside is
recorded. This model reads the recorded inputs the way nodejs/eks/cluster/cluster.ts does and
says what the component makes, each with the source line it follows, so a test can fail when
the program creates the same thing beside it (a second `vpc-cni` addon fails CreateAddon, a
second access entry for one principal fails with ResourceInUseException, a second OIDC
provider for one issuer fails with EntityAlreadyExists).

The source was read at pulumi/pulumi-eks commit SOURCE_COMMIT: the mirror has no v4.4.0 tag,
and nodejs/eks is byte-identical between v4.3.0 and that commit (only yarn.lock moved), whose
provider schema lists exactly the Cluster inputs the installed 4.4.0 Python SDK accepts.
scripts/pulumi_eks_facts.py finds each rule's quote in that source and records its line in
tests/upstream/pulumi-eks.json, against which the tests check RULES. When the installed
pulumi-eks differs from PINNED_VERSION, tests/offline/test_eks_model.py fails and lists every
RULES line to re-read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.domain.principals import Principal, principal_of, role_arn_of_session
from components.offline.mocks import Plan, RecordedResource

PINNED_VERSION = "4.4.0"
SOURCE_REPO = "pulumi/pulumi-eks"
SOURCE_COMMIT = "7bf0c1b179932ce51cb02dfc4f9bd0d7550cb0cd"
CLUSTER_TS = "nodejs/eks/cluster/cluster.ts"
CNI_ADDON_TS = "nodejs/eks/addons/cni-addon.ts"
AUTH_TS = "nodejs/eks/cluster/authenticationMode.ts"

CLUSTER_TYPE = "eks:index:Cluster"
ADDON = "aws:eks/addon:Addon"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
FARGATE_PROFILE = "aws:eks/fargateProfile:FargateProfile"


@dataclass(frozen=True)
class Rule:
    """One behaviour of the component: the source line it lives on, quoted (stripped)."""

    what: str
    file: str
    line: int
    quote: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


RULES: dict[str, Rule] = {
    "vpc-cni": Rule(
        "a managed vpc-cni addon (VpcCniAddon) unless useDefaultVpcCni is true; unset means "
        "'create it' except in Auto Mode (the schema's 'Defaults to true' is wrong)",
        CLUSTER_TS,
        1092,
        "args.useDefaultVpcCni !== undefined ? !args.useDefaultVpcCni : !args.autoMode?.enabled;",
    ),
    "vpc-cni-addon": Rule(
        "VpcCniAddon registers an aws.eks.Addon named vpc-cni",
        CNI_ADDON_TS,
        302,
        'addonName: "vpc-cni",',
    ),
    "kube-proxy": Rule(
        "a managed kube-proxy addon unless kubeProxyAddonOptions.enabled is false or Auto Mode",
        CLUSTER_TS,
        764,
        "const kubeProxyAddonEnabled = args.kubeProxyAddonOptions?.enabled ?? "
        "!args.autoMode?.enabled;",
    ),
    "coredns-explicit": Rule(
        "coredns when corednsAddonOptions.enabled is true or it has configurationValues",
        CLUSTER_TS,
        1176,
        "args.corednsAddonOptions?.enabled === true || "
        "args.corednsAddonOptions?.configurationValues;",
    ),
    "coredns": Rule(
        "otherwise coredns when fargate, a default node group or Auto Mode, unless "
        "corednsAddonOptions.enabled is false",
        CLUSTER_TS,
        1184,
        "(args.corednsAddonOptions?.enabled ?? true))",
    ),
    "coredns-fargate": Rule(
        "with fargate set, computeType Fargate is merged under the configured values",
        CLUSTER_TS,
        1204,
        'computeType: "Fargate",',
    ),
    "creator-access-entry": Rule(
        "with authenticationMode set, EKS gives the principal that creates the cluster an "
        "admin access entry (bootstrapClusterCreatorAdminPermissions)",
        CLUSTER_TS,
        739,
        "bootstrapClusterCreatorAdminPermissions: true,",
    ),
    "access-entries": Rule(
        "every accessEntries input becomes an aws.eks.AccessEntry",
        CLUSTER_TS,
        1051,
        "createAccessEntries(name, eksCluster.name, args.accessEntries || {}, {",
    ),
    "access-entry-name": Rule(
        "the entry for accessEntries key K of Cluster C is named C-K, a child of the Cluster",
        AUTH_TS,
        186,
        "`${componentName}-${name}`,",
    ),
    "access-policy-name": Rule(
        "its access policy P is an AccessPolicyAssociation named C-K-P ...",
        AUTH_TS,
        198,
        "`${componentName}-${name}-${associationName}`,",
    ),
    "access-policy-parent": Rule(
        "... whose parent is the entry",
        AUTH_TS,
        207,
        "parent: entry,",
    ),
    "security-groups": Rule(
        "a cluster security group (and node security group) unless skipDefaultSecurityGroups "
        "or Auto Mode; with them skipped only the EKS-created group exists, admitting itself",
        CLUSTER_TS,
        548,
        "const skipDefaultSecurityGroups = args.skipDefaultSecurityGroups ?? "
        "args.autoMode?.enabled;",
    ),
    "oidc-provider": Rule(
        "an IAM OIDC provider for the cluster issuer when createOidcProvider is set",
        CLUSTER_TS,
        1247,
        "if (args.createOidcProvider) {",
    ),
    "fargate-profile": Rule(
        "one Fargate profile when fargate is set; custom selectors replace default+kube-system",
        CLUSTER_TS,
        1137,
        "const selectors = fargate.selectors || [",
    ),
    "kubeconfig-json": Rule(
        "kubeconfigJson is the kubeconfig WITHOUT the profile (genKubeconfig(false))",
        CLUSTER_TS,
        912,
        "const kubeconfigWithoutProfile = genKubeconfig(false);",
    ),
    "kubeconfig-role": Rule(
        "a role in the kubeconfig options becomes `--role ARN` of aws eks get-token",
        CLUSTER_TS,
        229,
        'args = [...args, "--role", opts.roleArn];',
    ),
    "kubeconfig-profile": Rule(
        "a profile becomes `--profile NAME`, only in kubeconfigs built with the profile",
        CLUSTER_TS,
        236,
        'args = [...args, "--profile", opts.profileName];',
    ),
    "get-kubeconfig": Rule(
        "the getKubeconfig method builds one with the profile (includeProfile true)",
        CLUSTER_TS,
        2324,
        "getKubeconfig(args: KubeconfigOptions): pulumi.Output<string> {",
    ),
}


@dataclass(frozen=True)
class Made:
    """One resource the component creates: its type, what identifies it, the rule it follows."""

    type: str
    key: str  # addon name, principal ARN, "issuer", security group or profile role
    rule: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return RULES[self.rule].where


def _enabled(options: Any) -> Any:
    return options.get("enabled") if isinstance(options, Mapping) else None


def cluster_creates(inputs: Mapping[str, Any], creator_arn: str) -> list[Made]:
    """What one `eks:index:Cluster` with these (camelCase, recorded) inputs creates itself.
    `creator_arn` is the caller that runs `pulumi up` (its session ARN is fine)."""
    auto = bool(_enabled(inputs.get("autoMode")))
    fargate = inputs.get("fargate")
    made: list[Made] = []
    use_default_cni = inputs.get("useDefaultVpcCni")
    if (not use_default_cni) if use_default_cni is not None else not auto:
        made.append(Made(ADDON, "vpc-cni", "vpc-cni"))
    kube_proxy = _enabled(inputs.get("kubeProxyAddonOptions"))
    if kube_proxy if kube_proxy is not None else not auto:
        made.append(Made(ADDON, "kube-proxy", "kube-proxy"))
    coredns = inputs.get("corednsAddonOptions") or {}
    explicit = coredns.get("enabled") is True or bool(coredns.get("configurationValues"))
    implied = bool(fargate) or not inputs.get("skipDefaultNodeGroup") or auto
    if explicit or (implied and coredns.get("enabled", True) is not False):
        values = dict(coredns.get("configurationValues") or {})
        if fargate:
            values = {"computeType": "Fargate", **values}
        rule = "coredns-fargate" if fargate else ("coredns-explicit" if explicit else "coredns")
        made.append(Made(ADDON, "coredns", rule, {"configurationValues": values}))
    mode = inputs.get("authenticationMode")
    if mode:
        # A session's entry is its role's (the path, which the session ARN drops, unknown).
        creator = role_arn_of_session(creator_arn)
        made.append(Made(ACCESS_ENTRY, creator, "creator-access-entry"))
    if mode in ("API", "API_AND_CONFIG_MAP"):
        for key, entry in (inputs.get("accessEntries") or {}).items():
            made.append(
                Made(ACCESS_ENTRY, entry.get("principalArn", ""), "access-entries", {"key": key})
            )
    if not (
        inputs.get("skipDefaultSecurityGroups") if "skipDefaultSecurityGroups" in inputs else auto
    ):
        made.append(Made(SECURITY_GROUP, "eksClusterSecurityGroup", "security-groups"))
        made.append(Made(SECURITY_GROUP, "nodeSecurityGroup", "security-groups"))
    if inputs.get("createOidcProvider"):
        made.append(Made(OIDC_PROVIDER, "issuer", "oidc-provider"))
    if fargate:
        profile = fargate if isinstance(fargate, Mapping) else {}
        selectors = profile.get("selectors") or [
            {"namespace": "default"},
            {"namespace": "kube-system"},
        ]
        made.append(Made(FARGATE_PROFILE, "default", "fargate-profile", {"selectors": selectors}))
    return made


def _principal(arn: str) -> Principal | str:
    return principal_of(arn) or arn


def conflicts(plan: Plan, creator_arn: str) -> list[str]:
    """Everything the program creates that a pulumi-eks Cluster in the plan already made, and
    every principal given two access entries: each would fail at create time."""
    problems: list[str] = []
    for cluster in plan.all(CLUSTER_TYPE):
        made = cluster_creates(cluster.inputs, creator_arn)
        name = cluster.inputs.get("name")
        addons = {m.key: m for m in made if m.type == ADDON}
        for addon in plan.all(ADDON):
            if addon.inputs.get("clusterName") == name and addon.inputs.get("addonName") in addons:
                m = addons[addon.inputs["addonName"]]
                problems.append(
                    f"{addon.name}: addon {m.key} is already created by {cluster.name} ({m.where})"
                )
        entries: dict[Principal | str, list[str]] = {}
        for m in made:
            if m.type == ACCESS_ENTRY:
                entries.setdefault(_principal(m.key), []).append(f"{cluster.name} ({m.where})")
        for entry in _program_entries(plan, name):
            entries.setdefault(_principal(entry.inputs.get("principalArn", "")), []).append(
                entry.name
            )
        for principal, owners in entries.items():
            if len(owners) > 1:
                problems.append(f"access entry for {principal}: created by {', '.join(owners)}")
        if any(m.type == OIDC_PROVIDER for m in made):
            problems.extend(
                f"{p.name}: {cluster.name} already creates the OIDC provider "
                f"({RULES['oidc-provider'].where})"
                for p in plan.all(OIDC_PROVIDER)
            )
    return problems


def _program_entries(plan: Plan, cluster_name: Any) -> list[RecordedResource]:
    return [e for e in plan.all(ACCESS_ENTRY) if e.inputs.get("clusterName") == cluster_name]
