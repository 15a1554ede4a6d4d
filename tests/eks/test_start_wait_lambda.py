"""EKS job start latency (issue 26 item 4), the Lambda's code: the start-wait sampler turns
the job pods' own timestamps into JobStartWaitSeconds per runner (the plan's side:
tests/eks/test_start_wait_sampler.py).

A job pod's wait is metadata.creationTimestamp to its Ready condition's lastTransitionTime
(status True). The sampler runs every minute and counts the pods that became Ready in the
minute that ends at its scheduled time, so each is counted once; its lines are embedded
metric format (CloudWatch user guide, "Specification: Embedded metric format": up to 100
values in one metric's array)."""

from __future__ import annotations

import base64
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from components.domain.start_wait_input import SCHEDULED_TIME, sampler_input
from components.eks.start_wait import handler, pods
from components.eks.start_wait_sampler import PACKAGE_DIR, PACKAGE_FILES
from components.observability.catalogue import RUNNER, START_WAIT

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EXAMPLE_CA = Path(__file__).resolve().parents[1] / "example-ca.pem"


def _time(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(created: float, ready: float | None, ready_status: str = "True", **labels: str) -> dict:
    """A pod created/Ready this many seconds before NOW, as the Kubernetes API lists it."""
    conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": _time(created)}]
    if ready is not None:
        conditions.append(
            {"type": "Ready", "status": ready_status, "lastTransitionTime": _time(ready)}
        )
    return {
        "metadata": {
            "creationTimestamp": _time(created),
            "labels": {pods.JOB_POD_LABEL: "runner-x-project-1-concurrent-0", **labels},
        },
        "status": {"conditions": conditions},
    }


# --- the pure part ---------------------------------------------------------------------------


def test_only_pods_that_became_ready_since_the_last_run_count_once() -> None:
    listed = [
        pod(created=100, ready=52),  # waited 48 s, Ready 52 s ago
        pod(created=400, ready=200),  # Ready before the last run: counted then
        pod(created=30, ready=None),  # still Pending: no Ready condition yet
        pod(created=90, ready=10, ready_status="False"),  # its containers are not all up
        pod(created=70, ready=20, **{pods.PAUSE_POD_LABEL: "true"}),  # a warm slot, no job
    ]
    assert pods.start_waits(listed, NOW, 60) == [48.0]


def test_the_runs_windows_tile_so_each_pod_is_counted_by_one_run() -> None:
    """Each run counts (now - 60 s, now], `now` being its scheduled time
    (<aws.scheduler.scheduled-time>, EventBridge Scheduler user guide, "Adding context
    attributes"). The old handler took the clock before it listed and counted
    `now - ready <= 60`: a pod Ready during the listing (after `now`) was counted by that run
    and the next one, and one Ready exactly a window before `now` by two runs as well."""
    listed = [
        pod(created=30, ready=-1),  # Ready while this run lists: the next run's
        pod(created=90, ready=0),  # Ready at this run's time: this run's
        pod(created=100, ready=60),  # Ready at the previous run's time: that run's
        pod(created=200, ready=59),
        pod(created=300, ready=119),
    ]
    runs = [NOW + timedelta(seconds=60 * k) for k in range(-2, 3)]
    counted = sorted(w for run in runs for w in pods.start_waits(listed, run, 60))
    assert counted == [31.0, 40.0, 90.0, 141.0, 181.0]
    assert pods.start_waits(listed, NOW, 60) == [90.0, 141.0]


def test_the_emf_lines_name_the_metric_and_dimension_the_dashboard_reads() -> None:
    values = [float(v) for v in range(150)]
    lines = [json.loads(line) for line in pods.emf_lines("ns", {"spot": values}, NOW)]
    assert [len(doc[pods.METRIC]) for doc in lines] == [100, 50]
    (declaration,) = lines[0]["_aws"]["CloudWatchMetrics"]
    assert declaration == {
        "Namespace": "ns",
        "Dimensions": [[RUNNER]],
        "Metrics": [{"Name": START_WAIT, "Unit": "Seconds"}],
    }
    assert lines[0][RUNNER] == "spot"
    assert lines[0]["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)
    assert pods.emf_lines("ns", {}, NOW) == []


@pytest.mark.parametrize(
    ("version", "label"),
    [
        ((19, 3), pods.JOB_POD_LABEL),
        ((17, 9), pods.JOB_POD_LABEL),
        ((17, 8), "pod"),
        ((15, 10), "pod"),
    ],
)
def test_the_job_pod_label_follows_the_runner_release(version: tuple[int, int], label: str) -> None:
    """gitlab-runner executors/kubernetes/kubernetes.go buildLabels sets
    `job.runner.gitlab.com/pod` from v17.9.0 (not in v17.8.0) and `pod` in every release the
    program accepts (from 15.10); pause pods carry neither, only runner.gitlab.com/pause-pod
    (executors/kubernetes/autoscaler/pause_pod_manager.go at v19.3.0), excluded anyway."""
    assert pods.job_pod_selector(version) == f"{label},!{pods.PAUSE_POD_LABEL}"


# --- the handler, against a stubbed API ------------------------------------------------------


def _settings(**overrides: Any) -> handler.Settings:
    env = {
        "SAMPLER_CLUSTER": "gitlab-runners-dev",
        "SAMPLER_ENDPOINT": "https://api.example/",
        "SAMPLER_CA": base64.b64encode(EXAMPLE_CA.read_bytes()).decode(),
        "SAMPLER_POD_SELECTOR": "job.runner.gitlab.com/pod,!runner.gitlab.com/pause-pod",
        "SAMPLER_METRICS_NAMESPACE": "gitlab-fargate-runners/dev",
        "SAMPLER_INTERVAL_SECONDS": "60",
        **overrides,
    }
    return handler.Settings.load(env)


def test_a_run_lists_each_namespace_page_by_page_and_writes_one_line_per_runner() -> None:
    pages = {
        ("gitlab-runner-a", ""): {"items": [pod(100, 52)], "metadata": {"continue": "next"}},
        ("gitlab-runner-a", "next"): {"items": [pod(40, 10)], "metadata": {}},
        ("gitlab-runner-b", ""): {"items": [pod(400, 200)], "metadata": {}},
    }
    asked: list[str] = []

    def get_json(path: str) -> dict:
        asked.append(path)
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        assert query["labelSelector"] == ["job.runner.gitlab.com/pod,!runner.gitlab.com/pause-pod"]
        namespace = parts.path.split("/")[4]
        return pages[(namespace, query.get("continue", [""])[0])]

    runners = {"gitlab-runner-a": "a", "gitlab-runner-b": "b"}
    lines = [json.loads(line) for line in handler.sample(_settings(), runners, get_json, NOW)]
    assert len(asked) == 3
    # Runner b started nothing this minute: no line, so no data point (the alarm reads none).
    assert [(doc[RUNNER], doc[START_WAIT]) for doc in lines] == [("a", [48.0, 30.0])]


def test_the_handler_calls_the_api_with_the_token_and_trusts_only_the_cluster_ca(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runners and the window's end come in the event, the schedule target's input
    (start_wait_input.sampler_input): the scheduled time, not the clock, ends the window."""
    env = {
        "SAMPLER_CLUSTER": "gitlab-runners-dev",
        "SAMPLER_ENDPOINT": "https://api.example",
        "SAMPLER_CA": base64.b64encode(EXAMPLE_CA.read_bytes()).decode(),
        "SAMPLER_POD_SELECTOR": "pod,!runner.gitlab.com/pause-pod",
        "SAMPLER_METRICS_NAMESPACE": "ns",
        "SAMPLER_INTERVAL_SECONDS": "60",
    }
    monkeypatch.setattr(handler.os, "environ", env)
    monkeypatch.setattr(handler, "bearer_token", lambda cluster: f"k8s-aws-v1.{cluster}")
    seen: list[tuple[Any, ssl.SSLContext]] = []
    ready_now = pod(created=20, ready=0)  # Ready at the scheduled time, long past the clock's

    class Response:
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self) -> bytes:
            return json.dumps({"items": [ready_now], "metadata": {}}).encode()

    def urlopen(request: Any, timeout: float, context: ssl.SSLContext) -> Response:
        seen.append((request, context))
        return Response()

    monkeypatch.setattr(handler.urllib.request, "urlopen", urlopen)
    event = json.loads(sampler_input(["a"]).replace(SCHEDULED_TIME, _time(0)))
    assert handler.handler(event, None) == {"lines": 1}
    ((request, context),) = seen
    assert request.full_url.startswith(
        "https://api.example/api/v1/namespaces/gitlab-runner-a/pods?"
    )
    assert request.get_header("Authorization") == "Bearer k8s-aws-v1.gitlab-runners-dev"
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    # The cluster's CA bundle (root and issuing CA here), nothing from the system store.
    assert len(context.get_ca_certs()) == EXAMPLE_CA.read_text().count("BEGIN CERTIFICATE")
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)[START_WAIT] == [20.0]


def test_the_token_is_a_presigned_get_caller_identity_naming_the_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aws-iam-authenticator pkg/token/token.go: `k8s-aws-v1.` + base64url (no padding) of an
    STS GetCallerIdentity URL presigned for 60 s with the header x-k8s-aws-id signed in."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example-secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    token = handler.bearer_token("gitlab-runners-dev")
    assert token.startswith("k8s-aws-v1.") and not token.endswith("=")
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")


def test_the_lambda_package_holds_every_module_the_handler_imports() -> None:
    """The function is zipped from PACKAGE_FILES alone: a relative import of a file not in it
    fails at the first invocation, not in any test that imports from the repository."""
    shipped = {f.removesuffix(".py") for f in PACKAGE_FILES}
    for name in PACKAGE_FILES:
        text = (PACKAGE_DIR / name).read_text()
        imported = {
            line.split()[1].lstrip(".") for line in text.splitlines() if line.startswith("from .")
        }
        assert imported <= shipped, (name, imported - shipped)
        assert not [
            line
            for line in text.splitlines()
            if line.startswith(("from components", "import components"))
        ]
