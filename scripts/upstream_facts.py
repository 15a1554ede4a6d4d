"""Derive small JSON fact files from fetched upstream source trees.

Tests must check what this project renders against the real upstream artifacts at the
pinned versions, but CI has no network and we must not commit upstream code. So this
script reads upstream trees that someone fetched by hand and writes only derived facts
(key names, enums, required fields, short quoted lines) with provenance to
``tests/upstream/*.json``. Re-run it whenever a pin moves::

    python scripts/upstream_facts.py --runner-src DIR --chart-src DIR \\
        --karpenter-src DIR [--driver-src DIR]

Each ``--*-ref`` option names the upstream tag/commit the tree was taken from; it is
copied into the JSON as provenance and is not checked against the tree.
Only the standard library and PyYAML are used.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

OUT_DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "upstream"

# --------------------------------------------------------------------------- Go structs

_STRUCT_START = re.compile(r"^type\s+(\w+)\s+struct\s*\{\s*$")
_FIELD = re.compile(r"^\s*(\w+)\s+([^`\s]+(?:\s+[^`\s]+)*?)\s*(`[^`]*`)?\s*(?://.*)?$")
_EMBEDDED = re.compile(r"^\s*(\*?[\w.]+)\s*(`[^`]*`)?\s*(?://.*)?$")
_TAG = re.compile(r'(\w+):"([^"]*)"')


def parse_go_structs(files: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Return {struct name: [field dicts]} for top-level struct types in ``files``.

    A field dict has ``name``, ``type``, ``tags`` and ``embedded``. Only gofmt-formatted
    one-field-per-line structs are understood, which is what upstream Go code uses.
    """
    structs: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        current: str | None = None
        depth = 0
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.rstrip()
            if current is None:
                m = _STRUCT_START.match(line)
                if m:
                    current, depth = m.group(1), 1
                    structs.setdefault(current, [])
                continue
            stripped = line.strip()
            depth += stripped.count("{") - stripped.count("}")
            if depth <= 0:
                current = None
                continue
            if depth > 1 or not stripped or stripped.startswith("//"):
                continue
            emb = _EMBEDDED.match(line)
            if emb and " " not in emb.group(1):
                tags = dict(_TAG.findall(emb.group(2) or ""))
                structs[current].append(
                    {
                        "name": emb.group(1).lstrip("*"),
                        "type": emb.group(1),
                        "tags": tags,
                        "embedded": True,
                    }
                )
                continue
            m = _FIELD.match(line)
            if m:
                tags = dict(_TAG.findall(m.group(3) or ""))
                structs[current].append(
                    {
                        "name": m.group(1),
                        "type": m.group(2).strip(),
                        "tags": tags,
                        "embedded": False,
                    }
                )
    return structs


def _base_type(go_type: str) -> str:
    t = go_type
    while t.startswith(("*", "[]")):
        t = t[1:] if t.startswith("*") else t[2:]
    return t


def toml_keys(
    structs: dict[str, list[dict[str, Any]]], name: str, *, tagless_uses_field_name: bool = False
) -> dict[str, str]:
    """TOML keys accepted by struct ``name``: {key: Go type}, with embedded structs flattened.

    Anonymous embedded structs and ``toml:",squash"`` fields contribute their own keys.
    ``toml:"-"`` fields are skipped. Untagged fields are skipped unless
    ``tagless_uses_field_name`` (BurntSushi/toml then matches the Go field name).
    """
    keys: dict[str, str] = {}
    for field in structs.get(name, []):
        tag = field["tags"].get("toml")
        tag_name, _, opts = (tag or "").partition(",")
        if tag_name == "-":
            continue
        squash = "squash" in opts.split(",")
        if (field["embedded"] and not tag_name) or squash:
            keys.update(
                toml_keys(
                    structs,
                    _base_type(field["type"]),
                    tagless_uses_field_name=tagless_uses_field_name,
                )
            )
            continue
        if tag is None and not tagless_uses_field_name:
            continue
        if not field["name"][0].isupper():
            continue
        keys[tag_name or field["name"]] = field["type"]
    return keys


