"""gitlab-runner: config.toml sections and keys, request concurrency, stop signals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from upstream import GENERATOR
from upstream.go_structs import line_with, parse_go_structs, toml_sections


def runner_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    common = sorted(p for p in (src / "common").glob("*.go") if not p.name.endswith("_test.go"))
    structs = parse_go_structs(common)
    # From 19.x [runners.cache] is cacheconfig.Config (cache/cacheconfig/), outside common/.
    cache_files = sorted(
        p for p in (src / "cache" / "cacheconfig").glob("*.go") if not p.name.endswith("_test.go")
    )
    for name, fields in parse_go_structs(cache_files).items():
        structs[f"cacheconfig.{name}"] = fields
        structs.setdefault(name, fields)
    sections = toml_sections(structs, "Config", "")
    global_section = sections.pop("")
    sections = {"global": global_section, **dict(sorted(sections.items()))}

    config_go = src / "common" / "config.go"
    rc_default = None
    text = config_go.read_text(encoding="utf-8")
    m = re.search(r"func \(c \*RunnerConfig\) GetRequestConcurrency\(\) int \{\s*\n\s*(.+)", text)
    if m:
        rc_default = m.group(1).strip()

    flags_go = src / "helpers" / "featureflags" / "flags.go"
    flags_text = flags_go.read_text(encoding="utf-8")
    ff_name = "FF_USE_ADAPTIVE_REQUEST_CONCURRENCY"
    ff: dict[str, Any] = {"name": ff_name, "exists": f'"{ff_name}"' in flags_text}
    const = re.search(rf'(\w+)\s+string\s*=\s*"{ff_name}"', flags_text)
    if const:
        block = re.search(rf"Name:\s*{const.group(1)},\s*\n\s*DefaultValue:\s*(\w+)", flags_text)
        if block:
            ff["default"] = block.group(1) == "true"

    multi_go = src / "commands" / "multi.go"
    signals: dict[str, Any] = {"file": "commands/multi.go"}
    if multi_go.exists():
        signals["notify"] = line_with(multi_go, "signal.Notify(mr.stopSignals")
        signals["graceful_comment"] = line_with(multi_go, "In case this is SIGQUIT")
        signals["graceful_wait"] = line_with(multi_go, "for mr.stopSignal == syscall.SIGQUIT")
        # handleGracefulShutdown returns only once every job has finished (runFinished).
        signals["graceful_done"] = line_with(multi_go, "// Everything finished we can exit now")
        signals["summary"] = (
            "non-Windows: SIGQUIT = graceful (stop requesting jobs, wait for running jobs); "
            "SIGTERM/SIGINT = forceful shutdown, which shutdown_timeout bounds"
        )
    dockerfile = src / "dockerfiles" / "runner" / "Dockerfile"
    if dockerfile.exists():
        signals["runner_dockerfile_sets_STOPSIGNAL"] = "STOPSIGNAL" in dockerfile.read_text(
            encoding="utf-8"
        )
    changelog = src / "CHANGELOG.md"
    if changelog.exists():
        signals["changelog_stopsignal"] = line_with(changelog, "STOPSIGNAL")

    custom_keys = sections["runners.custom"]["keys"]
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "files": [
                "common/*.go (non-test)",
                "cache/cacheconfig/*.go (non-test, where present)",
                "helpers/featureflags/flags.go",
                "commands/multi.go",
                "dockerfiles/runner/Dockerfile",
                "CHANGELOG.md",
            ],
            "generator": GENERATOR,
            "note": "keys are the toml struct tags; embedded/squash structs are flattened; "
            'toml:"-" fields are omitted',
        },
        "sections": sections,
        "facts": {
            "custom_has_run_exec_timeout": "run_exec_timeout" in custom_keys,
            "request_concurrency_getter": rc_default,
            "feature_flag_adaptive_request_concurrency": ff,
            "signals": signals,
        },
    }
