"""GitLab's Fargate custom executor driver: fargate.toml keys and how it picks the task IP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from upstream import GENERATOR
from upstream.go_structs import base_type, line_with, parse_go_structs, toml_sections


def driver_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    config_files = sorted(
        p for p in (src / "config").glob("*.go") if not p.name.endswith("_test.go")
    )
    structs = parse_go_structs(config_files)
    root = "Global" if "Global" in structs else "Config"
    sections = toml_sections(structs, root, "", tagless_uses_field_name=True)
    top = sections.pop("")
    top_keys = {k: v for k, v in top["keys"].items() if base_type(v) not in structs}
    sections = {"top-level": {"struct": root, "keys": top_keys}, **sections}

    go_files = [
        p
        for p in src.rglob("*.go")
        if not p.name.endswith("_test.go") and not p.name.startswith("mock_")
    ]
    use_public_ip = any("UsePublicIP" in p.read_text(encoding="utf-8") for p in config_files)

    ip_func = None
    for p in sorted(go_files):
        text = p.read_text(encoding="utf-8")
        m = re.search(r"func \([^)]*\) (\w+)\([^)]*usePublicIP bool\)", text)
        if m:
            ip_func = {
                "file": str(p.relative_to(src)),
                "function": m.group(1),
                "private_ip_when_false": "PrivateIpv4Address" in text,
            }
            break
    caller = None
    for p in sorted(go_files):
        text = p.read_text(encoding="utf-8")
        m = re.search(r"GetContainerIP\(\s*[^)]*?(c\.cfg\.Fargate\.\w+),?\s*\)", text, re.S)
        if m:
            caller = {"file": str(p.relative_to(src)), "use_public_ip_argument": m.group(1)}
            break

    filename_go = src / "task" / "filename.go"
    filename_fmt = None
    if filename_go.exists():
        fm = re.findall(r'fmt\.Sprintf\(\s*"([^"]+)"', filename_go.read_text(encoding="utf-8"))
        filename_fmt = fm
    # The signals the driver handles itself; any other (SIGQUIT) takes Go's default action:
    # a goroutine dump and exit status 2.
    handler_go = src / "internal" / "signal" / "termination_handler.go"
    termination = line_with(handler_go, "signal.Notify(") if handler_go.exists() else None
    version_file = src / "VERSION"
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "version_file": version_file.read_text(encoding="utf-8").strip()
            if version_file.exists()
            else None,
            "files": [
                "config/*.go",
                "aws/fargate.go",
                "cmd/fargate/commands/custom/prepare.go",
                "task/filename.go",
                "internal/signal/termination_handler.go",
            ],
            "generator": GENERATOR,
            "note": "config structs carry no toml tags; BurntSushi/toml then matches the Go "
            "field name (case-insensitively), so keys are the field names",
        },
        "sections": sections,
        "facts": {
            "UsePublicIP_in_config": use_public_ip,
            "container_ip_function": ip_func,
            "container_ip_caller": caller,
            "task_metadata_filename_formats": filename_fmt,
            "termination_signals": termination,
        },
    }
