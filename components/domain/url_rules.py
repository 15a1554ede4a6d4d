"""The GitLab URL's rules: one text for the stack file's `gitlabUrl` and the fleets' args."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
_RELATIVE_ROOT = re.compile(r"(/[A-Za-z0-9._~-]+)*/?")


def redact_url(value: str) -> str:
    """The URL with any password replaced, safe to print."""
    parsed = urlsplit(value.strip())
    if parsed.password is None:
        return value
    user = parsed.username or ""
    return value.replace(f"{user}:{parsed.password}@", f"{user}:***@", 1)


def check_gitlab_url(value: str) -> str | None:
    """https://host[:port][/relative-root]: the runners send their token to it, and it is
    written as-is into config.toml and the managers' user data."""
    fix = "use https://host[:port][/relative-root], e.g. https://gitlab.example.com"
    if value != value.strip():
        return f"has leading or trailing whitespace; {fix} (quote it without the spaces)"
    try:
        parsed = urlsplit(value)
        port = parsed.port
    except ValueError:
        return f"is not a valid URL; {fix}"
    if parsed.scheme != "https" or not parsed.hostname:
        return (
            "is not an https URL; runners send their token to it, so use https://, e.g. "
            "https://gitlab.com or https://gitlab.example.com"
        )
    if parsed.username is not None or parsed.password is not None:
        return (
            "carries a user name or password, which would be written in plain text into the "
            f"managers' user data and config.toml; remove it ({fix}): runners authenticate "
            "with their own tokens"
        )
    if parsed.query or parsed.fragment or value.endswith(("?", "#")):
        return f"has a query or fragment, which GitLab's API paths cannot follow; {fix}"
    if port == 0:
        return f"has port 0; {fix}"
    host = parsed.hostname
    if not (_is_ip(host) or all(_HOST_LABEL.fullmatch(p) for p in host.split("."))):
        return f"has an invalid host name '{host}'; {fix}"
    if not _RELATIVE_ROOT.fullmatch(parsed.path) or "/../" in f"{parsed.path}/":
        return f"has a path that is not a plain relative root ('{parsed.path}'); {fix}"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
