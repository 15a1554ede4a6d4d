"""Derive the observability fact files from fetched upstream trees (see upstream_facts.py).

The dashboard and alarms must only use metrics something really emits, and the agent and
collector configurations must be ones their programs accept. This script writes, with
provenance, to ``tests/upstream/``:

- ``gitlab-runner-metrics.json``: every Prometheus metric gitlab-runner defines (name, labels,
  file and line), from its non-test Go source at the pinned version;
- ``gitlab-runner-chart-metrics.json``: how the Helm chart exposes them (values, templates);
- ``cloudwatch-agent-schema.json``: the CloudWatch agent's own JSON schema of its config;
- ``adot-collector-components.json``: the component types the ADOT collector distribution
  registers and the config keys of the ones this project uses.

Run it on trees taken at the pinned refs (``git archive`` of each tag)::

    python scripts/observability_facts.py --runner-src DIR --chart-src DIR \\
        --cwagent-src DIR --adot-src DIR

Only the standard library and PyYAML are used.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import yaml

OUT_DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "upstream"

# A metric is defined by prometheus.NewDesc("name", ...) or New<Kind>[Vec](<Kind>Opts{Name: ...
_DESC = re.compile(r'prometheus\.NewDesc\(\s*"(gitlab_runner_\w+)",\s*"[^"]*",\s*([^\n]*)')
_OPTS = re.compile(
    r"prometheus\.New(Counter|Gauge|Histogram|Summary)(Vec)?\(\s*prometheus\.\w+Opts\{"
    r'\s*Name:\s*"(gitlab_runner_\w+)"'
)
_LABELS = re.compile(r"\[\]string\{([^}]*)\}")


def _labels(text: str) -> list[str] | None:
    """The first `[]string{...}` in text (the label list), or None for `nil`."""
    stripped = text.lstrip()
    if stripped.startswith("nil"):
        return []
    m = _LABELS.search(text)
    return re.findall(r'"(\w+)"', m.group(1)) if m else None


def runner_metric_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    metrics: dict[str, dict[str, Any]] = {}
    files = sorted(
        p
        for p in src.rglob("*.go")
        if not p.name.endswith("_test.go") and "vendor" not in p.parts and "mocks" not in p.parts
    )
    for path in files:
        text = path.read_text(encoding="utf-8")
        for m in _DESC.finditer(text):
            metrics[m.group(1)] = {
                "labels": _labels(text[m.start(2) :]) or [],
                "defined_by": "prometheus.NewDesc",
                "file": str(path.relative_to(src)),
                "line": text.count("\n", 0, m.start()) + 1,
            }
        for m in _OPTS.finditer(text):
            close = text.index("}", m.end())
            labels = _labels(text[close + 1 :]) if m.group(2) else []
            metrics[m.group(3)] = {
                "labels": labels or [],
                "kind": m.group(1).lower(),
                "defined_by": f"prometheus.New{m.group(1)}{m.group(2) or ''}",
                "file": str(path.relative_to(src)),
                "line": text.count("\n", 0, m.start()) + 1,
            }
    network = (src / "common" / "network.go").read_text(encoding="utf-8")
    reasons = re.findall(r'spec\.JobFailureReason = "(\w+)"', network)
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "files": ["**/*.go (non-test, non-vendor)", "common/network.go"],
            "generator": "scripts/observability_facts.py",
            "note": "metrics defined with prometheus.NewDesc or prometheus.New<Kind>[Vec]; "
            "labels are the variable label names in declaration order",
        },
        "metrics": dict(sorted(metrics.items())),
        "job_failure_reasons": reasons,
    }


def chart_metric_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    values = yaml.safe_load((src / "values.yaml").read_text(encoding="utf-8"))
    tpl = src / "templates"

    def lines_with(name: str, needle: str) -> list[dict[str, Any]]:
        text = (tpl / name).read_text(encoding="utf-8").splitlines()
        return [
            {"file": f"templates/{name}", "line": i, "text": line.strip()}
            for i, line in enumerate(text, 1)
            if needle in line
        ]

    metrics = values.get("metrics") or {}
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "files": ["values.yaml", "templates/configmap.yaml", "templates/deployment.yaml"],
            "generator": "scripts/observability_facts.py",
        },
        "values_metrics_defaults": {
            k: metrics.get(k) for k in ("enabled", "portName", "port") if k in metrics
        },
        "listen_address_lines": lines_with("configmap.yaml", "listen_address"),
        "container_port_lines": lines_with("deployment.yaml", ".Values.metrics.port"),
    }


def cloudwatch_agent_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    schema = json.loads((src / "translator" / "config" / "schema.json").read_text("utf-8"))
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "files": ["translator/config/schema.json"],
            "generator": "scripts/observability_facts.py",
            "license": "MIT (the agent's LICENSE); the schema is kept whole as data",
        },
        "schema": schema,
    }


_IMPORT = re.compile(r'^\s*"([\w./-]+/(?:receiver|processor|exporter|extension)/[\w/]+)"$', re.M)
_TYPE = re.compile(r'component\.MustNewType\("(\w+)"\)')
_MAPSTRUCTURE = re.compile(r'^\s*(\w+)\s+[^`\n]+`mapstructure:"([^"]*)"', re.M)


def _go_struct_keys(text: str, struct: str) -> list[str]:
    m = re.search(rf"type {struct} struct \{{(.*?)\n\}}", text, re.S)
    if not m:
        raise SystemExit(f"struct {struct} not found")
    return [tag.split(",")[0] for _, tag in _MAPSTRUCTURE.findall(m.group(1))]


def adot_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    defaults = (src / "pkg" / "defaultcomponents" / "defaults.go").read_text(encoding="utf-8")
    vendor = src / "vendor"
    kinds: dict[str, list[str]] = {"receivers": [], "processors": [], "exporters": []}
    kinds["extensions"] = []
    for package in _IMPORT.findall(defaults):
        kind = next(
            k for k in ("receiver", "processor", "exporter", "extension") if f"/{k}/" in package
        )
        status = vendor / package / "internal" / "metadata" / "generated_status.go"
        m = _TYPE.search(status.read_text(encoding="utf-8"))
        if not m:
            raise SystemExit(f"{status}: no component type")
        kinds[f"{kind}s"].append(m.group(1))
    contrib = vendor / "github.com/open-telemetry/opentelemetry-collector-contrib"
    emf = contrib / "exporter" / "awsemfexporter"
    emf_config = (emf / "config.go").read_text(encoding="utf-8")
    declaration = (emf / "metric_declaration.go").read_text(encoding="utf-8")
    session = (contrib / "internal/aws/awsutil/awsconfig.go").read_text(encoding="utf-8")
    prom = (contrib / "receiver/prometheusreceiver/config.go").read_text(encoding="utf-8")
    emf_keys = [k for k in _go_struct_keys(emf_config, "Config") if k]
    emf_keys += _go_struct_keys(session, "AWSSessionSettings")
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "version_file": (src / "VERSION").read_text(encoding="utf-8").strip(),
            "files": [
                "pkg/defaultcomponents/defaults.go",
                "vendor/<component>/internal/metadata/generated_status.go",
                "vendor/.../exporter/awsemfexporter/config.go, metric_declaration.go",
                "vendor/.../internal/aws/awsutil/awsconfig.go",
                "vendor/.../receiver/prometheusreceiver/config.go",
            ],
            "generator": "scripts/observability_facts.py",
            "note": "component types as registered; the datadog, logzio and signalfx exporters "
            "(behind deprecation gates) are not listed",
        },
        "components": {k: sorted(v) for k, v in kinds.items()},
        "config_keys": {
            "exporters.awsemf": sorted(set(emf_keys)),
            "exporters.awsemf.metric_declarations[]": _go_struct_keys(
                declaration, "MetricDeclaration"
            ),
            "exporters.awsemf.metric_declarations[].label_matchers[]": _go_struct_keys(
                declaration, "LabelMatcher"
            ),
            "receivers.prometheus": [k for k in _go_struct_keys(prom, "Config") if k],
        },
    }


def _write(out_dir: Path, name: str, data: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


# Each upstream tree: its option prefix, pinned ref, repository and fact file; then, in the
# same order, the function that extracts its facts.
SOURCES = (
    ("runner", "v19.3.0", "gitlab.com/gitlab-org/gitlab-runner", "gitlab-runner-metrics.json"),
    (
        "chart",
        "0.86.0",
        "gitlab.com/gitlab-org/charts/gitlab-runner",
        "gitlab-runner-chart-metrics.json",
    ),
    (
        "cwagent",
        "unknown",
        "github.com/aws/amazon-cloudwatch-agent",
        "cloudwatch-agent-schema.json",
    ),
    (
        "adot",
        "v0.49.0",
        "github.com/aws-observability/aws-otel-collector",
        "adot-collector-components.json",
    ),
)
EXTRACTORS = (runner_metric_facts, chart_metric_facts, cloudwatch_agent_facts, adot_facts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, ref, repo, _ in SOURCES:
        # A tree not given keeps its fact file: a pin moves one source at a time.
        p.add_argument(f"--{name}-src", type=Path)
        p.add_argument(f"--{name}-ref", default=ref)
        p.add_argument(f"--{name}-repo", default=repo)
    p.add_argument("--out", type=Path, default=OUT_DEFAULT)
    a = vars(p.parse_args(argv))
    for (name, _, _, file_name), extract in zip(SOURCES, EXTRACTORS, strict=True):
        if a[f"{name}_src"] is None:
            continue
        facts = extract(a[f"{name}_src"], a[f"{name}_ref"], a[f"{name}_repo"])
        _write(a["out"], file_name, facts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
