"""Runner tokens: what makes one usable, and reading the runnerTokens object. Shared by the
parser and the offline plan, so the two refuse exactly the same values."""

from __future__ import annotations

import re
from typing import Any

from components.config import schema
from components.config.model import RunnerToken
from components.config.reader import Reader, did_you_mean

# A GitLab runner authentication token: glrt-, an optional "t<n>_" partition prefix, and at
# least 20 URL-safe characters. Shorter values are placeholders or truncated copies.
RUNNER_TOKEN_PATTERN = re.compile(r"^glrt-[A-Za-z0-9_-]{20,}$")
REGISTRATION_TOKEN_PREFIX = "GR1348941"
TOKEN_SET_COMMAND = "pulumi config set --secret --path 'runnerTokens.{name}' glrt-<token>"


def token_problem(name: str, value: Any) -> str | None:
    """Why a runner token cannot work, or None. Never echoes more than the first characters."""
    command = TOKEN_SET_COMMAND.format(name=name)
    if not isinstance(value, str) or not value:
        return (
            f"runnerTokens.{name}: missing; create the runner in GitLab (Settings > CI/CD > "
            f"Runners > New runner) and set its token: {command}"
        )
    if not value.startswith(schema.RUNNER_TOKEN_PREFIX):
        kind = (
            "a registration token (deprecated)"
            if value.startswith(REGISTRATION_TOKEN_PREFIX)
            else "not a runner token"
        )
        return (
            f"runnerTokens.{name}: the value (starting '{value[:4]}...') is {kind}; this "
            f"program needs the runner authentication token starting "
            f"'{schema.RUNNER_TOKEN_PREFIX}' that GitLab shows when you create a runner: {command}"
        )
    if not RUNNER_TOKEN_PATTERN.fullmatch(value):
        return (
            f"runnerTokens.{name}: the value is a placeholder or a truncated token ({len(value)} "
            "characters; a runner token is glrt- followed by at least 20 letters, digits, '-' "
            f"or '_'); copy the whole token GitLab shows when you create the runner: {command}"
        )
    return None


def parse_tokens(
    r: Reader,
    raw: Any,
    runner_names: list[str],
    tokens_are_secret: bool,
    refused_names: tuple[str, ...] = (),
) -> tuple[tuple[str, RunnerToken], ...]:
    """The token of every runner in `runner_names`. A token under a name that was refused
    (`refused_names`) is not reported again: the name's own problem says what to fix."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        r.problem(
            "runnerTokens: expected an object of runner name -> glrt- token; set each with "
            + TOKEN_SET_COMMAND.format(name="<runner>")
        )
        return ()
    if raw and not tokens_are_secret:
        r.problem(
            "runnerTokens: stored in plain text in the stack file; remove it "
            "(pulumi config rm runnerTokens) and set each token again with --secret: "
            + TOKEN_SET_COMMAND.format(name="<runner>")
        )
    tokens = []
    for name in runner_names:
        problem = token_problem(name, raw.get(name))
        if problem:
            r.problem(problem)
        else:
            tokens.append((name, RunnerToken(raw[name])))
    for name in raw:
        if name not in runner_names and name not in refused_names:
            hint = did_you_mean(name, runner_names, "remove it")
            r.problem(f"runnerTokens.{name}: no runner named '{name}'; {hint}")
    return tuple(tokens)
