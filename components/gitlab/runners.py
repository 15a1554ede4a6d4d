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

from components.config import RunnerSpec, StackConfig
from components.naming import PROJECT, type_token

TYPE_TOKEN = type_token("gitlab", "GitLabRunners")
RUNNER_TYPES = {"instance": "instance_type", "group": "group_type", "project": "project_type"}

RunnerTokens = Mapping[str, pulumi.Output[str]]


def api_url(gitlab_url: str) -> str:
    """The provider's base_url: the REST API root, ending in a slash (provider docs)."""
    return f"{gitlab_url.rstrip('/')}/api/v4/"


def maximum_timeout(config: StackConfig) -> int:
    """The longest job GitLab gives these runners: what a stopping manager waits for.

    ECS: ecs.jobTimeoutSeconds; EKS: eks.jobTimeoutSeconds. Each is what a stopping manager
    waits for (there is no run_exec_timeout), so a job GitLab lets run longer would be cut."""
    if config.mode == "ecs":
        return config.ecs.job_timeout_seconds
    return config.eks.job_timeout_seconds


def maintenance_note(stack: str, generation: int) -> str:
    """Names the runner's token generation: constant for one generation's runner."""
    return (
        f"Managed by Pulumi ({PROJECT}/{stack}); token generation "
        f"{generation}. Edit the stack config, not this runner."
    )


def generations(config: StackConfig) -> tuple[int, ...]:
    """The token generations kept in GitLab, current first: N and, once there was one, N-1."""
    current = config.gitlab.token_rotation
    return (current, current - 1) if current > 0 else (current,)


def user_runner_args(
    config: StackConfig, runner: RunnerSpec, stack: str, generation: int
) -> dict[str, Any]:
    """The UserRunner inputs of one runners[] entry and generation (POST /user/runners)."""
    spec = config.gitlab
    prefix = spec.description or f"{PROJECT}/{stack}"
    args: dict[str, Any] = {
        "runner_type": RUNNER_TYPES[spec.runner_type or "instance"],
        "description": f"{prefix}: {runner.name}",
        "tag_lists": list(runner.tags),
        "untagged": spec.run_untagged,
        "locked": spec.locked,
        "paused": spec.paused,
        "access_level": spec.access_level,
        "maximum_timeout": maximum_timeout(config),
        "maintenance_note": maintenance_note(stack, generation),
    }
    if spec.runner_type == "group":
        args["group_id"] = spec.group_id
    if spec.runner_type == "project":
        args["project_id"] = spec.project_id
    return args


@dataclass(frozen=True)
class GitLabRunnersArgs:
    config: StackConfig  # runners[], gitlab.*, gitlabUrl and the (secret) gitlabToken


class GitLabRunners(pulumi.ComponentResource):
    """Two GitLab runners per runners[] entry (the current and the previous token
    generation, `{name}-runner-<runner>-g<generation>`), through a provider built from the
    stack's gitlabUrl and gitlabToken (never from ambient GITLAB_TOKEN settings). Only the
    current generation's token is handed on."""

    tokens: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: GitLabRunnersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        config = args.config
        if config.gitlab_token is None:
            raise ValueError("gitlab.createRunners needs gitlabToken (checked by the config)")
        provider = gitlab.Provider(
            f"{name}-provider",
            base_url=api_url(config.gitlab_url),
            token=pulumi.Output.secret(config.gitlab_token.value),
            opts=pulumi.ResourceOptions(parent=self),
        )
        stack = pulumi.get_stack()
        self.tokens = {}
        self.runner_ids: dict[str, pulumi.Output[str]] = {}
        current, *previous = generations(config)
        for runner in config.runners:
            created = {
                generation: gitlab.UserRunner(
                    f"{name}-runner-{runner.name}-g{generation}",
                    **user_runner_args(config, runner, stack, generation),
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


def configured_tokens(config: StackConfig) -> RunnerTokens:
    """{runner name: secret token} from runnerTokens (runners created by hand in GitLab)."""
    return {r.name: pulumi.Output.secret(config.token_for(r.name).value) for r in config.runners}