def toml_sections(
    structs: dict[str, list[dict[str, Any]]],
    root: str,
    prefix: str,
    *,
    tagless_uses_field_name: bool = False,
    max_depth: int = 4,
) -> dict[str, dict[str, Any]]:
    """Walk from ``root`` and describe every nested TOML table whose struct is known."""
    out: dict[str, dict[str, Any]] = {}

    def walk(struct: str, section: str, depth: int) -> None:
        keys = toml_keys(structs, struct, tagless_uses_field_name=tagless_uses_field_name)
        out[section] = {"struct": struct, "keys": dict(sorted(keys.items()))}
        if depth >= max_depth:
            return
        for key, go_type in keys.items():
            base = _base_type(go_type)
            if base in structs and base != struct:
                child = f"{section}.{key}" if section else key
                if child not in out:
                    walk(base, child, depth + 1)

    walk(root, prefix, 0)
    return out


def _line_with(path: Path, needle: str) -> dict[str, Any] | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return {"line": number, "text": line.strip()}
    return None


# --------------------------------------------------------------------------- gitlab-runner


def runner_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    common = sorted(p for p in (src / "common").glob("*.go") if not p.name.endswith("_test.go"))
    structs = parse_go_structs(common)
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
        signals["notify"] = _line_with(multi_go, "signal.Notify(mr.stopSignals")
        signals["graceful_comment"] = _line_with(multi_go, "In case this is SIGQUIT")
        signals["graceful_wait"] = _line_with(multi_go, "for mr.stopSignal == syscall.SIGQUIT")
        # handleGracefulShutdown returns only once every job has finished (runFinished).
        signals["graceful_done"] = _line_with(multi_go, "// Everything finished we can exit now")
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
        signals["changelog_stopsignal"] = _line_with(changelog, "STOPSIGNAL")

    custom_keys = sections["runners.custom"]["keys"]
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "files": [
                "common/*.go (non-test)",
                "helpers/featureflags/flags.go",
                "commands/multi.go",
                "dockerfiles/runner/Dockerfile",
                "CHANGELOG.md",
            ],
            "generator": "scripts/upstream_facts.py",
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


# --------------------------------------------------------------------------- runner chart


def chart_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    chart = yaml.safe_load((src / "Chart.yaml").read_text(encoding="utf-8"))
    values = yaml.safe_load((src / "values.yaml").read_text(encoding="utf-8"))
    tpl = src / "templates"
    deployment = (tpl / "deployment.yaml").read_text(encoding="utf-8")
    configmap = (tpl / "configmap.yaml").read_text(encoding="utf-8")
    helpers = (tpl / "_helpers.tpl").read_text(encoding="utf-8")

    annotations: list[str] = []
    pod_annotations_lines: list[str] = []
    meta = re.search(r"\n  template:\n    metadata:\n(.*?)\n    spec:", deployment, re.S)
    if meta:
        block = meta.group(1)
        annotations = re.findall(r"^\s+([\w./-]+/[\w.-]+):", block, re.M)
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if ".Values.podAnnotations" in line:
                pod_annotations_lines = [line.strip(), lines[i + 1].strip()]

    configmap_scripts = dict(
        re.findall(r"^  ([\w.-]+): \|\n(.*?)(?=^  [\w.-]+: |^  \{\{|\Z)", configmap, re.S | re.M)
    )
    entry_text = configmap_scripts.get("entrypoint", "")
    all_templates = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(tpl.iterdir()) if p.is_file()
    )
    command = re.search(r'command: \["/usr/bin/dumb-init"[^\]]*\]', deployment)
    tini = re.search(r'command: \["/usr/local/bin/tini"[^\]]*\]', deployment)
    pre_stop = re.search(r"preStop:\s*\n\s*exec:\s*\n\s*command: (\[.*\])", helpers)
    secret_helper = re.search(
        r'define "gitlab-runner\.secret" -\}\}\n(.*?)\{\{- end -\}\}\n\{\{- end -\}\}',
        helpers,
        re.S,
    )

    runners = values.get("runners") or {}
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "files": [
                "Chart.yaml",
                "values.yaml",
                "templates/deployment.yaml",
                "templates/configmap.yaml",
                "templates/_helpers.tpl",
            ],
            "generator": "scripts/upstream_facts.py",
        },
        "chart": {
            "name": chart.get("name"),
            "version": str(chart.get("version")),
            "appVersion": str(chart.get("appVersion")),
        },
        "values_top_level_keys": sorted(values),
        "values_runners_keys": sorted(runners),
        "values_defaults": {
            k: values.get(k)
            for k in (
                "terminationGracePeriodSeconds",
                "shutdown_timeout",
                "unregisterRunners",
                "concurrent",
                "checkInterval",
                "podAnnotations",
                "podLabels",
                "useTini",
            )
            if k in values
        }
        | {
            "rbac.create": (values.get("rbac") or {}).get("create"),
            "serviceAccount.create": (values.get("serviceAccount") or {}).get("create"),
            "serviceAccount.name": (values.get("serviceAccount") or {}).get("name"),
        },
        "deployment": {
            "pod_template_annotation_keys": annotations,
            "pod_annotations_template_lines": pod_annotations_lines,
            "checksum_secrets_condition": _first_line(deployment, "checksum/secrets", before=1),
            "has_termination_grace_period_seconds": ".Values.terminationGracePeriodSeconds"
            in deployment,
            "has_pod_labels": ".Values.podLabels" in deployment,
            "service_account_name_helper": "gitlab-runner.serviceAccountName" in deployment,
            "container_command": command.group(0) if command else None,
            "container_command_use_tini": tini.group(0) if tini else None,
            "lifecycle_from_values": ".Values.deploymentLifecycle" in deployment,
            "unregister_prestop_command": pre_stop.group(1) if pre_stop else None,
            "runners_secret_helper": (
                " ".join(secret_helper.group(1).split()) if secret_helper else None
            ),
            "runners_secret_projected_items": re.findall(r"- key: (runner-[\w-]+)", deployment),
        },
        "service_account_helper_uses": sorted(
            set(
                re.findall(
                    r"\.Values\.(serviceAccount\.\w+|rbac\.\w+)",
                    helpers.split('define "gitlab-runner.serviceAccountName"')[1].split(
                        "{{- end -}}\n\n"
                    )[0]
                    if 'define "gitlab-runner.serviceAccountName"' in helpers
                    else "",
                )
            )
        ),
        "templates_values_runners_keys": sorted(
            set(re.findall(r"\.Values\.runners\.(\w+)", all_templates))
        ),
        "templates_values_top_level_keys": sorted(
            set(re.findall(r"\.Values\.(\w+)", all_templates))
        ),
        "entrypoint": {
            "execs_runner": "exec /entrypoint run" in entry_text,
            "trap_lines_by_script": {
                name: [ln.strip() for ln in body.splitlines() if "trap " in ln]
                for name, body in configmap_scripts.items()
                if any("trap " in ln for ln in body.splitlines())
            },
            "config_toml_sets_shutdown_timeout": "shutdown_timeout = {{ .Values.shutdown_timeout }}"
            in configmap,
            "note": "the runner is exec'd as PID-1's child under dumb-init (or tini with "
            "useTini); no template sets a stop signal, so the container runtime sends the "
            "image's STOPSIGNAL (SIGTERM if none). The traps only guard the session-server "
            "helpers and the register script, not the running runner.",
        },
    }


