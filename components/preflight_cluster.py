"""Preflight of eks.existingCluster: is the cluster one the fleet can join?

Read at preview, before any resource registers (`aws eks describe-cluster` and the IAM OIDC
provider of its issuer), and refused with the key, the value and the fix when the fleet could
not work there: a cluster whose authentication mode has no access entries (the fleet's nodes
join through an EC2_LINUX entry), one in another VPC than network.vpcId (its Fargate profiles
and nodes use network.privateSubnetIds), one without an IAM OIDC provider (IRSA), one not
ACTIVE, a Kubernetes version this program cannot serve (components/domain/versions.py), or,
with network.httpProxy, a service range the proxy would catch (the managers call the API at
its service address). `cluster_problems` is pure; `read_cluster` makes the calls.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

import pulumi_aws as aws

from components.config import StackConfig
from components.config.egress import no_proxy_list
from components.config.reader import Reader
from components.domain.specs import KARPENTER_INSTALL
from components.domain.versions import (
    EKS_CALENDAR,
    check_ami_alias,
    check_karpenter,
    minor_key,
)

KEY = "eks.existingCluster"
DOC = "docs/bring-your-own.md"
ACCESS_ENTRY_MODES = ("API", "API_AND_CONFIG_MAP")
# A minor this many past the newest the calendar knows may be fine (a warning, as for
# eks.kubernetesVersion).
NEWER_MINORS_ALLOWED = 2


@dataclass(frozen=True)
class ClusterFacts:
    """What preflight needs from `aws eks describe-cluster` and IAM."""

    name: str
    status: str
    version: str
    vpc_id: str
    authentication_mode: str
    oidc_issuer: str | None
    oidc_provider_error: str | None = None  # why the issuer's IAM OIDC provider was not found
    service_cidr: str | None = None  # kubernetesNetworkConfig.serviceIpv4Cidr (or Ipv6)
    private_endpoint: bool = True  # resourcesVpcConfig.endpointPrivateAccess


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def read_cluster(name: str) -> ClusterFacts | str:
    """The cluster's facts, or why it could not be read."""
    try:
        found = aws.eks.get_cluster(name=name)
    except Exception as error:
        return _first_line(error)
    issuers = [o.issuer for i in found.identities or [] for o in i.oidcs or []]
    issuer = issuers[0] if issuers else None
    provider_error = None
    if issuer is not None:
        try:
            aws.iam.get_open_id_connect_provider(url=issuer)
        except Exception as error:
            provider_error = _first_line(error)
    modes = [a.authentication_mode for a in found.access_configs or []]
    ranges = [
        n.service_ipv4_cidr or n.service_ipv6_cidr for n in found.kubernetes_network_configs or []
    ]
    return ClusterFacts(
        name=name,
        status=found.status,
        version=found.version,
        vpc_id=found.vpc_config.vpc_id,
        authentication_mode=modes[0] if modes else "CONFIG_MAP",
        oidc_issuer=issuer,
        oidc_provider_error=provider_error,
        service_cidr=ranges[0] if ranges else None,
        private_endpoint=bool(found.vpc_config.endpoint_private_access),
    )


def _version_problems(r: Reader, config: StackConfig, facts: ClusterFacts, today: dt.date) -> None:
    name, version = facts.name, facts.version
    known = sorted(EKS_CALENDAR, key=minor_key)
    offered = [v for v in known if dt.date.fromisoformat(EKS_CALENDAR[v][2]) >= today]
    runs = f"{KEY}: '{name}' runs Kubernetes {version}"
    fix = (
        f"upgrade the cluster to one of {', '.join(offered)}, or remove {KEY} to run the "
        "runners on a cluster of this stack's own"
    )
    if version not in EKS_CALENDAR:
        newest = minor_key(known[-1])
        if newest < minor_key(version) <= newest + NEWER_MINORS_ALLOWED:
            r.warn(
                f"{runs}, newer than the EKS versions this program knows (up to {known[-1]}); "
                "check that eks.karpenterVersion and eks.nodeAmiAlias support it"
            )
        else:
            r.problem(f"{runs}, which this program cannot serve; {fix}")
        return
    extended_end = dt.date.fromisoformat(EKS_CALENDAR[version][2])
    if today > extended_end:
        r.problem(f"{runs}, out of EKS extended support since {extended_end}; {fix}")
        return
    check = Reader()
    if config.eks.karpenter == KARPENTER_INSTALL:
        check_karpenter(check, config.eks.karpenter_version, version)
    # The fleet's EC2NodeClasses resolve eks.nodeAmiAlias for the cluster's version: the
    # calendar rule a cluster of the stack's own gets at config time (versions.py).
    nodes = config.eks.manager_placement != "fargate" or any(
        runner.lane != "fargate" for runner in config.runners
    )
    if nodes:
        check_ami_alias(check, config.eks.node_ami_alias, version, today)
    where = f"(the version of {KEY} '{name}')"
    for problem in check.problems:
        r.problem(problem.replace("(eks.kubernetesVersion)", where))


