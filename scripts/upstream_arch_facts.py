"""Derive tests/upstream/architectures.json: what upstream does with a job's CPU architecture.

The arm64 support (issue 18) rests on three upstream behaviours, each read from source at the
pinned version and kept here as short facts with file and line, never as copied code:

- gitlab-runner's Kubernetes executor picks its default helper image from the job pod's
  ``kubernetes.io/arch`` node selector (amd64 otherwise), and uses a set ``helper_image`` as
  written; the helper tags are ``[<flavor>-]<arch>-<version>`` with x86_64 for amd64.
- Karpenter's ``al2023@<version>`` alias resolves an AMI for x86_64 AND arm64, so one
  EC2NodeClass serves both architectures.
- The Fargate driver's RunTask call names only the task definition (no runtime platform, no
  launch type): the task definition alone decides the architecture.

Usage (trees fetched by hand, e.g. ``git archive <tag> <files> | tar -x -C DIR``)::

    python scripts/upstream_arch_facts.py --runner-src DIR --karpenter-src DIR --driver-src DIR

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

OUT_DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "upstream" / "architectures.json"
KUBERNETES_GO = "executors/kubernetes/kubernetes.go"
LINUX_INFO_GO = "helpers/container/helperimage/linux_info.go"
INFO_GO = "helpers/container/helperimage/info.go"
AL2023_GO = "pkg/providers/amifamily/al2023.go"
FARGATE_GO = "aws/fargate.go"


def _lines(src: Path, name: str) -> list[str]:
    return (src / name).read_text(encoding="utf-8").splitlines()


def _find(lines: list[str], pattern: str, start: int = 0) -> tuple[int, str]:
    """(1-based line number, stripped line) of the first line matching ``pattern``."""
    regex = re.compile(pattern)
    for number, line in enumerate(lines[start:], start + 1):
        if regex.search(line):
            return number, line.strip()
    raise SystemExit(f"pattern not found: {pattern}")


def _function_body(lines: list[str], signature: str) -> tuple[int, list[str]]:
    """The first line number and the lines of a top-level Go function (gofmt layout)."""
    first, _ = _find(lines, signature)
    body = []
    for line in lines[first - 1 :]:
        body.append(line)
        if line == "}":
            break
    return first, body


def _quoted(line: str) -> str:
    """The first string literal of a Go source line: the value a fact records."""
    return re.search(r'"([^"]+)"', line).group(1)


def runner_facts(src: Path) -> dict[str, Any]:
    lines = _lines(src, KUBERNETES_GO)
    start, prepare = _function_body(lines, r"^func \(s \*executor\) prepareHelperImage\(")
    arch_line, arch_text = _find(prepare, r"api\.LabelArchStable:\s+&config\.Architecture")
    default_line, default_text = _find(lines, r'^\s*Architecture:\s+"amd64",')
    get_start, get_body = _function_body(lines, r"^func \(s \*executor\) getHelperImage\(")
    explicit_line, explicit_text = _find(get_body, r"return s\.ExpandValue\(.*HelperImage\)")
    info = _lines(src, LINUX_INFO_GO)
    tag_line, tag_text = _find(info, r'tag := fmt\.Sprintf\("%s%s-%s", prefix, arch, revision\)')
    # The platform/arch constants: in linux_info.go up to 18.x, in info.go from 19.x.
    consts = "\n".join([*info, *_lines(src, INFO_GO)])
    mapping = dict(re.findall(r"^\s*(\w+)\s+=\s+\"([\w.]+)\"", consts, re.M))
    arch_start, arch_body = _function_body(info, r"^func \(l \*linuxInfo\) architecture\(")
    other_line, _ = _find(arch_body, r'^\s*if arch != "" \{$')
    passes_through = arch_body[other_line].strip() == "return arch"
    returns = {}
    case = None
    for line in arch_body:
        m = re.match(r"\s*case (.+):$", line)
        if m:
            case = [mapping[c.strip()] for c in m.group(1).split(",")]
        m = re.match(r"\s*return (\w+)$", line)
        if m and case:
            for platform in case:
                returns[platform] = mapping[m.group(1)]
            case = None
    registry_line, registry_text = _find(_lines(src, INFO_GO), r"GitLabRegistryName\s+=")
    return {
        "helper_arch_from_node_selector": {
            "file": KUBERNETES_GO,
            "line": start + arch_line - 1,
            "text": arch_text,
        },
        "helper_default_architecture": {
            "file": KUBERNETES_GO,
            "line": default_line,
            "value": _quoted(default_text),
        },
        "helper_image_set_is_used_as_written": {
            "file": KUBERNETES_GO,
            "line": get_start + explicit_line - 1,
            "text": explicit_text,
        },
        "helper_tag_format": {"file": LINUX_INFO_GO, "line": tag_line, "text": tag_text},
        # Node architecture (the node selector's value) -> the helper tag's architecture;
        # values not listed are used unchanged (arm64 stays arm64).
        "helper_tag_architecture": returns,
        "helper_tag_other_architecture_unchanged": {
            "file": LINUX_INFO_GO,
            "line": arch_start + other_line - 1,
            "value": passes_through,
        },
        "helper_registry": {
            "file": INFO_GO,
            "line": registry_line,
            "value": _quoted(registry_text),
        },
    }


def karpenter_facts(src: Path) -> dict[str, Any]:
    lines = _lines(src, AL2023_GO)
    start, query = _function_body(lines, r"^func \(a AL2023\) DescribeImageQuery\(")
    arches = {}
    for number, line in enumerate(query, start):
        m = re.match(r'\s*"(\w+)":\s+\{(.+)\},', line)
        if m:
            arches[m.group(1)] = {"line": number, "variants": re.findall(r"Variant(\w+)", m[2])}
    path_line, path_text = _find(lines, r'return fmt\.Sprintf\("/aws/service/eks/optimized-ami/')
    return {
        "al2023_alias_architectures": {"file": AL2023_GO, "architectures": arches},
        "al2023_ssm_parameter": {
            "file": AL2023_GO,
            "line": path_line,
            "format": _quoted(path_text),
        },
    }


def driver_facts(src: Path) -> dict[str, Any]:
    lines = _lines(src, FARGATE_GO)
    first, _ = _find(lines, r"taskInput := ecs\.RunTaskInput\{")
    fields = []
    depth = 0
    for line in lines[first - 1 :]:
        if depth == 1:
            m = re.match(r"\s*(\w+):", line)
            if m:
                fields.append(m.group(1))
        depth += line.count("{") - line.count("}")
        if depth == 0:
            break
    makefile = (src / "Makefile").read_text(encoding="utf-8")
    platforms = re.search(r"BUILD_PLATFORMS \?= -osarch '([^']+)'", makefile)
    return {
        "run_task_input_fields": {"file": FARGATE_GO, "line": first, "fields": fields},
        "build_platforms": platforms.group(1).split() if platforms else [],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runner-src", type=Path, required=True)
    p.add_argument(
        "--runner-ref",
        default="v19.3.0 (9cbf0074ddb0e2f79d79f44406cafebf09117b64, via github.com/gitlabhq/"
        "gitlab-runner mirror)",
    )
    # A tree not given keeps its part of the existing file: a pin moves one source at a time.
    p.add_argument("--karpenter-src", type=Path)
    p.add_argument("--karpenter-ref", default="v1.14.1 (bde00654cd316fddb3dccfba3f5ac07039865429)")
    p.add_argument("--driver-src", type=Path)
    p.add_argument(
        "--driver-ref",
        default="NOT an upstream tag: fork snapshot github.com/rawpixel-vincent/"
        "gitlab-ci-fargate-arm-driver@f5cc12acd4b5c2002e5e5450cd07eeebfed11a98 (the gitlab.com "
        "upstream is not reachable from here; see fargate-driver.json)",
    )
    p.add_argument("--out", type=Path, default=OUT_DEFAULT)
    a = p.parse_args(argv)
    old = json.loads(a.out.read_text(encoding="utf-8")) if a.out.exists() else {}
    old_refs = old.get("provenance", {}).get("ref", {})
    karpenter_ref = a.karpenter_ref if a.karpenter_src else old_refs.get("karpenter")
    driver_ref = a.driver_ref if a.driver_src else old_refs.get("driver")
    data = {
        "provenance": {
            "upstream": {
                "runner": "gitlab.com/gitlab-org/gitlab-runner",
                "karpenter": "github.com/aws/karpenter-provider-aws",
                "driver": "gitlab.com/gitlab-org/ci-cd/custom-executor-drivers/fargate",
            },
            "ref": {"runner": a.runner_ref, "karpenter": karpenter_ref, "driver": driver_ref},
            "files": [KUBERNETES_GO, LINUX_INFO_GO, INFO_GO, AL2023_GO, FARGATE_GO, "Makefile"],
            "generator": "scripts/upstream_arch_facts.py",
        },
        "runner": runner_facts(a.runner_src),
        "karpenter": karpenter_facts(a.karpenter_src) if a.karpenter_src else old["karpenter"],
        "driver": driver_facts(a.driver_src) if a.driver_src else old["driver"],
    }
    a.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
