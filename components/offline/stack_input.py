"""What both offline tools (plan and capacity) make of a stack file: one reading, one set of
errors.

Reads `Pulumi.<stack>.yaml` with `--set` applied (components/offline/stack_file.py), puts
stand-ins where runner tokens cannot be read (encrypted, or not set when the tool allows it),
and lists what the tool itself must refuse (no region, encrypted values that are not tokens).
The configuration parser then checks the rest exactly as `pulumi preview` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import read_raw_config, schema
from components.offline.stack_file import StackFile, read_stack_file

# Stand-ins for tokens the tools cannot read. They pass the parser's token checks, so they are
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


@dataclass(frozen=True)
class StackInput:
    """A stack file as the program would get it, plus what the tool itself refuses."""

    config: dict[str, Any]  # project keys without prefix, stand-ins in place of tokens
    secret_keys: tuple[str, ...]  # project keys Pulumi would mark secret
    other_config: dict[str, str]  # other namespaces, e.g. aws:region
    problems: list[str]  # the tool's own refusals; the parser adds its problems to these
    stand_ins: dict[str, str]  # config path -> why a stand-in replaces it
    # Values YAML read differently from how they look, with their lines (stack_file.py).
    warnings: tuple[str, ...] = ()

    @property
    def region(self) -> str | None:
        return self.other_config.get(REGION_KEY)

    def runtime_values(self) -> dict[str, Any]:
        """The project config the way the Pulumi runtime hands it to the program: every value
        a string (structures as JSON), decoded by the parser's own reader."""

        def get(key: str) -> str | None:
            value = self.config.get(key)
            return value if value is None or isinstance(value, str) else json.dumps(value)

        unknown = {k: get(k) for k in self.config if k not in schema.TOP.names}
        return {**read_raw_config(get), **unknown}  # unknown keys: the parser names them


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
    """What the tools themselves must refuse: a missing or malformed region, encrypted values
    they have no stand-in for."""
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
                f"{path}: encrypted (secure:) in {file_name}; the offline tools cannot decrypt "
                f"it and only runner tokens get stand-ins. It is not a secret in this program: "
                f"set it in plain text (pulumi config set --path '{path}' VALUE), or use "
                "pulumi preview"
            )
    return problems


def read_stack_input(
    stack: str, project_dir: Path, settings: Sequence[str] = (), stand_in_tokens: bool = False
) -> StackInput:
    """Read `Pulumi.<stack>.yaml` with `settings` applied; raises StackFileError (the file)
    or SettingError (a `--set`)."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    stack_file = read_stack_file(path, settings)
    tokens = plan_tokens(stack_file, stand_in_tokens)
    gitlab_token = plan_gitlab_token(stack_file, stand_in_tokens)
    config = dict(stack_file.project_config)
    if tokens.value is not None:
        config[TOKENS] = tokens.value
    if gitlab_token.value is not None:
        config[GITLAB_TOKEN] = gitlab_token.value
    return StackInput(
        config=config,
        secret_keys=(TOKENS,) * tokens.secret + (GITLAB_TOKEN,) * gitlab_token.secret,
        other_config=dict(stack_file.other_config),
        problems=plan_problems(stack_file, path.name),
        stand_ins={**tokens.stand_ins, **gitlab_token.stand_ins},
        warnings=stack_file.warnings,
    )
