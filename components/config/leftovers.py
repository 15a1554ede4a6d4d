"""Checks of single values against what the services make of them: a public VPC block, a
gitlab.com URL with a path, Karpenter instance categories that cannot give a lane's CPU
architecture (the rule and its reasons: components/domain/lane_rules.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from components.config.model import EksSpec, NetworkSpec, RunnerSpec, StackConfig
from components.config.reader import Reader
from components.domain.lane_rules import gpu_category_warning, instance_category_problems

# RFC 1918 section 3: the three blocks "reserved ... for private internets".
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
GITLAB_COM = "gitlab.com"


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
    if warning := gpu_category_warning(eks):
        r.warn(warning)
    r.report(*instance_category_problems(runners, eks))


def check_leftovers(r: Reader, config: StackConfig) -> None:
    check_vpc_cidr(r, config.network)
    check_gitlab_com_path(r, config.gitlab_url)
    check_instance_categories(r, config.runners, config.eks, config.mode)
