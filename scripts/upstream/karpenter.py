"""Karpenter: the NodePool and EC2NodeClass CRD schemas, reduced to what validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from upstream import GENERATOR

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


def _crd_template(path: Path) -> dict[str, str]:
    """Name, group, kind and plural of a chart template holding one CRD. The karpenter-crd
    templates are plain CRDs plus `{{ ... }}` lines (additionalAnnotations) that add no
    object: drop those lines, then read the YAML."""
    text = "\n".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if "{{" not in line
    )
    crd = yaml.safe_load(text)
    if crd.get("kind") != "CustomResourceDefinition":
        raise SystemExit(f"{path}: not a CustomResourceDefinition")
    return {
        "file": path.name,
        "name": crd["metadata"]["name"],
        "group": crd["spec"]["group"],
        "kind": crd["spec"]["names"]["kind"],
        "plural": crd["spec"]["names"]["plural"],
    }


def karpenter_facts(src: Path, ref: str, repo: str) -> dict[str, Any]:
    crds = src / "pkg" / "apis" / "crds"
    crd_chart = src / "charts" / "karpenter-crd" / "Chart.yaml"
    crd_templates = src / "charts" / "karpenter-crd" / "templates"
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
                "charts/karpenter-crd/templates/",
                "charts/karpenter/crds/",
            ],
            "generator": GENERATOR,
            "note": "Chart.yaml's version in the git tree is not the published one (the release "
            "stamps it); the chart is published at the tag's version. schema subset of "
            "openAPIV3Schema (type, properties, required, enum, items, pattern, min/max*); "
            "x-kubernetes-validations (CEL) dropped. "
            "additionalProperties:false is ADDED wherever an object lists properties and "
            "does not set x-kubernetes-preserve-unknown-fields: the API server would "
            "silently prune such unknown fields, the tests reject them instead.",
        },
        "karpenter_crd_chart": {
            "exists": crd_chart_meta is not None,
            "name": (crd_chart_meta or {}).get("name"),
            "version": str((crd_chart_meta or {}).get("version")),
            # Every CRD the chart templates: what a karpenter-crd release owns (and must adopt
            # on a stack whose CRDs the main chart's crds/ installed).
            "crds": [_crd_template(p) for p in sorted(crd_templates.glob("*.yaml"))],
        },
        "main_chart_crds_dir": sorted(p.name for p in main_crds.glob("*.yaml"))
        if main_crds.exists()
        else [],
        "crds": {
            "NodePool": _crd_schema(crds / "karpenter.sh_nodepools.yaml", "v1"),
            "EC2NodeClass": _crd_schema(crds / "karpenter.k8s.aws_ec2nodeclasses.yaml", "v1"),
        },
    }
