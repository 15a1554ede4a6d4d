"""The `observability` and `alerts` keys, checked together: one notification target at most,
and alert settings that would do nothing while observability is off are reported."""

from __future__ import annotations

from typing import Any

from components.config import schema
from components.config.model import AlertsSpec, ObservabilitySpec
from components.config.reader import Reader


def parse_observability(
    r: Reader, raw_observability: Any, raw_alerts: Any, mode: str
) -> tuple[ObservabilitySpec, AlertsSpec]:
    observability = ObservabilitySpec(
        **schema.OBSERVABILITY.read(r, "observability", raw_observability, mode)
    )
    alerts = AlertsSpec(**schema.ALERTS.read(r, "alerts", raw_alerts, mode))
    if alerts.email and alerts.sns_topic_arn:
        r.problem(
            "alerts.email and alerts.snsTopicArn are both set: set alerts.email for a new topic "
            "with that subscription, or alerts.snsTopicArn for a topic you already have "
            "(subscribe the address to it there); remove one (pulumi config set --path ...)"
        )
    if not observability.enabled and isinstance(raw_alerts, dict) and raw_alerts:
        given = ", ".join(f"alerts.{k}" for k in sorted(raw_alerts))
        r.warn(f"{given}: ignored while observability.enabled is false (no alarms exist)")
    return observability, alerts
