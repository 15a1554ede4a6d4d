"""`switchFrom`: the raw config of the topology a switch of `mode` is leaving."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config.model import ConfigError


def retiring_raw(raw: Mapping[str, Any], leaving: str, mode: str) -> dict[str, Any]:
    """The same stack config read in the mode being left. Its runners and tokens are the same;
    its metrics are off (the serving topology is the one watched, and the metrics log group
    belongs to it) and so are its alerts."""
    if leaving == mode:
        raise ConfigError(
            [
                f"switchFrom: '{leaving}' is the mode being switched to; set it to the mode "
                "the stack runs now (the one being left), or delete the key"
            ]
        )
    old = {k: v for k, v in raw.items() if k not in ("switchFrom", "alerts")}
    observability = old.get("observability")
    old["observability"] = {**(observability if isinstance(observability, dict) else {})}
    old["observability"]["enabled"] = False
    old["mode"] = leaving
    return old
