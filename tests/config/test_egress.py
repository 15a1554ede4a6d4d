"""gitlab.caBundle, network.httpProxy and network.noProxy are checked at config-load time:
each bad value is refused with its key, a description of the value (a CA bundle by its size,
a proxy URL with its password hidden) and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.config.egress import no_proxy_list, proxy_environment
from tests.harness import EXAMPLE_CA_BUNDLE, company_config, dev_config

FIRST_CERT = EXAMPLE_CA_BUNDLE.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----"


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


def with_gitlab(**gitlab: Any) -> dict[str, Any]:
    return dev_config(gitlab=gitlab)


def with_network(**network: Any) -> dict[str, Any]:
    config = dev_config()
    config["network"] = {**config["network"], **network}
    return config


def test_a_bundle_of_certificates_and_a_proxy_are_accepted() -> None:
    config, warnings = parse_config(company_config())
    assert config.gitlab.ca_bundle == EXAMPLE_CA_BUNDLE
    assert config.network.http_proxy == "http://proxy.corp.example:3128"
    assert not [w for w in warnings if "caBundle" in w or "Proxy" in w]


@pytest.mark.parametrize(
    ("bundle", "expected"),
    [
        ("not a certificate", "holds no PEM block"),
        (FIRST_CERT.replace("MIIB", "MIIC", 1), "certificate 1 of 1 does not parse as X.509"),
        (EXAMPLE_CA_BUNDLE[:-30], "unterminated PEM block"),
        (
            FIRST_CERT + "\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "holds a PRIVATE KEY block",
        ),
    ],
)
def test_a_bundle_that_is_not_certificates_is_refused_by_key_without_its_text(
    bundle: str, expected: str
) -> None:
    (problem,) = problems_of(with_gitlab(caBundle=bundle))
    assert problem.startswith("gitlab.caBundle: ")
    assert expected in problem
    assert 'pulumi config set --path gitlab.caBundle -- "$(cat ca.pem)"' in problem
    assert "AAAA" not in problem and "MII" not in problem  # the PEM text is never echoed


def test_a_ca_bundle_alone_draws_no_createrunners_warning() -> None:
    _, warnings = parse_config(with_gitlab(caBundle=EXAMPLE_CA_BUNDLE))
    assert not [w for w in warnings if "caBundle" in w]


@pytest.mark.parametrize(
    ("proxy", "expected"),
    [
        ("proxy.corp.example:3128", "is not an http(s) URL"),
        ("socks5://proxy.corp.example:1080", "is not an http(s) URL"),
        ("http://proxy.corp.example:99999", "is not a valid URL"),
        ("http://proxy.corp.example:3128/path", "has a path, query or fragment"),
    ],
)
def test_a_bad_proxy_url_is_refused(proxy: str, expected: str) -> None:
    (problem,) = problems_of(with_network(httpProxy=proxy))
    assert problem.startswith(f"network.httpProxy: '{proxy}' {expected}")


def test_proxy_credentials_are_refused_and_never_echoed() -> None:
    (problem,) = problems_of(with_network(httpProxy="http://ci:hunter2@proxy.corp.example:3128"))
    assert problem.startswith("network.httpProxy: 'http://ci:***@proxy.corp.example:3128'")
    assert "plain text" in problem and "hunter2" not in problem


@pytest.mark.parametrize("entry", ["*.corp.example", "a b", "a,b", "host:0"])
def test_a_bad_no_proxy_entry_is_refused(entry: str) -> None:
    raw = with_network(httpProxy="http://proxy:3128", noProxy=[entry])
    (problem,) = problems_of(raw)
    assert problem.startswith(f"network.noProxy: '{entry}' is not a host name")


def test_no_proxy_defaults_cover_aws_metadata_the_vpc_and_in_cluster_names() -> None:
    """169.254.169.254: EC2 instance metadata (IMDS, the managers' and nodes' credentials);
    169.254.170.2: ECS task metadata and credentials (ECS developer guide, "Task IAM role",
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI); 10.100.0.0/16 and 172.20.0.0/16: the service
    ranges EKS picks when none is given (EKS API, KubernetesNetworkConfigRequest)."""
    ecs, _ = parse_config(company_config())
    eks, _ = parse_config(company_config(mode="eks"))
    for config in (ecs, eks):
        entries = no_proxy_list(config)
        for entry in (".amazonaws.com", "169.254.169.254", "169.254.170.2", "10.42.0.0/16"):
            assert entry in entries
        assert entries[-1] == ".intranet.example"
    assert ".svc" not in no_proxy_list(ecs)
    for entry in (".svc", ".cluster.local", "10.100.0.0/16", "172.20.0.0/16"):
        assert entry in no_proxy_list(eks)
    assert dict(proxy_environment(ecs))["no_proxy"] == ",".join(no_proxy_list(ecs))


def test_without_a_proxy_there_is_no_proxy_environment_and_a_lone_no_proxy_warns() -> None:
    config, warnings = parse_config(with_network(noProxy=[".corp.example"]))
    assert proxy_environment(config) == ()
    assert any(w.startswith("network.noProxy is set but not used") for w in warnings)


def test_an_existing_vpc_behind_a_proxy_warns_until_its_cidr_is_listed() -> None:
    network = {
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": ["subnet-0123456789abcdef0"],
        "httpProxy": "http://proxy:3128",
    }
    _, warnings = parse_config(dev_config(network=network))
    assert any("network.noProxy[0]" in w for w in warnings)
    _, warnings = parse_config(dev_config(network={**network, "noProxy": ["10.9.0.0/16"]}))
    assert not any("network.noProxy[0]" in w for w in warnings)
