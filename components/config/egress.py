"""A company's own GitLab: the CA that signed its certificate (`gitlab.caBundle`) and the HTTP
proxy the runners reach it through (`network.httpProxy`, `network.noProxy`).

The checks run at config-load time, so a PEM that does not parse or a proxy URL with a
password is refused before anything reaches a manager's user data or a Helm release. The
standard library's ssl module parses the certificates (OpenSSL, as `load_verify_locations`
does for a CA file): no extra dependency. `proxy_environment` is the one place the proxy
variables are derived, for both modes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from components.config.model import NetworkSpec, StackConfig
from components.config.reader import Reader

NO_PROXY_RULE = (
    "a host name (.example.com also matches its subdomains), an IP address or a CIDR block, "
    "with an optional :port; no spaces, commas or * wildcards"
)
_HOST = re.compile(
    r"\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
# Always bypassed: loopback; every AWS API endpoint (and so the VPC endpoints' private DNS
# names); the EC2 instance metadata service (IMDS: instance role credentials of managers and
# Karpenter nodes) and the ECS task metadata/credentials endpoint (job tasks' role,
# AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; ECS developer guide, "Task IAM role").
BASE_NO_PROXY = ("localhost", "127.0.0.1", ".amazonaws.com", "169.254.169.254", "169.254.170.2")
# EKS: in-cluster names, and the Kubernetes API service the runner manager calls by its IP
# (KUBERNETES_SERVICE_HOST): EKS takes the service range from 10.100.0.0/16 or 172.20.0.0/16
# when none is given (EKS API, KubernetesNetworkConfigRequest.serviceIpv4Cidr).
EKS_NO_PROXY = (".svc", ".cluster.local", "10.100.0.0/16", "172.20.0.0/16")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def check_no_proxy_entry(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
        return None
    except ValueError:
        pass
    host, _, port = value.partition(":")
    if _HOST.fullmatch(host) and (not port or (port.isdigit() and 0 < int(port) < 65536)):
        return None
    return f"is not {NO_PROXY_RULE}"


def bypass_list(eks: bool, no_proxy: Sequence[str], vpc_cidr: str | None = None) -> tuple[str, ...]:
    """What bypasses the proxy: the fixed entries, a new VPC's CIDR, EKS's in-cluster
    destinations, then the user's entries; each once."""
    entries = [*BASE_NO_PROXY, *([vpc_cidr] if vpc_cidr else []), *(EKS_NO_PROXY if eks else ())]
    return tuple(dict.fromkeys([*entries, *no_proxy]))


def no_proxy_list(config: StackConfig) -> tuple[str, ...]:
    """The stack's bypass list: a new VPC's CIDR is in it; an existing VPC's is not known when
    the config is read (the parser warns)."""
    cidr = config.network.vpc_cidr if config.network.layout is not None else None
    return bypass_list(config.mode == "eks", config.network.no_proxy, cidr)


def proxy_variables(proxy: str | None, bypass: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The proxy variables, upper and lower case (Go reads either, curl and git read
    http_proxy only in lower case, Python reads both); empty without a proxy."""
    if proxy is None:
        return ()
    values = (proxy, proxy, ",".join(bypass))
    upper = tuple(zip(PROXY_VARIABLES, values, strict=True))
    return upper + tuple((name.lower(), value) for name, value in upper)


def proxy_environment(config: StackConfig) -> tuple[tuple[str, str], ...]:
    """The stack's proxy variables (network.httpProxy, network.noProxy)."""
    return proxy_variables(config.network.http_proxy, no_proxy_list(config))


def check_proxy_settings(r: Reader, network: NetworkSpec) -> None:
    """Warnings only: noProxy without a proxy, and an existing VPC whose CIDR is not known."""
    if network.http_proxy is None:
        if network.no_proxy:
            r.warn("network.noProxy is set but not used: network.httpProxy is not set")
        return
    if network.uses_existing_vpc and not any(_is_network(e) for e in network.no_proxy):
        r.warn(
            "network.httpProxy with network.vpcId: the existing VPC's CIDR is not "
            "known when the config is read, so it is not bypassed; add it: pulumi config set "
            "--path 'network.noProxy[0]' <vpc-cidr>"
        )


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return "/" in entry
