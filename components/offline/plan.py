"""Offline plan: evaluate a stack file without the Pulumi CLI or AWS credentials.

    python -m components.plan --stack dev --out plan.json

Writes every resource (type, name, parent, inputs) with secrets redacted as "[secret]", the
stack outputs, and the rendered runner files, for policy-as-code checks and for diffing a
change before `pulumi preview`. Ids and ARNs are placeholders (account 123456789012).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from components.config import ConfigError
from components.offline.mocks import CREATED_TOKEN_PREFIX, MOCK_ACCOUNT, REDACTED, Plan, evaluate
from components.offline.stack_file import read_stack_file

# A sentinel stand-in for the encrypted tokens; the plan refuses to write if it shows up.
PLACEHOLDER_TOKEN = "glrt-offline-plan-sentinel"
PLACEHOLDER_GITLAB_TOKEN = "glpat-offline-plan-sentinel"


def plan_document(plan: Plan, stack: str, placeholders: list[str]) -> dict[str, Any]:
    by_urn = {r.urn: r for r in plan.resources}
    resources = []
    for resource in plan.resources:
        parent = by_urn.get(resource.parent or "")
        resources.append(
            {
                "type": resource.type,
                "name": resource.name,
                "parent": parent.name if parent else None,
                "inputs": resource.redacted_inputs,
            }
        )
    return {
        "stack": stack,
        "note": (
            "offline evaluation under mocks: ids end in -mock-id, ARNs use account "
            f"{MOCK_ACCOUNT}; secrets are shown as {REDACTED}"
        ),
        "placeholderSecrets": placeholders,
        "warnings": plan.warnings,
        "resources": resources,
        "outputs": plan.redacted_outputs,
        "renderedFiles": plan.rendered_files,
    }


def run(stack: str, project_dir: Path) -> dict[str, Any]:
    stack_file = read_stack_file(project_dir / f"Pulumi.{stack}.yaml")
    config = dict(stack_file.project_config)
    runners = config.get("runners") or [{"name": "fargate"}]
    # Tokens are encrypted in the stack file (or not set yet): stand in valid-looking secrets.
    gitlab = config.get("gitlab")
    if isinstance(gitlab, dict) and str(gitlab.get("createRunners")).lower() == "true":
        config["gitlabToken"] = PLACEHOLDER_GITLAB_TOKEN
        placeholders = ["gitlabToken"]
    else:
        names = [r.get("name") for r in runners if isinstance(r, dict)]
        config["runnerTokens"] = {
            n: f"{PLACEHOLDER_TOKEN}-{n}" for n in names if isinstance(n, str)
        }
        placeholders = [f"runnerTokens.{n}" for n in config["runnerTokens"]]
    plan = evaluate(config, stack=stack, extra_config=stack_file.other_config)
    document = plan_document(plan, stack, placeholders)
    text = json.dumps(document, default=str)
    leaked = (PLACEHOLDER_TOKEN, PLACEHOLDER_GITLAB_TOKEN, CREATED_TOKEN_PREFIX)
    if any(value in text for value in leaked):
        raise RuntimeError("a secret value escaped redaction; refusing to write the plan")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", default="-", help="output file (default: standard output)")
    parser.add_argument("--project-dir", default=".", type=Path, help="folder with Pulumi.yaml")
    args = parser.parse_args(argv)
    try:
        document = run(args.stack, args.project_dir)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    text = json.dumps(document, indent=2, sort_keys=True, default=str)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text + "\n")
        print(
            f"wrote {args.out}: {len(document['resources'])} resources, "
            f"{len(document['renderedFiles'])} rendered files",
            file=sys.stderr,
        )
    for warning in document["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
