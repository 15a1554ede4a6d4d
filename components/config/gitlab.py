"""The `gitlab`, `gitlabToken` and `cache` keys: runners created in GitLab and the S3 cache.

Kept apart from parse.py (which calls these) because the checks span several keys: the
runner type needs its group or project id, createRunners replaces runnerTokens and needs a
secret gitlabToken, and GitLab refuses a runner timeout under ten minutes.
"""

from __future__ import annotations

import re
from typing import Any

from components.config import schema
from components.config.model import CacheSpec, EcsSpec, GitLabSpec, GitLabToken
from components.config.reader import Reader

GITLAB_TOKEN_SET_COMMAND = "pulumi config set --secret gitlabToken <token>"
# GitLab rejects a runner maximum_timeout below 600 s (API and pulumi-gitlab UserRunner).
MIN_RUNNER_TIMEOUT_SECONDS = 600
# Access tokens are 20+ URL-safe characters (glpat- tokens are 26); shorter values are
# placeholders or truncated copies.
GITLAB_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{20,}$")
ID_KEY = {"group": "groupId", "project": "projectId"}


def gitlab_token_problem(value: Any) -> str | None:
    """Why gitlabToken cannot work, or None. Never echoes more than the first characters."""
    if not isinstance(value, str) or not value:
        return (
            "gitlabToken: missing; gitlab.createRunners needs a GitLab access token with the "
            f"create_runner scope (or api): {GITLAB_TOKEN_SET_COMMAND}"
        )
    if value.startswith(schema.RUNNER_TOKEN_PREFIX):
        return (
            f"gitlabToken: the value (starting '{value[:4]}...') is a runner authentication "
            "token; gitlabToken is a personal, group or project access token with the "
            f"create_runner scope: {GITLAB_TOKEN_SET_COMMAND}"
        )
    if not GITLAB_TOKEN_PATTERN.fullmatch(value):
        return (
            f"gitlabToken: the value is a placeholder or a truncated token ({len(value)} "
            "characters, or spaces); copy the whole access token GitLab showed when you "
            f"created it: {GITLAB_TOKEN_SET_COMMAND}"
        )
    return None


def parse_gitlab(
    r: Reader,
    raw: Any,
    raw_token: Any,
    token_is_secret: bool,
    runner_tokens_set: bool,
    mode: str,
    ecs: EcsSpec,
) -> tuple[GitLabSpec, GitLabToken | None]:
    """The typed `gitlab` object and, with createRunners, the checked gitlabToken."""
    spec = GitLabSpec(**schema.GITLAB_SECTION.read(r, "gitlab", raw, mode))
    if not spec.create_runners:
        data = raw if isinstance(raw, dict) else {}
        ignored = sorted(k for k in data if k not in ("createRunners", "caBundle"))
        if ignored:
            r.warn(f"gitlab.{', gitlab.'.join(ignored)}: ignored while gitlab.createRunners is off")
        if raw_token is not None:
            r.warn("gitlabToken is set but not used: gitlab.createRunners is off")
        return spec, None
    if runner_tokens_set:
        r.problem(
            "runnerTokens and gitlab.createRunners are both set: with createRunners the "
            "program creates the runners and their tokens; remove runnerTokens "
            "(pulumi config rm runnerTokens) or set gitlab.createRunners false"
        )
    given = raw if isinstance(raw, dict) else {}
    if spec.runner_type is None and given.get("runnerType") is None:  # a bad one is reported
        r.problem(
            "gitlab.runnerType: required with gitlab.createRunners; set instance, group "
            "(with gitlab.groupId) or project (with gitlab.projectId)"
        )
    for kind, key in ID_KEY.items():
        value = spec.group_id if kind == "group" else spec.project_id
        if spec.runner_type == kind and value is None and given.get(key) is None:
            r.problem(  # a bad id is reported by the schema: one problem, one message
                f"gitlab.{key}: required with gitlab.runnerType {kind}; set the numeric id "
                f"shown on the {kind}'s overview page: pulumi config set --path gitlab.{key} 123"
            )
        if spec.runner_type is not None and spec.runner_type != kind and value is not None:
            r.warn(f"gitlab.{key} is ignored with gitlab.runnerType {spec.runner_type}")
    if mode == "ecs" and ecs.job_timeout_seconds < MIN_RUNNER_TIMEOUT_SECONDS:
        r.problem(
            f"ecs.jobTimeoutSeconds: {ecs.job_timeout_seconds} becomes the created runners' "
            f"maximum timeout, which GitLab requires to be at least {MIN_RUNNER_TIMEOUT_SECONDS}"
            f"; set it to {MIN_RUNNER_TIMEOUT_SECONDS} or more"
        )
    problem = gitlab_token_problem(raw_token)
    if problem:
        r.problem(problem)
        return spec, None
    if not token_is_secret:
        r.problem(
            "gitlabToken: stored in plain text in the stack file; remove it "
            f"(pulumi config rm gitlabToken) and set it again with --secret: "
            f"{GITLAB_TOKEN_SET_COMMAND}"
        )
    return spec, GitLabToken(raw_token)


def parse_cache(r: Reader, raw: Any, mode: str) -> CacheSpec:
    return CacheSpec(**schema.CACHE_SECTION.read(r, "cache", raw, mode))
