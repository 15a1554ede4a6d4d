"""Pulumi.yaml leaves the state backend to each user, and the README says how to pick one.

The Pulumi CLI takes the backend from PULUMI_BACKEND_URL, then `backend.url` in Pulumi.yaml,
then `pulumi login` (pulumi/pulumi PR 5789; docs "Environment variables", PULUMI_BACKEND_URL):
a `backend.url` in the project file would send every user of a checkout to the same local
folder whatever they logged in to, so a team could not share stacks."""

from __future__ import annotations

import yaml

from tests.harness import ROOT

LOCAL_STATE = "file://~/.pulumi-gitlab-fargate-runners"


def test_the_project_file_forces_no_backend() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert "backend" not in project


def test_the_quick_start_logs_in_to_local_state_and_the_team_options_are_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") : readme.index("### Switching topology")]
    assert f"pulumi login {LOCAL_STATE}" in quick_start
    assert f"PULUMI_BACKEND_URL={LOCAL_STATE}" in quick_start
    assert "--secrets-provider 'awskms://" in quick_start
    for permission in ("s3:ListBucket", "s3:PutObject", "kms:Encrypt", "kms:Decrypt"):
        assert permission in quick_start
    assert "Pulumi Cloud" in quick_start