def _bypassed(address_range: str, bypass: tuple[str, ...]) -> bool:
    """Whether a NO_PROXY entry (an IP or CIDR block) covers the whole range."""
    wanted = ipaddress.ip_network(address_range, strict=False)
    for entry in bypass:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue  # a host name: matches no address
        if network.version == wanted.version and wanted.subnet_of(network):  # type: ignore[arg-type]
            return True
    return False


def _proxy_problems(r: Reader, config: StackConfig, facts: ClusterFacts) -> None:
    """The manager reaches the API at the `kubernetes` service's address (client-go's
    in-cluster config: https://$KUBERNETES_SERVICE_HOST), through HTTPS_PROXY unless NO_PROXY
    covers it (Go's net/http ProxyFromEnvironment, golang.org/x/net/http/httpproxy: IPs match
    CIDR entries, host names do not). The bypass list holds EKS's default service ranges only
    (components/config/egress.py); a cluster created with its own `serviceIpv4Cidr` needs it."""
    if config.network.http_proxy is None or not facts.service_cidr:
        return
    if _bypassed(facts.service_cidr, no_proxy_list(config)):
        return
    count = len(config.network.no_proxy)
    r.problem(
        f"network.noProxy: {KEY} '{facts.name}' has the service range {facts.service_cidr}, "
        "which network.noProxy does not cover: the runner managers would call the Kubernetes "
        "API (its service address) through network.httpProxy and fail; add it: pulumi config "
        f"set --path 'network.noProxy[{count}]' {facts.service_cidr}"
    )


def cluster_problems(
    config: StackConfig, facts: ClusterFacts, today: dt.date
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of joining the cluster `facts` describes."""
    r = Reader()
    name = facts.name
    if facts.status != "ACTIVE":
        r.problem(f"{KEY}: '{name}' is {facts.status}, not ACTIVE; deploy once it is ACTIVE")
    if facts.authentication_mode not in ACCESS_ENTRY_MODES:
        r.problem(
            f"{KEY}: '{name}' has authentication mode {facts.authentication_mode}, which has no "
            "access entries; the fleet's Karpenter nodes join through one. Switch the cluster "
            f"on (one way, it cannot be undone): aws eks update-cluster-config --name {name} "
            f"--access-config authenticationMode=API_AND_CONFIG_MAP ({DOC})"
        )
    if facts.vpc_id != config.network.vpc_id:
        r.problem(
            f"network.vpcId: '{config.network.vpc_id}' is not the VPC of {KEY} '{name}' "
            f"({facts.vpc_id}); the fleet's Fargate pods and nodes must run in the cluster's "
            f"VPC: set network.vpcId {facts.vpc_id} and network.privateSubnetIds to private "
            f"subnets of it ({DOC})"
        )
    if facts.oidc_issuer is None or facts.oidc_provider_error is not None:
        r.problem(
            f"{KEY}: '{name}' has no IAM OIDC provider for its issuer "
            f"({facts.oidc_provider_error or 'no issuer'}); the runners' cache access and "
            "Karpenter use IRSA. Create it: eksctl utils associate-iam-oidc-provider "
            f"--cluster {name} --approve ({DOC})"
        )
    if config.observability.enabled and not facts.private_endpoint:
        r.warn(
            f"{KEY}: '{name}' has no private API endpoint: the start-wait sampler, which "
            "reaches the API from the fleet's subnets through the cluster security group, "
            "cannot, and the dashboard's EKS start-wait widget and alarms stay empty; turn "
            f"it on: aws eks update-cluster-config --name {name} --resources-vpc-config "
            f"endpointPrivateAccess=true (docs/observability.md)"
        )
    _proxy_problems(r, config, facts)
    _version_problems(r, config, facts, today)
    return r.problems, r.warnings
