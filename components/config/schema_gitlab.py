"""The GitLab side (runners the program creates) and the S3 build cache, both modes."""

from __future__ import annotations

from components.config.keys import (
    Key,
    Section,
)
from components.domain.trust_rules import CA_BUNDLE_RULE, ca_bundle_shown, check_ca_bundle

GITLAB_RUNNER_TYPES = ("instance", "group", "project")
GITLAB_ACCESS_LEVELS = ("not_protected", "ref_protected")

GITLAB_SECTION = Section(
    "gitlab",
    "The GitLab side: the CA of a self-managed instance, and runners created in GitLab by the "
    "program (opt-in; needs the secret gitlabToken). See docs/gitlab.md.",
    (
        Key(
            "caBundle",
            "string",
            None,
            "PEM certificates of the CA that signed the GitLab server's certificate (a private "
            "CA): the managers, helpers and jobs trust it, and with createRunners the GitLab "
            "provider on the deploying machine (a file in the project directory, see "
            "docs/gitlab.md). Set with: pulumi config set --path "
            'gitlab.caBundle -- "$(cat ca.pem)"',
            check=check_ca_bundle,
            shown=ca_bundle_shown,
            rule=CA_BUNDLE_RULE,
        ),
        Key(
            "createRunners",
            "boolean",
            False,
            "Create one runner in GitLab per runners[] entry (tags, timeout) and remove it on "
            "destroy; runnerTokens is then not used.",
        ),
        Key(
            "runnerType",
            "choice",
            None,
            "Scope of the created runners (required with createRunners).",
            choices=GITLAB_RUNNER_TYPES,
        ),
        Key("groupId", "integer", None, "Numeric group id (runnerType group).", minimum=1),
        Key("projectId", "integer", None, "Numeric project id (runnerType project).", minimum=1),
        Key(
            "description",
            "string",
            "",
            "Description prefix of the created runners.",
            default_doc="`<project>/<stack>`",
        ),
        Key("locked", "boolean", False, "Lock project runners to their project."),
        Key("runUntagged", "boolean", False, "Let the runners pick jobs without tags."),
        Key("paused", "boolean", False, "Create the runners paused (no new jobs)."),
        Key(
            "accessLevel",
            "choice",
            "not_protected",
            "ref_protected: run jobs of protected branches and tags only.",
            choices=GITLAB_ACCESS_LEVELS,
        ),
        Key(
            "tokenRotation",
            "integer",
            0,
            "Token generation: raise it by 1 (at most once per job timeout + 15 min) to move "
            "the managers onto new runners; the previous runners stay until the next rotation.",
            minimum=0,
        ),
    ),
)

CACHE_SECTION = Section(
    "cache",
    "The S3 bucket behind `cache:` in pipelines (distributed runner cache).",
    (
        Key("enabled", "boolean", True, "Create the bucket and point every runner at it."),
        Key(
            "expirationDays",
            "integer",
            14,
            "Days after which cache archives expire.",
            minimum=1,
            maximum=3650,
        ),
    ),
)
