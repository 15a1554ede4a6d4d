"""The manager's boot-time scripts: verified downloads and the drain before termination."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from components.ecs.scripts import fetch_verified as fetch
from components.ecs.scripts import gitlab_runner_drain as drain

SCRIPTS = Path(fetch.__file__).resolve().parent
BINARY = b"\x7fELF pretend gitlab-runner"
DIGEST = hashlib.sha256(BINARY).hexdigest()
ENTRY = "binaries/gitlab-runner-linux-amd64"


def test_parse_sums_reads_sha256sum_lines_in_both_modes() -> None:
    text = f"{'0' * 64}  binaries/gitlab-runner-linux-386\n{DIGEST.upper()} *./{ENTRY}\n"
    assert fetch.parse_sums(text, ENTRY) == DIGEST
    assert fetch.parse_sums(text, "binaries/other") is None


def test_expected_digest_prefers_the_pin_then_the_published_list() -> None:
    listed = f"{DIGEST}  {ENTRY}\n"
    assert fetch.expected_digest("A" * 64, listed, ENTRY, optional=False) == "a" * 64
    assert fetch.expected_digest(None, listed, ENTRY, optional=False) == DIGEST
    assert fetch.expected_digest(None, None, ENTRY, optional=True) is None
    with pytest.raises(fetch.ChecksumError, match="no published checksum"):
        fetch.expected_digest(None, "", ENTRY, optional=False)


def test_verify_refuses_a_mismatch_and_says_when_nothing_was_checked() -> None:
    assert fetch.verify(DIGEST, DIGEST, "x").startswith("verified x")
    assert fetch.verify(DIGEST, None, "x").startswith("UNVERIFIED")
    with pytest.raises(fetch.ChecksumError, match="does not match"):
        fetch.verify(DIGEST, "0" * 64, "x")


def run_fetch(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "gitlab-runner-linux-amd64"
    source.write_bytes(BINARY)
    (tmp_path / "release.sha256").write_text(f"{DIGEST}  {ENTRY}\n")
    command = [sys.executable, str(SCRIPTS / "fetch_verified.py"), "--url", source.as_uri()]
    command += ["--dest", str(tmp_path / "installed"), *extra]
    return subprocess.run(command, capture_output=True, text=True)


def test_fetch_installs_an_executable_that_matches_the_published_list(tmp_path: Path) -> None:
    sums = (tmp_path / "release.sha256").as_uri()
    result = run_fetch(tmp_path, "--sums-url", sums, "--sums-entry", ENTRY)
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "installed"
    assert installed.read_bytes() == BINARY
    assert stat.S_IMODE(installed.stat().st_mode) == 0o755
    assert f"sha256 {DIGEST}" in result.stdout and "verified" in result.stdout


def test_fetch_refuses_a_binary_that_does_not_match_the_pin(tmp_path: Path) -> None:
    result = run_fetch(tmp_path, "--sha256", "0" * 64)
    assert result.returncode != 0
    assert "REFUSED" in result.stderr and DIGEST in result.stderr
    assert not (tmp_path / "installed").exists()


def test_fetch_without_a_published_list_needs_sums_optional(tmp_path: Path) -> None:
    missing = (tmp_path / "nothing.sha256").as_uri()
    refused = run_fetch(tmp_path, "--sums-url", missing, "--sums-entry", ENTRY)
    assert refused.returncode != 0 and not (tmp_path / "installed").exists()
    allowed = run_fetch(tmp_path, "--sums-url", missing, "--sums-entry", ENTRY, "--sums-optional")
    assert allowed.returncode == 0
    assert "UNVERIFIED" in allowed.stdout and DIGEST in allowed.stdout


class FakeStop:
    """`systemctl stop` that takes `polls` polls to finish."""

    def __init__(self, polls: int) -> None:
        self.polls = polls
        self.returncode = 0

    def poll(self) -> int | None:
        self.polls -= 1
        return None if self.polls >= 0 else 0


def test_drain_waits_for_the_runner_heartbeats_then_completes_the_action() -> None:
    calls: list[tuple[str, ...]] = []
    stopped: list[str] = []
    now = [0.0]

    def run(region: str, *args: str) -> Any:
        calls.append((region, *args))
        return SimpleNamespace(returncode=0, stderr="", stdout="")

    def stop(unit: str) -> FakeStop:
        stopped.append(unit)
        return FakeStop(polls=4)

    def sleep(seconds: float) -> None:
        now[0] += 600  # each poll stands for ten minutes of draining

    completed = drain.drain(
        "eu-west-1",
        "drain-running-jobs",
        "gitlab-runner.service",
        1200,
        "ecs-manager-asg",
        "i-0abc",
        run=run,
        stop=stop,
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert completed and stopped == ["gitlab-runner.service"]
    verbs = [c[1] for c in calls]
    assert verbs == [
        "record-lifecycle-action-heartbeat",
        "record-lifecycle-action-heartbeat",
        "complete-lifecycle-action",
    ]
    last = calls[-1]
    assert last[0] == "eu-west-1"
    assert last[last.index("--lifecycle-hook-name") + 1] == "drain-running-jobs"
    assert last[last.index("--auto-scaling-group-name") + 1] == "ecs-manager-asg"
    assert last[last.index("--instance-id") + 1] == "i-0abc"
    assert last[last.index("--lifecycle-action-result") + 1] == "CONTINUE"


def test_drain_starts_only_when_the_group_terminates_this_instance() -> None:
    assert drain.should_drain("Terminated")
    for state in ("InService", "Pending", "Warmed:Stopped", None):
        assert not drain.should_drain(state)


def test_the_group_comes_from_describe_auto_scaling_instances() -> None:
    seen: list[tuple[str, ...]] = []

    def run(region: str, *args: str) -> Any:
        seen.append(args)
        return SimpleNamespace(returncode=0, stdout="ecs-manager-2-asg\n", stderr="")

    assert drain.group_of("eu-west-1", "i-0abc", run=run) == "ecs-manager-2-asg"
    assert seen[0][:3] == ("describe-auto-scaling-instances", "--instance-ids", "i-0abc")


def test_cli_calls_retry_throttling_adaptively() -> None:
    assert drain.AWS_ENV["AWS_RETRY_MODE"] == "adaptive"
