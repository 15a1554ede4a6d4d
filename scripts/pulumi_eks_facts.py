"""Derive tests/upstream/pulumi-eks.json from a pulumi/pulumi-eks source tree or git directory.

components/offline/eks_model.py models what pulumi-eks' Cluster creates on its own; each of
its RULES quotes one source line. This script finds every quote in the upstream files at the
given ref and records the line it is on, with provenance, so the tests can check the model's
line numbers offline (tests/offline/test_eks_model.py). Re-run it when the pin moves:

    python scripts/pulumi_eks_facts.py --src /path/to/pulumi-eks --ref <tag or commit>

`--src` is a checkout, or a bare git directory (such as the one `fetch` mirrors), read at
`--ref`. A quote may sit on several lines (all are recorded); one found nowhere is reported and
nothing is written: re-read the source and update RULES first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from upstream.quotes import lines_quoting, read_at, write_facts  # noqa: E402

from components.offline.eks_model import PINNED_VERSION, RULES, SOURCE_REPO  # noqa: E402

OUT = ROOT / "tests" / "upstream" / "pulumi-eks.json"


def facts(src: Path, ref: str) -> tuple[dict[str, object], list[str]]:
    """The fact document, and every quote found nowhere."""
    files = {rule.file for rule in RULES.values()}
    lines = {file: read_at(src, ref, file) for file in files}
    found: dict[str, dict[str, object]] = {}
    problems: list[str] = []
    for key, rule in sorted(RULES.items()):
        hits = lines_quoting(lines[rule.file], rule.quote)
        if not hits:
            problems.append(f"{key}: {rule.quote!r} is on no line of {rule.file}")
            continue
        found[key] = {"file": rule.file, "lines": hits, "quote": rule.quote}
    document = {
        "provenance": {
            "upstream": f"github.com/{SOURCE_REPO}",
            "ref": ref,
            "package_version": PINNED_VERSION,
            "files": sorted(files),
            "generator": "scripts/pulumi_eks_facts.py",
        },
        "rules": found,
    }
    return document, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="pulumi-eks tree or git dir")
    parser.add_argument("--ref", required=True, help="the tag or commit the source is read at")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    document, problems = facts(args.src, args.ref)
    return write_facts(document, problems, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
