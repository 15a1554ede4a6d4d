"""EKS start-wait sampler: lists each runner namespace's job pods through the Kubernetes API
once a minute and prints their start waits as embedded metric format lines (pods.py).

Zipped with pods.py into the Lambda package `start_wait` (Python 3.12): standard library and
boto3/botocore, which the Lambda runtime provides; no kubernetes client, no project imports.

Settings (environment, set by components/eks/start_wait_sampler.py):
- SAMPLER_CLUSTER: the cluster's name (the token names it), SAMPLER_ENDPOINT: its API URL,
  SAMPLER_CA: its certificate authority (base64 PEM, as in a kubeconfig), so the function
  needs no eks:DescribeCluster;
- SAMPLER_POD_SELECTOR: the job pods' label selector; SAMPLER_METRICS_NAMESPACE;
  SAMPLER_INTERVAL_SECONDS: the schedule's period.

The event (the schedule target's input, components/domain/start_wait_input.py) carries the
runners, {namespace: runner name}, which would not fit in Lambda's 4 KB of environment beside
the CA, and `scheduledTime`, the schedule's own time: the end of this run's window.

Authentication is the token `aws eks get-token` and aws-iam-authenticator build
(aws-iam-authenticator pkg/token/token.go, "API Authorization from Outside a Cluster" in its
README): an STS GetCallerIdentity URL presigned with this role's credentials, with the
header `x-k8s-aws-id: <cluster>` signed in and a 60 s expiry, base64url-encoded without
padding behind `k8s-aws-v1.`. It is signed locally: the function calls no AWS API, EKS calls
STS with it. EKS maps the role to its access entry (read-only, the runner namespaces only).
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .pods import emf_lines, start_waits, timestamp

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
TOKEN_EXPIRES_SECONDS = 60
PAGE_SIZE = 500
HTTP_TIMEOUT_SECONDS = 10

GetJson = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class Settings:
    cluster: str
    endpoint: str
    ca_pem: str
    pod_selector: str
    metrics_namespace: str
    interval_seconds: int

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            cluster=env["SAMPLER_CLUSTER"],
            endpoint=env["SAMPLER_ENDPOINT"].rstrip("/"),
            ca_pem=base64.b64decode(env["SAMPLER_CA"]).decode(),
            pod_selector=env["SAMPLER_POD_SELECTOR"],
            metrics_namespace=env["SAMPLER_METRICS_NAMESPACE"],
            interval_seconds=int(env["SAMPLER_INTERVAL_SECONDS"]),
        )


def token_from_presigned_url(url: str) -> str:
    """The bearer token EKS accepts for a presigned GetCallerIdentity URL."""
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return TOKEN_PREFIX + encoded


def bearer_token(cluster: str) -> str:
    """Presigns GetCallerIdentity for this cluster with the function's own credentials."""
    import boto3  # the Lambda runtime's; imported here so the pure parts load without it
    from botocore.signers import RequestSigner

    session = boto3.session.Session()
    sts = session.client("sts")
    signer = RequestSigner(
        sts.meta.service_model.service_id,
        sts.meta.region_name,
        "sts",
        "v4",
        session.get_credentials(),
        session.events,
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"{sts.meta.endpoint_url}/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {CLUSTER_HEADER: cluster},
            "context": {},
        },
        region_name=sts.meta.region_name,
        expires_in=TOKEN_EXPIRES_SECONDS,
        operation_name="",
    )
    return token_from_presigned_url(url)


def pods_path(namespace: str, selector: str, continue_token: str = "") -> str:
    query = {"labelSelector": selector, "limit": str(PAGE_SIZE)}
    if continue_token:
        query["continue"] = continue_token
    return f"/api/v1/namespaces/{namespace}/pods?{urllib.parse.urlencode(query)}"


def list_pods(get_json: GetJson, namespace: str, selector: str) -> list[Mapping[str, Any]]:
    """Every pod of the namespace that matches the selector, page by page."""
    pods: list[Mapping[str, Any]] = []
    token = ""
    while True:
        page = get_json(pods_path(namespace, selector, token))
        pods.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue") or ""
        if not token:
            return pods


def sample(
    settings: Settings, runners: Mapping[str, str], get_json: GetJson, now: datetime
) -> list[str]:
    """The EMF lines of one run: the runners ({namespace: name}) whose job pods became Ready
    in the window that ends at `now`, the schedule's time (pods.py)."""
    waits = {}
    for namespace, runner in sorted(runners.items()):
        pods = list_pods(get_json, namespace, settings.pod_selector)
        found = start_waits(pods, now, settings.interval_seconds)
        if found:
            waits[runner] = found
    return emf_lines(settings.metrics_namespace, waits, now)


def api_reader(settings: Settings, token: str) -> GetJson:
    """GET against the cluster's API, trusting its certificate authority only."""
    context = ssl.create_default_context(cadata=settings.ca_pem)

    def get_json(path: str) -> Mapping[str, Any]:
        request = urllib.request.Request(
            settings.endpoint + path,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS, context=context) as r:
            return json.loads(r.read())

    return get_json


def handler(event: Mapping[str, Any], context: Any) -> dict[str, int]:
    settings = Settings.load(os.environ)
    get_json = api_reader(settings, bearer_token(settings.cluster))
    now = timestamp(event["scheduledTime"])
    lines = sample(settings, event["runners"], get_json, now)
    for line in lines:
        print(line)  # the function's log group; CloudWatch extracts the metric
    return {"lines": len(lines)}
