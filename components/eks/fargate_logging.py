"""Fargate's built-in log router (Fluent Bit) configuration: the `aws-logging` ConfigMap.

EKS reads the ConfigMap when a Fargate pod starts, so pods created before it exists (CoreDNS
during cluster creation) only log once they are restarted. EKS rejects data over 5300 chars.
"""

from __future__ import annotations

OBSERVABILITY_NAMESPACE = "aws-observability"
OBSERVABILITY_LABELS = {"aws-observability": "enabled"}
LOGGING_CONFIGMAP = "aws-logging"
MAX_LOGGING_CONFIG_CHARS = 5300
LOG_STREAM_PREFIX = "fargate-"


def fargate_log_group_name(cluster_name: str) -> str:
    return f"/aws/eks/{cluster_name}/fargate"


def control_plane_log_group_name(cluster_name: str) -> str:
    """The group EKS writes control plane logs to; created here so it gets a retention."""
    return f"/aws/eks/{cluster_name}/cluster"


def fluent_bit_process_log_group_name(cluster_name: str) -> str:
    """The group Fargate uses for Fluent Bit's own logs when flb_log_cw is "true"."""
    return f"{cluster_name}-fluent-bit-logs"


def aws_logging_data(region: str, log_group_name: str) -> dict[str, str]:
    """ConfigMap data: parse CRI lines, add Kubernetes metadata, ship to one log group.

    The group is created (with retention) by this program, hence auto_create_group false.
    Stream names are the prefix plus the Fargate tag, which carries pod, namespace and
    container, so each CI job's containers get their own streams."""
    filters = "\n".join(
        [
            "[FILTER]",
            "    Name parser",
            "    Match *",
            "    Key_name log",
            "    Parser crio",
            "[FILTER]",
            "    Name kubernetes",
            "    Match kube.*",
            "    Merge_Log On",
            "    Keep_Log Off",
            "    Buffer_Size 0",
            "    Kube_Meta_Cache_TTL 300s",
            "",
        ]
    )
    output = "\n".join(
        [
            "[OUTPUT]",
            "    Name cloudwatch_logs",
            "    Match kube.*",
            f"    region {region}",
            f"    log_group_name {log_group_name}",
            f"    log_stream_prefix {LOG_STREAM_PREFIX}",
            "    auto_create_group false",
            "",
        ]
    )
    parsers = "\n".join(
        [
            "[PARSER]",
            "    Name crio",
            "    Format Regex",
            "    Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$",
            "    Time_Key time",
            "    Time_Format %Y-%m-%dT%H:%M:%S.%L%z",
            "",
        ]
    )
    return {
        "flb_log_cw": "true",
        "filters.conf": filters,
        "output.conf": output,
        "parsers.conf": parsers,
    }


def logging_config_size(data: dict[str, str]) -> int:
    """Characters EKS counts against the 5300 limit (keys and values)."""
    return sum(len(k) + len(v) for k, v in data.items())
