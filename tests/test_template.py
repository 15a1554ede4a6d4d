"""`pulumi new <repository URL>`: Pulumi.yaml's `template:` section asks for what a new stack
cannot default (region, topology, GitLab URL) and offers the program's own defaults."""

from __future__ import annotations

import yaml

from components.config import schema
from tests.harness import ROOT

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_the_template_prompts_for_region_mode_and_gitlab_url() -> None:
    prompts = PROJECT["template"]["config"]
    assert list(prompts) == ["aws:region", "mode", "gitlabUrl"]
    assert all(p["description"] for p in prompts.values())


def test_template_defaults_are_the_programs() -> None:
    top = {k.name: k for k in schema.TOP.keys}
    for key, prompt in PROJECT["template"]["config"].items():
        if key.startswith("aws:"):
            continue
        assert key in top, f"template key {key} is not a config key"
        assert prompt["default"] == top[key].default, key
        if top[key].choices:
            assert prompt["default"] in top[key].choices
