"""The gitlab-runner Helm chart: values keys and defaults, what the templates read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from upstream import GENERATOR
from upstream.go_structs import first_line


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
            "generator": GENERATOR,
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
            "checksum_secrets_condition": first_line(deployment, "checksum/secrets", before=1),
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
        # How runners.config reaches the runner: the ConfigMap key it renders into, and the
        # register script merging that file into config.toml.
        "configmap": {
            "config_template_line": first_line(configmap, "config.template.toml:"),
            "register_uses_template_config": "--template-config /configmaps/config.template.toml"
            in configmap,
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
