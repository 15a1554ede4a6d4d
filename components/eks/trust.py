"""A GitLab behind a private CA, in EKS mode: the certificates Secret the chart mounts and the
pod annotation that rolls the managers when the CA changes."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from components.naming import PROJECT

# gitlab.caBundle: the chart's certsSecretName mounts this Secret at
# /home/gitlab-runner/.gitlab-runner/certs/ (chart 0.86.0 templates/deployment.yaml:119-123,
# 161-164), gitlab-runner's certificate directory, where it takes `<gitlab host>.crt` as the
# CA file of that host (gitlab-runner v18.9.0 network/client.go:566-571).
CA_SECRET = "gitlab-runner-ca"
# Pod annotation with a digest of gitlab.caBundle: a new CA rolls the manager, which reads
# its certificate directory when it builds its GitLab client.
CA_ANNOTATION = f"{PROJECT}/ca-sha256"


def ca_file_name(gitlab_url: str) -> str:
    """The name gitlab-runner looks for in its certificate directory: the GitLab host without
    its port, plus .crt (network/client.go:566-569)."""
    return f"{urlsplit(gitlab_url).hostname}.crt"


def with_ca_annotation(values: dict[str, Any], ca_bundle: str | None) -> dict[str, Any]:
    """The placement values, plus the CA digest among the pod annotations."""
    if not ca_bundle:
        return values
    digest = hashlib.sha256(ca_bundle.encode()).hexdigest()[:16]
    return {**values, "podAnnotations": {**values.get("podAnnotations", {}), CA_ANNOTATION: digest}}
