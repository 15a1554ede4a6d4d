"""The `observability` and `alerts` keys, checked together: one notification target at most,
and alert settings that would do nothing while observability is off are reported."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from components.config import schema
from components.config.model import AlertsSpec, ObservabilitySpec
from components.config.reader import Reader


def polling_window_minutes(check_interval: int) -> int:
    """The shortest not-polling window that a healthy runner never trips. gitlab-runner feeds
    each runner once per check_interval (commands/multi.go feedRunners: the interval divided
    over the runners, each fed once a round), the alarm reads one datapoint a minute and needs
    every datapoint of the window empty: a gap of check_interval seconds empties at most
    ceil(interval / 60) - 1 whole minutes, and one minute more absorbs publishing jitter."""
    return math.ceil(check_interval / 60) + 1


def parse_observability(
    r: Reader, raw_observability: Any, raw_alerts: Any, mode: str, check_interval: int
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
    window = polling_window_minutes(check_interval)
    if observability.enabled and alerts.not_polling_minutes < window:
        if isinstance(raw_alerts, dict) and "notPollingMinutes" in raw_alerts:
            r.warn(
                f"alerts.notPollingMinutes: {alerts.not_polling_minutes} minutes is shorter than "
                f"a healthy runner's gap between polls ({mode}.checkInterval {check_interval} s), "
                f"so the not-polling alarm would stay in ALARM; it waits {window} minutes "
                f"instead: set alerts.notPollingMinutes to {window} or more, or lower "
                f"{mode}.checkInterval"
            )
        alerts = replace(alerts, not_polling_minutes=window)
    return observability, alerts
