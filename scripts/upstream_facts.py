"""Derive small JSON fact files from fetched upstream source trees.

Tests must check what this project renders against the real upstream artifacts at the
pinned versions, but CI has no network and we must not commit upstream code. So this
script reads upstream trees that someone fetched by hand and writes only derived facts
(key names, enums, required fields, short quoted lines) with provenance to
``tests/upstream/*.json``. Re-run it whenever a pin moves::

    python scripts/upstream_facts.py --runner-src DIR [--chart-src DIR] \\
        [--karpenter-src DIR] [--driver-src DIR]

A tree not given keeps its fact file (a pin moves one source at a time).

Each ``--*-ref`` option names the upstream tag/commit the tree was taken from; it is
copied into the JSON as provenance and is not checked against the tree.
Only the standard library and PyYAML are used; the extractors live in scripts/upstream/,
one module per source.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from upstream.chart import chart_facts
from upstream.driver import driver_facts
from upstream.gitlab_runner import runner_facts
from upstream.karpenter import karpenter_facts

OUT_DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "upstream"


def _write(out_dir: Path, name: str, data: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python scripts/upstream_facts.py", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--runner-src",
        type=Path,
        required=True,
        help="gitlab-runner source tree (needs common/, helpers/featureflags/)",
    )
    p.add_argument("--runner-ref", default="v19.3.0")
    p.add_argument("--runner-repo", default="gitlab.com/gitlab-org/gitlab-runner")
    p.add_argument(
        "--chart-src",
        type=Path,
        help="unpacked gitlab-runner Helm chart (Chart.yaml, values.yaml, templates/)",
    )
    p.add_argument("--chart-ref", default="0.86.0")
    p.add_argument("--chart-repo", default="gitlab.com/gitlab-org/charts/gitlab-runner")
    p.add_argument("--karpenter-src", type=Path, help="karpenter-provider-aws source tree")
    p.add_argument("--karpenter-ref", default="v1.14.1")
    p.add_argument("--karpenter-repo", default="github.com/aws/karpenter-provider-aws")
    p.add_argument("--driver-src", type=Path, help="Fargate custom executor driver tree")
    p.add_argument("--driver-ref", default="unknown")
    p.add_argument(
        "--driver-repo", default="gitlab.com/gitlab-org/ci-cd/custom-executor-drivers/fargate"
    )
    p.add_argument("--out", type=Path, default=OUT_DEFAULT)
    a = p.parse_args(argv)

    _write(
        a.out, "gitlab-runner-config.json", runner_facts(a.runner_src, a.runner_ref, a.runner_repo)
    )
    if a.chart_src:
        _write(
            a.out, "gitlab-runner-chart.json", chart_facts(a.chart_src, a.chart_ref, a.chart_repo)
        )
    if a.karpenter_src:
        _write(
            a.out,
            "karpenter-crds.json",
            karpenter_facts(a.karpenter_src, a.karpenter_ref, a.karpenter_repo),
        )
    if a.driver_src:
        _write(
            a.out, "fargate-driver.json", driver_facts(a.driver_src, a.driver_ref, a.driver_repo)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
