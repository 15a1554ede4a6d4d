"""Test helpers: run the whole program under the shared recording mocks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from components.offline.mocks import Plan, evaluate
from components.offline.stack_file import read_stack_file

ROOT = Path(__file__).resolve().parent.parent
DEV_STACK = ROOT / "Pulumi.dev.yaml"
# Obvious test sentinels: a test fails if one shows up anywhere but where a secret belongs.
SENTINEL_PREFIX = "glrt-SENTINEL-"
# The example's runner tokens as `pulumi config set --secret` stores them: encrypted text no
# offline tool can read (appended to a copy of the example stack file).
SECURE_TOKENS = """\
  gitlab-fargate-runners:runnerTokens:
    fargate:
      secure: v1:c2VjdXJlLWZhcmdhdGU=
    fargate-spot:
      secure: v1:c2VjdXJlLWZhcmdhdGUtc3BvdA==
"""


# The GitLab access token's sentinel (gitlab.createRunners): as obvious, and as leak-checked.
GITLAB_TOKEN_SENTINEL = "glpat-SENTINEL-gitlab-do-not-leak"


def sentinel(runner: str) -> str:
    return f"{SENTINEL_PREFIX}{runner}-do-not-leak"


# The example stack's project config by the file's text: parsed once per session, not for
# each of the ~300 configs the tests build from it.
_PARSED: dict[str, dict[str, Any]] = {}


def dev_config(**overrides: Any) -> dict[str, Any]:
    """The example stack's project config (top-level values as the text the Pulumi CLI
    passes, e.g. "30"), with sentinel tokens for its runners. An override of None deletes
    the key: a null value is a config error, not "unset"."""
    text = DEV_STACK.read_text()
    if text not in _PARSED:
        _PARSED[text] = read_stack_file(DEV_STACK).project_config
    config = copy.deepcopy(_PARSED[text])
    config.update(copy.deepcopy(overrides))
    for key in [k for k, v in overrides.items() if v is None]:
        del config[key]
    runners = config.get("runners") or [{"name": "fargate"}]
    config.setdefault("runnerTokens", {r["name"]: sentinel(r["name"]) for r in runners})
    return config


# A company's own GitLab behind a private CA and a proxy (issue 27): two self-signed test CA
# certificates (no key anywhere), a proxy without credentials and one extra bypass.
EXAMPLE_CA_BUNDLE = (ROOT / "tests" / "example-ca.pem").read_text().strip()
COMPANY_GITLAB_URL = "https://gitlab.corp.example"
COMPANY_PROXY = "http://proxy.corp.example:3128"


def company_config(**overrides: Any) -> dict[str, Any]:
    """The example stack pointed at a self-managed GitLab with caBundle and httpProxy set."""
    config = dev_config(**overrides)
    config["gitlabUrl"] = COMPANY_GITLAB_URL
    config["gitlab"] = {**config.get("gitlab", {}), "caBundle": EXAMPLE_CA_BUNDLE}
    config["network"] = {
        **config["network"],
        "httpProxy": COMPANY_PROXY,
        "noProxy": [".intranet.example"],
    }
    return config


def run_program(config: dict[str, Any], stack: str = "dev") -> Plan:
    """Evaluate the program for a config dict; fresh mock state every call."""
    return evaluate(config, stack=stack)


# Plans of equal configs, evaluated once per session (per xdist worker): see shared_plan.
_SHARED: dict[str, Plan] = {}


def shared_plan(config: dict[str, Any], stack: str = "dev") -> Plan:
    """The plan of `config`, evaluated once per session for every test (in any module) that
    builds an equal config and only reads the plan (a test that edits one deep-copies it).
    Not for tests that patch the mocks or the program: the key is the config alone."""
    key = json.dumps([config, stack], sort_keys=True, default=str)
    if key not in _SHARED:
        _SHARED[key] = run_program(config, stack)
    return _SHARED[key]


def text_of(plan: Plan) -> str:
    """Every recorded input and output as one string, secrets revealed: for leak checks."""
    return json.dumps(
        [r.inputs for r in plan.resources] + [plan.outputs], default=str, sort_keys=True
    )
