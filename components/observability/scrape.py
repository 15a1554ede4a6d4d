"""How gitlab-runner's metrics reach CloudWatch: the ECS managers' CloudWatch agent and the
EKS collector, both rendered from catalogue.EMF_DECLARATIONS so the two modes emit the same
metrics with the same dimensions. Pure functions of plain values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from components.observability.catalogue import (
    EMF_DECLARATIONS,
    METRICS_PORT_NAME,
    RUNNER_METRICS,
    RUNNER_METRICS_PORT,
    SCRAPE_INTERVAL_SECONDS,
    SCRAPE_JOB,
)

# gitlab-runner's listen_address on an ECS manager: loopback only. The same listener serves
# /debug/jobs/list (every running job's URL) and /debug/pprof (gitlab-runner
# commands/multi.go:711-716 at v18.9.0); only the agent on the same host needs it.
ECS_LISTEN_ADDRESS = f"127.0.0.1:{RUNNER_METRICS_PORT}"
# The ADOT collector distribution and version the EKS Deployment runs (its component names
# are in tests/upstream/adot-collector-components.json, taken at this tag).
COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
COLLECTOR_CONFIG_FILE = "collector.yaml"
HEALTH_PORT = 13133  # the health_check extension's default endpoint port


def _keep_runner_metrics() -> list[dict[str, Any]]:
    """Drop every other metric before it is sent: bounded EMF log volume and metric count.
    Prometheus anchors relabel regexes itself."""
    return [{"source_labels": ["__name__"], "action": "keep", "regex": "|".join(RUNNER_METRICS)}]


def render_ecs_scrape_config() -> str:
    """The Prometheus scrape file the agent reads (`prometheus_config_path`)."""
    interval = f"{SCRAPE_INTERVAL_SECONDS}s"
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": interval, "scrape_timeout": "10s"},
            "scrape_configs": [
                {
                    "job_name": SCRAPE_JOB,
                    "static_configs": [{"targets": [ECS_LISTEN_ADDRESS]}],
                    "metric_relabel_configs": _keep_runner_metrics(),
                }
            ],
        },
        sort_keys=False,
    )


def ecs_agent_prometheus(
    namespace: str, log_group_name: str, cluster_name: str, scrape_config_path: str
) -> dict[str, Any]:
    """The agent's `logs.metrics_collected.prometheus` section: EMF into the stack namespace."""
    return {
        "cluster_name": cluster_name,
        "log_group_name": log_group_name,
        "prometheus_config_path": scrape_config_path,
        "emf_processor": {
            "metric_namespace": namespace,
            "metric_declaration": [
                {
                    "source_labels": [d.label] if d.label else ["job"],
                    "label_matcher": d.label_regex or f"^{SCRAPE_JOB}$",
                    "dimensions": [list(dims) for dims in d.dimensions],
                    "metric_selectors": d.selectors,
                }
                for d in EMF_DECLARATIONS
            ],
        },
    }


def render_collector_config(
    region: str, namespace: str, log_group_name: str, runner_namespaces: Sequence[str]
) -> str:
    """The ADOT collector's configuration: discover the manager pods' `metrics` port in the
    runner namespaces, keep the runner metrics, write them as EMF."""
    scrape = {
        "job_name": SCRAPE_JOB,
        "scrape_interval": f"{SCRAPE_INTERVAL_SECONDS}s",
        "kubernetes_sd_configs": [
            {"role": "pod", "namespaces": {"names": list(runner_namespaces)}}
        ],
        "relabel_configs": [
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "action": "keep",
                "regex": METRICS_PORT_NAME,
            }
        ],
        "metric_relabel_configs": _keep_runner_metrics(),
    }
    declarations = []
    for d in EMF_DECLARATIONS:
        entry: dict[str, Any] = {
            "dimensions": [list(dims) for dims in d.dimensions],
            "metric_name_selectors": d.selectors,
        }
        if d.label:
            entry["label_matchers"] = [{"label_names": [d.label], "regex": d.label_regex}]
        declarations.append(entry)
    config = {
        "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
        # Keep gitlab-runner's names as they are (`..._total` included), as the ECS agent
        # does; false is the receiver's default (prometheusreceiver config.go:32, README:107).
        "receivers": {
            "prometheus": {"trim_metric_suffixes": False, "config": {"scrape_configs": [scrape]}}
        },
        "processors": {"batch": {"timeout": "30s"}},
        "exporters": {
            "awsemf": {
                "region": region,
                "namespace": namespace,
                "log_group_name": log_group_name,
                "log_stream_name": "collector",
                # Only the declared dimension sets: no extra per-label rollups.
                "dimension_rollup_option": "NoDimensionRollup",
                "metric_declarations": declarations,
            }
        },
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "metrics": {
                    "receivers": ["prometheus"],
                    "processors": ["batch"],
                    "exporters": ["awsemf"],
                }
            },
        },
    }
    return yaml.safe_dump(config, sort_keys=False)
