"""Rules another service enforces on values this program passes on: GitLab's runner tags (for
runners the program creates), CloudWatch's alarm topics, and keys a mode leaves unused.

Each check names the upstream rule next to it; called from feasibility.check_all.
"""

from __future__ import annotations

from components.config.model import StackConfig
from components.config.reader import Reader
from components.domain.fleet_rules import topic_region_problem
from components.domain.start_wait_input import sampler_input_problem

# gitlabhq app/models/ci/runner.rb: TAG_LIST_MAX_LENGTH = 50, enforced by `tag_constraints`
# ("Too many tags specified. Please limit the number of tags to 50"), which also refuses an
# empty tag list unless run_untagged ("can not be empty when runner is not allowed to pick
# untagged jobs").
GITLAB_MAX_TAGS = 50


def gitlab_tags(tags: tuple[str, ...]) -> list[str]:
    """The tags GitLab stores for this list: lib/gitlab/ci/tags/parser.rb joins the list with
    ', ' and splits on ','; tag_list.rb `clean!` drops blanks, strips and removes repeats."""
    kept: list[str] = []
    for part in ",".join(tags).split(","):
        tag = part.strip()
        if tag and tag not in kept:
            kept.append(tag)
    return kept


def check_runner_tags(r: Reader, config: StackConfig) -> None:
    """Tags of the runners gitlab.createRunners creates, as GitLab's Ci::Runner reads them."""
    if not config.gitlab.create_runners:
        return
    for i, runner in enumerate(config.runners):
        label = f"runners[{i}] ({runner.name}).tags"
        for tag in runner.tags:
            if not tag.strip():
                r.problem(
                    f"{label}: {tag!r} is blank once GitLab strips it, and GitLab drops it; "
                    "remove it or write the tag's text"
                )
            elif "," in tag:
                parts = ", ".join(repr(p.strip()) for p in tag.split(",") if p.strip())
                r.problem(
                    f"{label}: {tag!r} holds a comma, and GitLab splits tags at commas (into "
                    f"{parts or 'nothing'}); list each tag as its own item"
                )
        kept = gitlab_tags(runner.tags)
        if len(kept) > GITLAB_MAX_TAGS:
            r.problem(
                f"{label}: {len(kept)} tags, but GitLab allows at most {GITLAB_MAX_TAGS} per "
                f"runner (Ci::Runner TAG_LIST_MAX_LENGTH); list {GITLAB_MAX_TAGS} or fewer"
            )
        if not kept and not config.gitlab.run_untagged:
            r.problem(
                f"{label}: no tag is left once GitLab drops blanks and commas, and "
                "gitlab.runUntagged is false: GitLab refuses a runner with no tags that may not "
                "pick untagged jobs; give it a tag (e.g. its name) or set gitlab.runUntagged true"
            )


def check_alert_topic_region(r: Reader, config: StackConfig, region: str) -> None:
    arn = config.alerts.sns_topic_arn
    if arn and config.observability.enabled and not config.alerts.email:
        problem = topic_region_problem(arn, region)
        if problem:
            r.problem(problem)


def check_unused_in_mode(r: Reader, config: StackConfig) -> None:
    """ECS places managers and tasks in the private subnets only; public ones do nothing."""
    if config.mode == "ecs" and config.network.public_subnet_ids:
        r.warn(
            "network.publicSubnetIds is set but ignored in ecs mode (managers and job tasks "
            "use network.privateSubnetIds only); remove it: pulumi config rm --path "
            "network.publicSubnetIds"
        )


def check_sampler_input(r: Reader, config: StackConfig) -> None:
    """The EKS start-wait sampler's schedule input holds every runner (8192 characters)."""
    if config.mode == "eks" and config.observability.enabled:
        r.report(sampler_input_problem(x.name for x in config.runners))


def check_all(r: Reader, config: StackConfig, region: str | None) -> None:
    check_runner_tags(r, config)
    check_sampler_input(r, config)
    if region is not None:
        check_alert_topic_region(r, config, region)
    check_unused_in_mode(r, config)
