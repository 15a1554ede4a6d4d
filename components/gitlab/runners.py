"""The runner tokens both topologies store: from `runnerTokens`, or from runners this program
creates in GitLab (pulumi-gitlab UserRunner) with `gitlab.createRunners`.

Every token is a secret Output that flows only into a mode's secret store (Secrets Manager for
ECS, a Kubernetes Secret for EKS). The managers' stores depend on these tokens, so on
`pulumi destroy` Pulumi deletes the managers before it removes the runners from GitLab.

Two generations live in GitLab: `gitlab.tokenRotation` N gives the managers generation N's
token and keeps generation N-1's runner untouched, so the managers still draining with it
after the rotation (an ECS instance refresh, an EKS pod in its grace period: both outlast
`pulumi up`) can report their jobs. Generation N-2 leaves the program and is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gitlab as gitlab

from components.domain.specs import GitLabSpec, RunnerSpec
from components.naming import type_token

TYPE_TOKEN = type_token("gitlab", "GitLabRunners")
RUNNER_TYPES = {"instance": "instance_type", "group": "group_type", "project": "project_type"}

RunnerTokens = Mapping[str, pulumi.Output[str]]


def api_url(gitlab_url: str) -> str:
    """The provider's base_url: the REST API root, ending in a slash (provider docs)."""
    return f"{gitlab_url.rstrip('/')}/api/v4/"


def maintenance_note(owner: str, generation: int) -> str:
    """Names the runner's token generation: constant for one generation's runner."""
    return (
        f"Managed by Pulumi ({owner}); token generation "
        f"{generation}. Edit the stack config, not this runner."
    )


def generations(settings: GitLabSpec) -> tuple[int, ...]:
    """The token generations kept in GitLab, current first: N and, once there was one, N-1."""
    current = settings.token_rotation
    return (current, current - 1) if current > 0 else (current,)


@dataclass(frozen=True)
class GitLabRunnersArgs:
    gitlab_url: str  # HTTPS URL of the GitLab instance the runners are created in
    # A GitLab access token with the create_runner scope (kept a secret here).
    token: pulumi.Input[str]
    settings: GitLabSpec  # runner type, group/project, locked, paused, rotation...
    runners: tuple[RunnerSpec, ...]  # one GitLab runner (per generation) each, with its tags
    # The fleet's job timeout: GitLab's maximum_timeout, what a stopping manager waits for.
    maximum_timeout_seconds: int
    # Who manages them, "<project>/<stack>" in the stack program: the default description and
    # the maintenance note (constant per generation, or the runner would be replaced).
    owner: str
    # The provider's cacert_file for a GitLab behind a private CA: what
    # `write_provider_ca(ca_bundle)` (components/gitlab/provider_ca.py) returns after writing
    # the PEM text, a path relative to the project directory. None: the deploying machine's
    # trust store.
    cacert_file: str | None = None


def user_runner_args(
    args: GitLabRunnersArgs, runner: RunnerSpec, generation: int
) -> dict[str, Any]:
    """The UserRunner inputs of one runners[] entry and generation (POST /user/runners)."""
    spec = args.settings
    prefix = spec.description or args.owner
    inputs: dict[str, Any] = {
        "runner_type": RUNNER_TYPES[spec.runner_type or "instance"],
        "description": f"{prefix}: {runner.name}",
        "tag_lists": list(runner.tags),
        "untagged": spec.run_untagged,
        "locked": spec.locked,
        "paused": spec.paused,
        "access_level": spec.access_level,
        "maximum_timeout": args.maximum_timeout_seconds,
        "maintenance_note": maintenance_note(args.owner, generation),
    }
    if spec.runner_type == "group":
        inputs["group_id"] = spec.group_id
    if spec.runner_type == "project":
        inputs["project_id"] = spec.project_id
    return inputs


class GitLabRunners(pulumi.ComponentResource):
    """Two GitLab runners per runners[] entry (the current and the previous token
    generation, `{name}-runner-<runner>-g<generation>`), through a provider built from the
    stack's gitlabUrl, gitlabToken and CA file (never from ambient GITLAB_TOKEN settings).
    Only the current generation's token is handed on."""

    tokens: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: GitLabRunnersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        provider = gitlab.Provider(
            f"{name}-provider",
            base_url=api_url(args.gitlab_url),
            token=pulumi.Output.secret(args.token),
            # Only when set: a stack without a CA keeps the provider inputs it always had.
            **({"cacert_file": args.cacert_file} if args.cacert_file else {}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.tokens = {}
        self.runner_ids: dict[str, pulumi.Output[str]] = {}
        current, *previous = generations(args.settings)
        for runner in args.runners:
            created = {
                generation: gitlab.UserRunner(
                    f"{name}-runner-{runner.name}-g{generation}",
                    **user_runner_args(args, runner, generation),
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        provider=provider,
                        additional_secret_outputs=["token"],
                        # A stack from before the generations: its one runner is the
                        # current generation's (the note, and so the token, are unchanged).
                        aliases=(
                            [pulumi.Alias(name=f"{name}-runner-{runner.name}")]
                            if generation == current
                            else []
                        ),
                    ),
                )
                for generation in (current, *previous)
            }
            self.tokens[runner.name] = pulumi.Output.secret(created[current].token)
            self.runner_ids[runner.name] = created[current].id
        self.register_outputs({"runnerIds": self.runner_ids})