def _first_line(text: str, needle: str, before: int = 0) -> str | None:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if needle in line:
            return lines[max(0, i - before)].strip()
    return None


# --------------------------------------------------------------------------- Karpenter CRDs

_KEEP = (
    "type",
    "required",
    "enum",
    "pattern",
    "maxItems",
    "minItems",
    "maxLength",
    "minLength",
    "minimum",
    "maximum",
    "maxProperties",
    "minProperties",
    "nullable",
)


def compact_schema(node: dict[str, Any]) -> dict[str, Any]:
    """Keep the validating subset of an openAPIV3Schema node, for jsonschema Draft 7.

    Objects with ``properties`` and without ``x-kubernetes-preserve-unknown-fields`` get
    ``additionalProperties: false`` (the API server would prune unknown fields; we reject).
    """
    out: dict[str, Any] = {k: node[k] for k in _KEEP if k in node}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["type"] = ["integer", "string"]
    if "properties" in node:
        out["properties"] = {k: compact_schema(v) for k, v in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    elif isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = compact_schema(node["additionalProperties"])
    if isinstance(node.get("items"), dict):
        out["items"] = compact_schema(node["items"])
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in node and not node.get("x-kubernetes-int-or-string"):
            out[combo] = [compact_schema(x) for x in node[combo]]
    return out


def _crd_schema(path: Path, version: str) -> dict[str, Any]:
    crd = yaml.safe_load(path.read_text(encoding="utf-8"))
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            schema = compact_schema(v["schema"]["openAPIV3Schema"])
            # apiVersion/kind/metadata are checked by the API server itself.
            schema.get("properties", {}).get("metadata", {}).pop("additionalProperties", None)
            return {
                "group": crd["spec"]["group"],
                "kind": crd["spec"]["names"]["kind"],
                "version": version,
                "served": v.get("served"),
                "storage": v.get("storage"),
                "schema": schema,
            }
    raise SystemExit(f"{path}: no version {version}")


def karpenter_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    crds = src / "pkg" / "apis" / "crds"
    crd_chart = src / "charts" / "karpenter-crd" / "Chart.yaml"
    main_crds = src / "charts" / "karpenter" / "crds"
    crd_chart_meta = (
        yaml.safe_load(crd_chart.read_text(encoding="utf-8")) if (crd_chart.exists()) else None
    )
    return {
        "provenance": {
            "upstream": repo,
            "ref": ref,
            "files": [
                "pkg/apis/crds/karpenter.sh_nodepools.yaml",
                "pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml",
                "charts/karpenter-crd/Chart.yaml",
                "charts/karpenter/crds/",
            ],
            "generator": "scripts/upstream_facts.py",
            "note": "schema subset of openAPIV3Schema (type, properties, required, enum, "
            "items, pattern, min/max*); x-kubernetes-validations (CEL) dropped. "
            "additionalProperties:false is ADDED wherever an object lists properties and "
            "does not set x-kubernetes-preserve-unknown-fields: the API server would "
            "silently prune such unknown fields, the tests reject them instead.",
        },
        "karpenter_crd_chart": {
            "exists": crd_chart_meta is not None,
            "name": (crd_chart_meta or {}).get("name"),
            "version": str((crd_chart_meta or {}).get("version")),
        },
        "main_chart_crds_dir": sorted(p.name for p in main_crds.glob("*.yaml"))
        if main_crds.exists()
        else [],
        "crds": {
            "NodePool": _crd_schema(crds / "karpenter.sh_nodepools.yaml", "v1"),
            "EC2NodeClass": _crd_schema(crds / "karpenter.k8s.aws_ec2nodeclasses.yaml", "v1"),
        },
    }


# --------------------------------------------------------------------------- Fargate driver


def driver_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    config_files = sorted(
        p for p in (src / "config").glob("*.go") if not p.name.endswith("_test.go")
    )
    structs = parse_go_structs(config_files)
    root = "Global" if "Global" in structs else "Config"
    sections = toml_sections(structs, root, "", tagless_uses_field_name=True)
    top = sections.pop("")
    top_keys = {k: v for k, v in top["keys"].items() if _base_type(v) not in structs}
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
    termination = _line_with(handler_go, "signal.Notify(") if handler_go.exists() else None
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
            "generator": "scripts/upstream_facts.py",
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


# --------------------------------------------------------------------------- main


def _write(out_dir: Path, name: str, data: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--runner-src",
        type=Path,
        required=True,
        help="gitlab-runner source tree (needs common/, helpers/featureflags/)",
    )
    p.add_argument("--runner-ref", default="v18.9.0")
    p.add_argument("--runner-repo", default="gitlab.com/gitlab-org/gitlab-runner")
    p.add_argument(
        "--chart-src",
        type=Path,
        required=True,
        help="unpacked gitlab-runner Helm chart (Chart.yaml, values.yaml, templates/)",
    )
    p.add_argument("--chart-ref", default="0.86.0")
    p.add_argument("--chart-repo", default="gitlab.com/gitlab-org/charts/gitlab-runner")
    p.add_argument(
        "--karpenter-src", type=Path, required=True, help="karpenter-provider-aws source tree"
    )
    p.add_argument("--karpenter-ref", default="v1.14.1")
    p.add_argument("--karpenter-repo", default="github.com/aws/karpenter-provider-aws")
    p.add_argument("--driver-src", type=Path, help="Fargate custom executor driver tree")
    p.add_argument("--driver-ref", default="unknown")
    p.add_argument(
        "--driver-repo", default="gitlab.com/gitlab-org/ci-cd/custom-executor-drivers/fargate"
    )
    p.add_argument("--out", type=Path, default=OUT_DEFAULT)
    a = p.parse_args(argv)

    _write(
        a.out, "gitlab-runner-config.json", runner_facts(a.runner_src, a.runner_ref, a.runner_repo)
    )
    _write(a.out, "gitlab-runner-chart.json", chart_facts(a.chart_src, a.chart_ref, a.chart_repo))
    _write(
        a.out,
        "karpenter-crds.json",
        karpenter_facts(a.karpenter_src, a.karpenter_ref, a.karpenter_repo),
    )
    if a.driver_src:
        _write(
            a.out, "fargate-driver.json", driver_facts(a.driver_src, a.driver_ref, a.driver_repo)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
