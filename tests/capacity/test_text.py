"""The capacity report a person reads: one row per runner, the split explained, the
assumptions named, and no `None` or "after never" anywhere."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from components.capacity.cli import main
from tests.harness import DEV_STACK

Report = Callable[..., str]  # runs the command with these arguments, returns its output

# The README's "Scaling to 1000 jobs" example: both runners at concurrency 500, quotas raised.
THOUSAND = [
    "--jobs",
    "1000",
    "--set",
    "runners[0].concurrency=500",
    "--set",
    "runners[1].concurrency=500",
    "--vcpu-quota",
    "1100",
    "--spot-vcpu-quota",
    "600",
]


@pytest.fixture
def report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Report:
    shutil.copy(DEV_STACK, tmp_path / "Pulumi.dev.yaml")

    def run(*argv: str) -> str:
        assert main(["--project-dir", str(tmp_path), *argv]) == 0
        text = capsys.readouterr().out
        assert "None" not in text and "after never" not in text
        return text

    return run


def rows(text: str) -> dict[str, list[str]]:
    """Table rows by runner name, cells split on the two-space column gaps."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Runner "))
    table = lines[start + 1 : lines.index("", start)]
    return {cells[0]: cells for cells in ([c for c in r.split("  ") if c] for r in table)}


def test_the_readme_thousand_job_table_is_reproduced(report: Report) -> None:
    ecs = report(*THOUSAND)
    assert ecs.splitlines()[1].startswith("All 1000 started after 222 s; what binds: GitLab's")
    assert [c.strip() for c in rows(ecs)["fargate"]] == [
        "fargate",
        "Fargate",
        "500",
        "after 222 s",
        "GitLab's job pickup",
        "$0.8228",
    ]
    assert "fargate 500 (concurrency 500), fargate-spot 500 (concurrency 500)" in ecs
    eks = report(*THOUSAND, "--set", "mode=eks", "--ec2-spot-vcpu-quota", "600")
    assert "never: 436 stay Pending and time out" in rows(eks)["fargate-spot"][3]
    assert rows(eks)["fargate-spot"][4].strip() == "Karpenter pool CPU limit"
    raised = report(
        *THOUSAND,
        "--set",
        "mode=eks",
        "--ec2-spot-vcpu-quota",
        "600",
        "--set",
        "eks.spotCpuLimit=600",
    )
    assert raised.splitlines()[1].startswith("All 1000 started after 266 s")
    assert "10 x Fargate pod: coredns (0.25 vCPU, 0.5 GiB)" in raised
    assert raised.count("coredns") == 1


def test_no_jobs_is_said_in_words(report: Report) -> None:
    text = report("--jobs", "0")
    assert text.splitlines()[1] == "No jobs queued: nothing to start."
    assert "no jobs to price" in text and "Runner " not in text


def test_jobs_that_never_start_say_why_per_runner(report: Report) -> None:
    text = report("--jobs", "1000")  # the new-account quota of 6 vCPU and 40 manager slots
    assert text.splitlines()[1].startswith(
        "Not all start: 960 wait for a manager slot, 28 refused; what binds: Fargate vCPU quota"
    )
    assert rows(text)["fargate"][3].strip() == "never: 480 wait for a manager slot, 14 refused"


def test_the_split_and_the_assumptions_are_named(report: Report) -> None:
    text = report("--jobs", "10", "--per-runner", "--job-seconds", "30")
    assert "Split: every runner gets all 10 jobs (--per-runner)." in text
    assert "own GitLab queue" in text
    assert "every job runs 30 s, then frees its slot" in text
    for assumption in ("2.86 jobs/s per queue", "45 s after its launch", "a burst of 100"):
        assert assumption in text
    same_tags = report("--jobs", "10", "--set", "runners[1].tags[0]=fargate")
    assert "share its pickup rate of 2.86 jobs/s: fargate and fargate-spot." in same_tags


def test_the_json_keeps_its_fields_and_adds_the_split(report: Report) -> None:
    doc = json.loads(report("--jobs", "10", "--json"))
    assert doc["split"] == "byConcurrency" and doc["jobSeconds"] is None
    assert {"startAllSeconds", "bindingLimit", "detail", "limits", "runners", "cost"} <= set(doc)
    assert [r["concurrency"] for r in doc["runners"]] == [20, 20]


def test_ec2_lane_jobs_show_their_node_share_and_architecture(report: Report) -> None:
    eks = ("--jobs", "10", "--set", "mode=eks", "--set", "runners[1].architecture=arm64")
    row = [c.strip() for c in rows(report(*eks))["fargate-spot"]]
    assert row[1] == "EC2 (spot pool), arm64"
    assert row[5].endswith("(node share)") and row[5].startswith("$")
    assert "fargate-spot: share of an m6g.xlarge at its on-demand list price" in report(*eks)


# A spot runner on the EKS EC2 lane with concurrency 10 (runners[1] of the example stack).
SPOT_TEN = ["--jobs", "10", "--per-runner", "--set", "mode=eks"]
SPOT_TEN += ["--set", "runners[1].concurrency=10", "--ec2-spot-vcpu-quota", "100"]


def test_warm_jobs_start_on_running_nodes_the_rest_after_a_new_node(report: Report) -> None:
    """The issue's check: `capacity --jobs 10` on a spot runner with 10 warm jobs starts them
    within 40 s (pickup + a pod start on a running node, model.WARM_START_SECONDS), and
    without warm jobs later than 60 s (pickup + a new Karpenter node, EC2_START_SECONDS)."""
    warm = rows(report(*SPOT_TEN, "--set", "runners[1].warmJobs=10"))["fargate-spot"]
    assert [c.strip() for c in warm[3:5]] == ["after 20 s", "10 after 20 s"]
    cold = rows(report(*SPOT_TEN))["fargate-spot"]
    assert cold[3].strip() == "after 95 s" and "Warm jobs started" not in report(*SPOT_TEN)
    doc = json.loads(report(*SPOT_TEN, "--set", "runners[1].warmJobs=4", "--json"))
    (spot,) = [r for r in doc["runners"] if r["name"] == "fargate-spot"]
    # 4 warm: those run after 1.5 s + 4 / 2.86 jobs/s + 15 s; the other 6 need a new node.
    assert (spot["warmJobs"], spot["warmStartedSeconds"], spot["startAllSeconds"]) == (
        4,
        17.9,
        95.0,
    )
    assert doc["limits"]["warmStartSeconds"] == 15.0
    (line,) = [i for i in doc["cost"]["alwaysOnItems"] if i["item"].startswith("warm EC2")]
    assert line["count"] == 4 and line["usdPerHour"] > 0


def test_the_system_pods_take_their_quota_share_before_any_job(report: Report) -> None:
    """Preflight counts Karpenter, CoreDNS, the collector and the managers against the
    On-Demand Fargate quota (preflight.quota_needs via eks_sizing.system_fargate_pods); the
    estimate runs job pods only in what is left: 6 - 3.75 = 2.25 vCPU, 2 pods of 1 vCPU."""
    doc = json.loads(report("--jobs", "40", "--set", "mode=eks", "--json"))
    assert doc["limits"]["systemPodsVcpu"] == 3.75
    assert doc["limits"]["fargateVcpuQuota"] == 2.25
    (fargate,) = [r for r in doc["runners"] if r["name"] == "fargate"]
    assert fargate["peakRunning"] == 2 and fargate["jobsTimedOut"] == 18
