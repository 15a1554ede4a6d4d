"""The reaper's settings: from its environment (set by components/ecs/reaper_resources.py) and
the invoking event (the schedule's input, or the destroy drain's Invocation).

Zipped with handler.py into the Lambda package `reaper`: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .decisions import DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_GRACE_SECONDS
from .managers import DEFAULT_SETTLE_SECONDS

DEFAULT_JOB_TIMEOUT_SECONDS = 3600
DEFAULT_MARGIN_SECONDS = 900
DEFAULT_POLL_SECONDS = 10
DEFAULT_DRAIN_SAFETY_SECONDS = 60
DEFAULT_DRAIN_TIMEOUT_SECONDS = 840  # 14 of Lambda's 15 minutes


@dataclass(frozen=True)
class Settings:
    clusters: tuple[str, ...]
    autoscaling_groups: tuple[str, ...]
    manager_group_tag: tuple[str, str] | None
    job_timeout_seconds: int
    margin_seconds: int
    grace_seconds: int
    clock_skew_seconds: int
    dry_run: bool
    poll_seconds: float
    drain_safety_seconds: int
    drain_timeout_seconds: int
    settle_seconds: int
    topology_parameter: str = ""
    metrics_namespace: str = ""  # JobStartWaitSeconds goes there (start_wait.py); "" = none
    interval_seconds: int = 300  # the reap schedule's period: the start-wait window

    @classmethod
    def load(cls, event: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
        previous = (event.get("tf") or {}).get("prev_input") or {}
        clusters = _names(
            event.get("clusters") or previous.get("clusters") or env.get("REAPER_CLUSTERS")
        )
        if not clusters:
            raise ValueError("no clusters: set REAPER_CLUSTERS or the event's `clusters`")
        groups = _names(
            event.get("autoscaling_group_names") or env.get("REAPER_AUTOSCALING_GROUPS")
        )
        key, _, value = env.get("REAPER_MANAGER_GROUP_TAG", "").partition("=")
        return cls(
            clusters=clusters,
            autoscaling_groups=groups,
            manager_group_tag=(key.strip(), value.strip()) if key.strip() and value else None,
            job_timeout_seconds=_int(
                env, "REAPER_JOB_TIMEOUT_SECONDS", DEFAULT_JOB_TIMEOUT_SECONDS
            ),
            margin_seconds=_int(env, "REAPER_MARGIN_SECONDS", DEFAULT_MARGIN_SECONDS),
            grace_seconds=_int(env, "REAPER_GRACE_SECONDS", DEFAULT_GRACE_SECONDS),
            clock_skew_seconds=_int(env, "REAPER_CLOCK_SKEW_SECONDS", DEFAULT_CLOCK_SKEW_SECONDS),
            dry_run=env.get("REAPER_DRY_RUN", "").strip().lower() in {"1", "true", "yes"},
            poll_seconds=float(env.get("REAPER_POLL_SECONDS", DEFAULT_POLL_SECONDS)),
            drain_safety_seconds=_int(
                env, "REAPER_DRAIN_SAFETY_SECONDS", DEFAULT_DRAIN_SAFETY_SECONDS
            ),
            drain_timeout_seconds=_int(
                env, "REAPER_DRAIN_TIMEOUT_SECONDS", DEFAULT_DRAIN_TIMEOUT_SECONDS
            ),
            settle_seconds=_int(env, "REAPER_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS),
            topology_parameter=env.get("REAPER_TOPOLOGY_PARAMETER", "").strip(),
            metrics_namespace=env.get("REAPER_METRICS_NAMESPACE", "").strip(),
            interval_seconds=_int(env, "REAPER_INTERVAL_SECONDS", 300),
        )


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    value = int(raw) if raw else default
    if value < 0:
        raise ValueError(f"{key} must not be negative: {value}")
    return value
