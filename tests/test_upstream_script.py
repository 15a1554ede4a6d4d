"""scripts/upstream_facts.py runs as documented: its extractors (scripts/upstream/, one module
per source) import as the script imports them, with the script's folder first on the path."""

from __future__ import annotations

import subprocess
import sys

from tests.harness import ROOT


def test_the_fact_generator_starts_and_lists_every_source() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/upstream_facts.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for option in ("--runner-src", "--chart-src", "--karpenter-src", "--driver-src"):
        assert option in done.stdout
