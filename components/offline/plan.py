"""Offline plan: evaluate a stack file without the Pulumi CLI or AWS credentials.

    python -m components.plan --stack dev --set mode=eks --out plan.json

Writes every resource (type, name, parent, inputs) with secrets redacted as "[secret]", the
stack outputs, and the rendered runner files, for policy-as-code checks and for diffing a
change before `pulumi preview`. Ids and ARNs are placeholders (account 123456789012) in the
stack's own `aws:region`. The configuration is checked exactly as `pulumi preview` checks it:
any problem, a broken stack file or a bad `--set` exits with status 2 and a message.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import ConfigError, schema
from components.config.tokens import TOKEN_SET_COMMAND
from components.offline.config_path import SettingError
from components.offline.mocks import CREATED_TOKEN_PREFIX, MOCK_ACCOUNT, REDACTED, Plan, evaluate
from components.offline.stack_file import StackFile, StackFileError, read_stack_file

# Stand-ins for tokens the plan cannot read. They pass the parser's token checks, so they are
# sentinels: the plan refuses to write a document in which one shows up.
STAND_IN_PREFIX = "glrt-offline-plan-sentinel-"
TOKENS = "runnerTokens"
GITLAB_TOKEN = "gitlabToken"
STAND_IN_GITLAB_TOKEN = "glpat-offline-plan-sentinel"
REGION_KEY = "aws:region"
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
REGION_FIX = "pulumi config set aws:region eu-west-1"
ENCRYPTED = "encrypted in the stack file"
MISSING = "not set (--stand-in-tokens)"


def stand_in_token(runner: str) -> str:
    return f"{STAND_IN_PREFIX}{runner}"


@dataclass
class Tokens:
    """What the program gets as runnerTokens, and which entries are stand-ins and why."""

    value: Any = None
    secret: bool = True
    stand_ins: dict[str, str] = field(default_factory=dict)  # config path -> reason


def _runner_names(project: dict[str, Any]) -> list[str]:
    runners = project.get("runners")
    if isinstance(runners, str):
        try:
            runners = json.loads(runners)
        except json.JSONDecodeError:
            return []  # the parser reports it
    if runners is None:
        runners = schema.TOP.default("runners")
    if not isinstance(runners, list | tuple):
        return []
    # Only valid names get stand-ins: the parser reports the others by their index.
    return [
        r["name"]
        for r in runners
        if isinstance(r, dict)
        and isinstance(r.get("name"), str)
        and re.fullmatch(schema.NAME_PATTERN, r["name"])
    ]


def _creates_runners(project: dict[str, Any]) -> bool:
    gitlab = project.get("gitlab")
    return isinstance(gitlab, dict) and str(gitlab.get("createRunners")).lower() == "true"


def plan_gitlab_token(stack_file: StackFile, stand_in_missing: bool) -> Tokens:
    """The GitLab token for stacks that create their runners: encrypted -> stand-in; plain ->
    to the parser, which refuses it; missing -> missing unless `stand_in_missing`."""
    if GITLAB_TOKEN in stack_file.encrypted_paths:
        return Tokens(STAND_IN_GITLAB_TOKEN, True, {GITLAB_TOKEN: ENCRYPTED})
    plain = stack_file.project_config.get(GITLAB_TOKEN)
    if plain is None and stand_in_missing and _creates_runners(stack_file.project_config):
        return Tokens(STAND_IN_GITLAB_TOKEN, True, {GITLAB_TOKEN: MISSING})
    return Tokens(plain, secret=plain is None)


def plan_tokens(stack_file: StackFile, stand_in_missing: bool) -> Tokens:
    """Encrypted tokens get stand-ins; plain ones go to the parser as plain text (which it
    refuses, as preview does); missing ones stay missing unless `stand_in_missing`."""
    names = _runner_names(stack_file.project_config)
    if TOKENS in stack_file.encrypted_paths:  # the whole object was set with --secret
        return Tokens(
            {n: stand_in_token(n) for n in names}, True, {f"{TOKENS}.{n}": ENCRYPTED for n in names}
        )
    plain = stack_file.project_config.get(TOKENS)
    tokens = Tokens(plain, secret=plain is None or plain == {})  # plain entries: parser refuses
    if plain is not None and not isinstance(plain, dict):
        return tokens  # not an object: the parser says so
    value = dict(plain or {})
    for path in stack_file.encrypted_paths:
        if path.startswith(f"{TOKENS}."):
            name = path.split(".")[1]
            value[name] = stand_in_token(name)
            tokens.stand_ins[f"{TOKENS}.{name}"] = ENCRYPTED
    creates = _creates_runners(stack_file.project_config)
    for name in names if stand_in_missing and not creates else ():
        if name not in value:
            value[name] = stand_in_token(name)
            tokens.stand_ins[f"{TOKENS}.{name}"] = MISSING
    tokens.value = value or plain
    return tokens


def plan_problems(stack_file: StackFile, file_name: str) -> list[str]:
    """What the plan itself must refuse: a missing or malformed region, encrypted values it
    has no stand-in for."""
    problems = []
    region = stack_file.other_config.get(REGION_KEY)
    if region is None:
        problems.append(
            f"{REGION_KEY}: not set in plain text in {file_name}; the AWS provider needs the "
            f"region to deploy to: {REGION_FIX}"
        )
    elif not REGION_PATTERN.fullmatch(region):
        problems.append(
            f"{REGION_KEY}: '{region}' is not an AWS region name (like eu-west-1 or "
            f"us-east-1); {REGION_FIX}"
        )
    for path in stack_file.encrypted_paths:
        if path not in (TOKENS, GITLAB_TOKEN) and not path.startswith(f"{TOKENS}."):
            problems.append(
                f"{path}: encrypted (secure:) in {file_name}; the offline plan cannot decrypt it "
                f"and only runner tokens get stand-ins. It is not a secret in this program: set "
                f"it in plain text (pulumi config set --path '{path}' VALUE), or use pulumi preview"
            )
    return problems


def plan_document(
    plan: Plan, stack: str, region: str, tokens: Tokens, settings: Sequence[str]
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
            f"{MOCK_ACCOUNT}; secrets are shown as {REDACTED}"
        ),
        "standInTokens": MISSING in tokens.stand_ins.values(),
        "standInSecrets": tokens.stand_ins,
        "warnings": plan.warnings,
        "resources": resources,
        "outputs": plan.redacted_outputs,
        "renderedFiles": plan.rendered_files,
    }


def run(
    stack: str, project_dir: Path, settings: Sequence[str] = (), stand_in_tokens: bool = False
) -> dict[str, Any]:
    """Evaluate the stack; raises ConfigError with every problem (the plan's and the parser's)."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    stack_file = read_stack_file(path, settings)
    problems = plan_problems(stack_file, path.name)
    tokens = plan_tokens(stack_file, stand_in_tokens)
    gitlab_token = plan_gitlab_token(stack_file, stand_in_tokens)
    config = dict(stack_file.project_config)
    if tokens.value is not None:
        config[TOKENS] = tokens.value
    if gitlab_token.value is not None:
        config[GITLAB_TOKEN] = gitlab_token.value
    tokens.stand_ins.update(gitlab_token.stand_ins)
    secret_keys = (TOKENS,) * tokens.secret + (GITLAB_TOKEN,) * gitlab_token.secret
    extra = dict(stack_file.other_config)
    if problems:
        extra.pop(REGION_KEY, None)  # evaluate anyway, to report the parser's problems too
    try:
        plan = evaluate(
            config,
            stack=stack,
            secret_keys=secret_keys,
            extra_config=extra,
        )
    except ConfigError as error:
        raise ConfigError(problems + error.problems, stack_file.warnings) from None
    if problems:
        raise ConfigError(problems, stack_file.warnings)
    plan.warnings[:0] = stack_file.warnings
    for key, reason in tokens.stand_ins.items():
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
    document = plan_document(plan, stack, extra[REGION_KEY], tokens, settings)
    text = json.dumps(document, default=str)
    if any(v in text for v in (STAND_IN_PREFIX, STAND_IN_GITLAB_TOKEN, CREATED_TOKEN_PREFIX)):
        raise RuntimeError("a secret value escaped redaction; refusing to write the plan")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", default="-", help="output file (default: standard output)")
    parser.add_argument("--project-dir", default=".", type=Path, help="folder with Pulumi.yaml")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, key as in `pulumi config set --path` (repeatable): "
        "mode=eks, 'runners[0].concurrency=50', aws:region=us-east-1",
    )
    parser.add_argument(
        "--stand-in-tokens",
        action="store_true",
        help="plan even though runner tokens are not set (pulumi preview would refuse); "
        'the plan says "standInTokens": true',
    )
    args = parser.parse_args(argv)
    try:
        document = run(args.stack, args.project_dir, args.set, args.stand_in_tokens)
    except (ConfigError, StackFileError) as error:
        print(error, file=sys.stderr)
        return 2
    except SettingError as error:
        print(f"--set {error}", file=sys.stderr)
        return 2
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
    for warning in document["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
