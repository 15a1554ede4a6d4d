"""`switchFrom`: the raw config of the topology a switch of `mode` is leaving."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config.model import ConfigError


def retiring_raw(raw: Mapping[str, Any], leaving: str, mode: str) -> dict[str, Any]:
    """The same stack config read in the mode being left, observability included: the
    retiring topology renders what it was deployed with, so retiring it changes nothing but
    its managers' count (a changed launch template would start an instance refresh, changed
    Helm values a rollout: tests/test_switch_retiring.py). Its alerts are dropped: only the
    serving topology is watched."""
    if leaving == mode:
        raise ConfigError(
            [
                f"switchFrom: '{leaving}' is the mode being switched to; set it to the mode "
                "the stack runs now (the one being left), or delete the key"
            ]
        )
    old = {k: v for k, v in raw.items() if k not in ("switchFrom", "alerts")}
    old["mode"] = leaving
    return old
