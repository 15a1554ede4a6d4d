"""Offline plan: evaluate a stack file without the Pulumi CLI or AWS credentials.

    venv/bin/python -m components plan --stack dev --stand-in-tokens --set mode=eks --out plan.json

Writes every resource (type, name, parent, inputs) with secrets redacted as "[secret]", the
stack outputs, and the rendered runner files, for policy-as-code checks and for diffing a
change before `pulumi preview`. Ids and ARNs are placeholders (account 123456789012) in the
stack's own `aws:region`. The configuration is checked exactly as `pulumi preview` checks it:
any problem, a broken stack file or a bad `--set` exits with status 2 and a message.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from components.config import ConfigError
from components.config.tokens import TOKEN_SET_COMMAND
from components.offline.command import add_stack_arguments, print_warnings, report_bad_input
from components.offline.mocks import CREATED_TOKEN_PREFIX, MOCK_ACCOUNT, REDACTED, Plan, evaluate
from components.offline.stack_input import (
    GITLAB_TOKEN,
    MISSING,
    REGION_KEY,
    STAND_IN_GITLAB_TOKEN,
    STAND_IN_PREFIX,
    TOKENS,
    read_stack_input,
)
from components.offline.stand_ins import input_warnings, mark, mark_quota_problems
from components.preflight import FAIL_ON_QUOTA, QuotaError

PROG = "python -m components.plan"


def plan_document(
    plan: Plan, stack: str, region: str, stand_ins: dict[str, str], settings: Sequence[str]
) -> dict[str, Any]:
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
        "region": region,
        "settings": list(settings),
        "note": (
            "offline evaluation under mocks: ids end in -mock-id, ARNs use account "
            f"{MOCK_ACCOUNT}; secrets are shown as {REDACTED}; what AWS would say about your "
            "account (quotas, an existing subnet's free IPs, an existing VPC's CIDR) is the "
            "mocks' stand-in answer, listed under standInAnswers and marked in the warnings "
            "that use it: pulumi preview reads the real values"
        ),
        "standInAnswers": [s.text for s in plan.stand_ins],
        "standInTokens": MISSING in stand_ins.values(),
        "standInSecrets": stand_ins,
        "warnings": plan.warnings,
        "resources": resources,
        "outputs": plan.redacted_outputs,
        "renderedFiles": plan.rendered_files,
    }


def run(
    stack: str, project_dir: Path, settings: Sequence[str] = (), stand_in_tokens: bool = False
) -> dict[str, Any]:
    """Evaluate the stack; raises ConfigError with every problem (the plan's and the parser's)."""
    stack_input = read_stack_input(stack, project_dir, settings, stand_in_tokens)
    problems = stack_input.problems
    extra = dict(stack_input.other_config)
    if problems:
        extra.pop(REGION_KEY, None)  # evaluate anyway, to report the parser's problems too
    try:
        plan = evaluate(
            stack_input.config,
            stack=stack,
            secret_keys=stack_input.secret_keys,
            extra_config=extra,
        )
    except ConfigError as error:
        if isinstance(error, QuotaError):  # decided on the mocks' quotas: say so
            marked = mark_quota_problems(error.problems)
            error = QuotaError([p.removeprefix(f"{FAIL_ON_QUOTA}: ") for p in marked])
        if not problems and not stack_input.warnings:
            raise error from None  # keeps its own wording (preflight.failOnQuota)
        raise ConfigError(problems + error.problems, stack_input.warnings) from None
    if problems:
        raise ConfigError(problems, stack_input.warnings)
    plan.warnings[:] = [*stack_input.warnings, *mark(plan.warnings, plan.stand_ins)]
    plan.warnings += input_warnings(
        [(r.name, r.inputs) for r in plan.resources if r.custom], plan.stand_ins
    )
    for key, reason in stack_input.stand_ins.items():
        if reason == MISSING:
            fix = (
                TOKEN_SET_COMMAND.format(name=key.split(".")[1])
                if key.startswith(f"{TOKENS}.")
                else f"pulumi config set --secret {GITLAB_TOKEN} <token>"
            )
            plan.warnings.append(
                f"{key}: not set; this plan uses a stand-in (--stand-in-tokens) and pulumi "
                f"preview would refuse the stack: {fix}"
            )
    document = plan_document(plan, stack, extra[REGION_KEY], stack_input.stand_ins, settings)
    text = json.dumps(document, default=str)
    if any(v in text for v in (STAND_IN_PREFIX, STAND_IN_GITLAB_TOKEN, CREATED_TOKEN_PREFIX)):
        raise RuntimeError("a secret value escaped redaction; refusing to write the plan")
    return document


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--out", default="-", help="output file (default: standard output)")
    parser.add_argument(
        "--stand-in-tokens",
        action="store_true",
        help="plan even though runner tokens are not set (pulumi preview would refuse); "
        'the plan says "standInTokens": true',
    )


def execute(args: argparse.Namespace) -> int:
    """Run the plan for parsed arguments: exit status 0, or 2 for bad input."""
    return report_bad_input(lambda: _write(args))


def _write(args: argparse.Namespace) -> int:
    document = run(args.stack, args.project_dir, args.set, args.stand_in_tokens)
    text = json.dumps(document, indent=2, sort_keys=True, default=str)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text + "\n")
        print(
            f"wrote {args.out}: {len(document['resources'])} resources, "
            f"{len(document['renderedFiles'])} rendered files ({document['region']})",
            file=sys.stderr,
        )
    print_warnings(document["warnings"])
    return 0


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return execute(parser.parse_args(argv))
