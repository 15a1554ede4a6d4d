"""Derive tests/upstream/rotation.json: why a token rotation cannot rely on delete order.

The two-generation runners (components/gitlab/runners.py) rest on one upstream behaviour that
the mocks cannot show: in EKS mode, the Helm upgrade of a runner's release returns once the
Deployment's NEW ReplicaSet is Ready (Helm's ready check, which pulumi-kubernetes' Release uses
when it waits), not once the old manager pod has finished its termination grace period. So the
old runner's delete at the end of `pulumi up` would come while that pod still drains.

This script finds each quoted line in a pulumi-kubernetes and a Helm git directory (such as
the ones `fetch` mirrors) at the given refs and records its line numbers with provenance; a
quote found nowhere is reported and nothing is written. Re-run it when the pins move::

    python scripts/rotation_facts.py --kubernetes-src DIR --kubernetes-ref REF \
        --helm-src DIR --helm-ref v3.20.2

Only the standard library is used (and scripts/upstream/quotes.py).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from upstream.quotes import lines_quoting, read_at, write_facts

OUT = Path(__file__).resolve().parent.parent / "tests" / "upstream" / "rotation.json"
READY = "pkg/kube/ready.go"
RELEASE = "provider/pkg/provider/helm_release.go"
HELM, KUBERNETES = "helm/helm", "pulumi/pulumi-kubernetes"
# name -> (repository, file, the stripped source line).
QUOTES: dict[str, tuple[str, str, str]] = {
    "release-upgrade-waits-unless-skip-await": (
        KUBERNETES,
        RELEASE,
        "client.Wait = !newRelease.SkipAwait",
    ),
    "deployment-uses-new-replicaset": (
        HELM,
        READY,
        "newReplicaSet, err := deploymentutil.GetNewReplicaSet(currentDeployment, "
        "c.client.AppsV1())",
    ),
    "deployment-ready-counts-the-new-replicaset": (
        HELM,
        READY,
        "if !(rs.Status.ReadyReplicas >= expectedReady) {",
    ),
}


def _commit(src: Path, ref: str) -> str:
    return subprocess.run(
        ["git", "-C", str(src), "rev-parse", f"{ref}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def facts(sources: dict[str, tuple[Path, str]]) -> tuple[dict[str, object], list[str]]:
    """The fact document, and every quote found nowhere. `sources`: repo -> (git dir, ref)."""
    files = {(repo, file): read_at(*sources[repo], file) for repo, file, _ in QUOTES.values()}
    found: dict[str, object] = {}
    problems: list[str] = []
    for name, (repo, file, quote) in sorted(QUOTES.items()):
        hits = lines_quoting(files[repo, file], quote)
        if hits:
            found[name] = {"repo": repo, "file": file, "lines": hits, "quote": quote}
        else:
            problems.append(f"{name}: {quote!r} is on no line of {repo} {file}")
    document = {
        "provenance": {
            repo: {
                "upstream": f"github.com/{repo}",
                "ref": f"{ref} ({_commit(src, ref)})",
                "files": sorted(f for r, f in files if r == repo),
            }
            for repo, (src, ref) in sorted(sources.items())
        }
        | {
            "generator": "scripts/rotation_facts.py",
            "note": "Helm at the helm.sh/helm/v3 version pulumi-kubernetes' provider/go.mod needs",
        },
        "quotes": found,
    }
    return document, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-src", type=Path, required=True, help="its git directory")
    parser.add_argument("--kubernetes-ref", required=True, help="the commit it is read at")
    parser.add_argument("--helm-src", type=Path, required=True, help="a helm git directory")
    parser.add_argument("--helm-ref", required=True, help="the Helm tag it is read at")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    document, problems = facts(
        {
            KUBERNETES: (args.kubernetes_src, args.kubernetes_ref),
            HELM: (args.helm_src, args.helm_ref),
        }
    )
    return write_facts(document, problems, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
