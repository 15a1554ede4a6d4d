"""Checks of single values against what the services make of them: a public VPC block, a
gitlab.com URL with a path, Karpenter instance categories that cannot give a lane's CPU
architecture.

Instance categories: Karpenter labels an instance type with the leading letters of its name
as `karpenter.k8s.aws/instance-category` and the digits after them as `instance-generation`
(karpenter-provider-aws pkg/providers/instancetype/types.go, `instanceTypeScheme =
(^[a-z]+)(\\-[0-9]+tb)?([0-9]+).*\\.`), and a NodePool's requirements all hold at once: an
instance type must satisfy every one (Karpenter docs, concepts/nodepools "requirements"; the
pod's own node selector is intersected with them, concepts/scheduling). Graviton is not a
category: it is the `g` after the generation (c7g, m7g, t4g; EC2 User Guide, "Amazon EC2
instance type naming conventions": "g - AWS Graviton processors"), and the category `g` is
the GPU family (g4dn, g5, g5g). So a lane's `kubernetes.io/arch In [...]`, its
`instance-generation Gt 2` and `instance-category In eks.instanceCategories` must leave at
least one family, or every job of the lane stays Pending.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from components.config.model import EksSpec, NetworkSpec, RunnerSpec, StackConfig
from components.config.reader import Reader

# RFC 1918 section 3: the three blocks "reserved ... for private internets".
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
GITLAB_COM = "gitlab.com"
# Categories with a family past generation 2 (the NodePools' `instance-generation Gt 2`), by
# architecture (EC2 User Guide, instance types: c/m/r/t/i/x/g/p have Graviton (or Grace)
# families such as c8g, t4g, i8g, x8g, g5g, p6e-gb200; d3 and u7i are x86 only). a1, f1/f2,
# h1 and z1d are all generation 1 or 2, so `a`, `f`, `h` and `z` give no node at all.
CATEGORY_ARCHITECTURES = {
    **dict.fromkeys("cmrtixgp", ("amd64", "arm64")),
    **dict.fromkeys("du", ("amd64",)),
    **dict.fromkeys("afhz", ()),
}
EC2_LANES = ("spot", "privileged")
MANAGER_ARCHITECTURE = "amd64"  # the runner managers' image is amd64 (eks/placement.py)


def check_vpc_cidr(r: Reader, network: NetworkSpec) -> None:
    """A new VPC on a public block: AWS allows it, but the VPC's own routes then win over the
    internet for those addresses, so jobs cannot reach whoever owns them."""
    if network.vpc_id is not None:
        return
    block = ipaddress.ip_network(network.vpc_cidr, strict=False)
    if any(block.subnet_of(private) for private in RFC1918):
        return
    r.warn(
        f"network.vpcCidr: {network.vpc_cidr} is not a private (RFC 1918) block; AWS accepts "
        "it, but traffic to those addresses stays inside the VPC, so jobs cannot reach the "
        "hosts on the internet that own them (AWS VPC User Guide, 'VPC CIDR blocks' "
        "recommends the RFC 1918 ranges); use a block inside 10.0.0.0/8, 172.16.0.0/12 or "
        "192.168.0.0/16: pulumi config set --path network.vpcCidr 10.42.0.0/16"
    )


def check_gitlab_com_path(r: Reader, gitlab_url: str) -> None:
    """gitlab.com serves at its root: a path there is a pasted project or group URL, and the
    runners would call <url>/api/v4 under it and get 404s."""
    parsed = urlsplit(gitlab_url)
    if parsed.hostname != GITLAB_COM or parsed.path.strip("/") == "":
        return
    r.warn(
        f"gitlabUrl: '{gitlab_url}' has the path '{parsed.path}', but gitlab.com has no "
        "relative root (this looks like a project or group URL), so the runners' API calls "
        "under it would fail; use the instance URL: pulumi config set gitlabUrl "
        "https://gitlab.com"
    )


def check_instance_categories(
    r: Reader, runners: Sequence[RunnerSpec], eks: EksSpec, mode: str
) -> None:
    """Refuse categories that leave an EC2 lane no instance type of its architecture."""
    if mode != "eks":
        return
    categories = eks.instance_categories
    if "g" in categories:
        r.warn(
            "eks.instanceCategories: 'g' is the GPU category (g4dn, g5, g5g), not Graviton, so "
            "Karpenter may launch GPU instances for jobs; Graviton is the 'g' after the "
            "generation (c7g, m7g), which a runner gets with architecture arm64"
        )
    known = [c for c in categories if c in CATEGORY_ARCHITECTURES]
    if len(known) < len(categories):
        return  # a category this table does not know may well have families
    needs = [
        (f"runners[{i}] ({x.name})", x.architecture)
        for i, x in enumerate(runners)
        if x.lane in EC2_LANES
    ]
    if eks.manager_placement == "ec2":
        needs.append(("eks.managerPlacement ec2 (the runner managers)", MANAGER_ARCHITECTURE))
    for who, architecture in needs:
        if any(architecture in CATEGORY_ARCHITECTURES[c] for c in known):
            continue
        offer = "".join(c for c, a in CATEGORY_ARCHITECTURES.items() if architecture in a)
        r.problem(
            f"eks.instanceCategories: {list(categories)} has no EC2 family of generation 3 or "
            f"later for {architecture}, which {who} needs (Karpenter requires every NodePool "
            "requirement at once, so its jobs would stay Pending); Graviton is not a category "
            "but the 'g' after the generation (c7g), chosen by the runner's architecture: use "
            f"categories with {architecture} families ({', '.join(offer)}), e.g. pulumi config "
            "set --path 'eks.instanceCategories[0]' c"
        )


def check_leftovers(r: Reader, config: StackConfig) -> None:
    check_vpc_cidr(r, config.network)
    check_gitlab_com_path(r, config.gitlab_url)
    check_instance_categories(r, config.runners, config.eks, config.mode)
