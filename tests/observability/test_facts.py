"""The observability fact files are well formed, and their generator reads Go as upstream
writes it (a tiny tree in the shape of gitlab-runner's source)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.observability.support import upstream

ROOT = Path(__file__).resolve().parents[2]
FILES = (
    "gitlab-runner-metrics.json",
    "gitlab-runner-chart-metrics.json",
    "cloudwatch-agent-schema.json",
    "adot-collector-components.json",
)


def _script():
    spec = importlib.util.spec_from_file_location("facts", ROOT / "scripts/observability_facts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", FILES)
def test_fact_file_has_provenance(name: str) -> None:
    provenance = upstream(name)["provenance"]
    assert provenance["upstream"] and provenance["ref"] and provenance["files"]
    assert provenance["generator"] == "scripts/observability_facts.py"


GO = """package commands

var numBuildsDesc = prometheus.NewDesc(
	"gitlab_runner_jobs",
	"The current number of running builds.",
	[]string{"runner", "runner_name"},
	nil,
)

var concurrentDesc = prometheus.NewDesc(
	"gitlab_runner_concurrent",
	"The current value of concurrent setting",
	nil,
	nil,
)

func setup() {
	slots := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitlab_runner_worker_slots_number",
		Help: "Current number of runner worker slots",
	})
	feeds := prometheus.NewCounterVec(
		prometheus.CounterOpts{
			Name: "gitlab_runner_worker_feeds_total",
			Help: "Total",
		},
		[]string{"runner", "runner_name", "system_id"},
	)
}
"""


def test_metric_extraction_reads_descs_vectors_and_plain_metrics(tmp_path: Path) -> None:
    (tmp_path / "commands").mkdir()
    (tmp_path / "commands" / "metrics.go").write_text(GO)
    (tmp_path / "commands" / "metrics_test.go").write_text(GO.replace("gitlab_runner_", "x_"))
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "network.go").write_text(
        'const (\n\tScriptFailure spec.JobFailureReason = "script_failure"\n)\n'
    )
    facts = _script().runner_metric_facts(tmp_path, "test", "repo")
    metrics = facts["metrics"]
    assert metrics["gitlab_runner_jobs"]["labels"] == ["runner", "runner_name"]
    assert metrics["gitlab_runner_concurrent"]["labels"] == []
    assert metrics["gitlab_runner_worker_slots_number"]["labels"] == []
    assert metrics["gitlab_runner_worker_feeds_total"]["labels"] == [
        "runner",
        "runner_name",
        "system_id",
    ]
    assert metrics["gitlab_runner_worker_feeds_total"]["kind"] == "counter"
    assert metrics["gitlab_runner_jobs"]["line"] == 3
    assert facts["job_failure_reasons"] == ["script_failure"]


def test_runner_metric_facts_cover_the_well_known_names() -> None:
    """FACTS.md section 9 lists these; they are all in the source at the pinned version."""
    metrics = upstream("gitlab-runner-metrics.json")["metrics"]
    for name in (
        "gitlab_runner_jobs",
        "gitlab_runner_concurrent",
        "gitlab_runner_limit",
        "gitlab_runner_jobs_total",
        "gitlab_runner_failed_jobs_total",
        "gitlab_runner_job_duration_seconds",
        "gitlab_runner_job_queue_duration_seconds",
        "gitlab_runner_api_request_statuses_total",
        "gitlab_runner_errors_total",
        "gitlab_runner_version_info",
    ):
        assert name in metrics, name
