"""`capacity --svg FILE`: the ramp as a picture, from the same document as the table."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from components.capacity.cli import main
from components.capacity.svg import ramp
from tests.harness import DEV_STACK

SVG = "{http://www.w3.org/2000/svg}"
# EKS, the spot runner (concurrency 10) with 4 warm jobs; the fargate runner at the default
# quota, where the system pods leave room for 2 job pods.
ARGS = ["--jobs", "10", "--per-runner", "--set", "mode=eks"]
ARGS += ["--set", "runners[1].concurrency=10", "--set", "runners[1].warmJobs=4"]
ARGS += ["--ec2-spot-vcpu-quota", "100"]  # room for the 10 (a new account's 5 would bind)


def test_the_ramp_is_drawn_per_runner_with_its_plateau_and_warm_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DEV_STACK, tmp_path / "Pulumi.dev.yaml")
    picture = tmp_path / "ramp.svg"
    base = ["--project-dir", str(tmp_path), *ARGS]
    assert main([*base, "--svg", str(picture), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    root = ET.parse(picture).getroot()
    assert len(root.findall(f"{SVG}polyline")) == 2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "fargate: 2/10 by 600 s, vcpuQuota" in texts  # the quota plateau, labelled
    assert "fargate-spot: 10/10 by 95 s, jobPickup" in texts
    assert "4 warm" in texts
    runners = {r["name"]: r for r in doc["runners"]}
    spot, fargate = runners["fargate-spot"], runners["fargate"]
    # warm jobs all run at warmStartedSeconds, the rest only after a new node
    assert ramp(doc, spot, spot["warmStartedSeconds"]) == pytest.approx(4, abs=0.05)
    assert ramp(doc, spot, 60) == pytest.approx(4)
    assert ramp(doc, spot, spot["startAllSeconds"]) == pytest.approx(10, abs=0.05)
    assert ramp(doc, fargate, 600) == 2
