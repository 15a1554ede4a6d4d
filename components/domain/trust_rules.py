"""The rules of a company's private CA bundle and proxy URL: one text for the stack file's
`gitlab.caBundle` / `network.httpProxy` and the fleets' args (components/domain/fleet_rules.py).

The standard library's ssl module parses the certificates (OpenSSL, as
`load_verify_locations` does for a CA file): no extra dependency.
"""

from __future__ import annotations

import re
import ssl
from urllib.parse import urlsplit

PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
CA_BUNDLE_RULE = "PEM text of one or more X.509 certificates (-----BEGIN CERTIFICATE-----)"
CA_BUNDLE_FIX = 'set it from the file: pulumi config set --path gitlab.caBundle -- "$(cat ca.pem)"'
PROXY_RULE = "http(s)://host[:port] with no user, password, path or query"


def ca_bundle_shown(value: str) -> str:
    """How a CA bundle is named in a message: its size, not its text."""
    return f"<{len(value)} characters of PEM text>"


def check_ca_bundle(value: str) -> str | None:
    """Why the text is not a PEM bundle of X.509 certificates, or None."""
    blocks = PEM_BLOCK.findall(value)
    if not blocks:
        return f"holds no PEM block; it must be {CA_BUNDLE_RULE}; {CA_BUNDLE_FIX}"
    kinds = sorted({kind for kind, _ in blocks if kind != "CERTIFICATE"})
    if kinds:
        return (
            f"holds a {' and a '.join(kinds)} block; only the CA certificates belong here (never "
            f"a private key); {CA_BUNDLE_FIX} with a file of certificates only"
        )
    outside = PEM_BLOCK.sub("", value).strip()
    if "-----" in outside:
        return f"has an unterminated PEM block; {CA_BUNDLE_FIX} with the whole file"
    for number, match in enumerate(PEM_BLOCK.finditer(value), start=1):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cadata=match.group(0))
        except (ssl.SSLError, ValueError) as error:
            return (
                f"certificate {number} of {len(blocks)} does not parse as X.509 ({error}); "
                f"{CA_BUNDLE_FIX} with the unmodified PEM file"
            )
    return None


def check_proxy_url(value: str) -> str | None:
    """http(s)://host[:port]; credentials would land in plain text in user data and values."""
    fix = "use http://proxy.example.com:3128 (or https://)"
    try:
        parsed = urlsplit(value)
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"is not a valid URL; {fix}"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return f"is not an http(s) URL; {fix}"
    if parsed.username is not None or parsed.password is not None:
        return (
            "carries a user name or password, which would be written in plain text into the "
            "managers' user data, config.toml and the Helm values; use a proxy that admits the "
            f"VPC by address instead ({fix})"
        )
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        return f"has a path, query or fragment, which a proxy URL does not take; {fix}"
    return None
