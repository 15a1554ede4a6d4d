"""gitlab.createRunners with gitlab.caBundle: the GitLab provider on the deploying machine
trusts the company CA through a file the program writes (components/gitlab/provider_ca.py).

Upstream facts the tests rely on:
- pulumi-gitlab 10.4.0 takes the CA only as a path, `cacert_file` (pulumi_gitlab/provider.py:
  `cacert_file`, `client_cert`, `client_key` are all "file" inputs); terraform-provider-gitlab
  reads it with os.ReadFile in NewGitLabClient (internal/provider/api/config.go) and has no
  environment variable for it (internal/provider/provider.go, Configure: only GITLAB_TOKEN,
  GITLAB_BASE_URL and GITLAB_EARLY_AUTH_CHECK are read).
- A relative path resolves against the provider's working directory, the project root, the
  same directory the program runs in (pulumi pkg/engine/project.go getPwdMain;
  sdk/go/common/resource/plugin/plugin.go `cmd.Dir = pwd`).
- A changed cacert_file updates the provider in place: pulumi-terraform-bridge's configDiffer
  (pkg/tfbridge/provider.go, DiffConfig) turns a change into a replacement only for a key with
  ForcesProviderReplace, which pulumi-gitlab's provider/resources.go (Config: cacert_file {})
  does not set. Equal strings (the same relative path on every machine) are no change at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config import ConfigError, parse_config
from components.gitlab.provider_ca import PROVIDER_CA_DIR, provider_ca_path, write_provider_ca
from components.offline.mocks import REDACTED, Plan
from components.topology import provider_ca_file
from tests.gitlab.test_runners import PROVIDER, USER_RUNNER, created_config, ecs_plan
from tests.harness import EXAMPLE_CA_BUNDLE, GITLAB_TOKEN_SENTINEL, dev_config, run_program

GROUP = {"runnerType": "group", "groupId": 42}


def ca_config() -> dict[str, object]:
    return created_config({**GROUP, "caBundle": EXAMPLE_CA_BUNDLE})


@pytest.fixture(scope="module")
def ca_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path]:
    """The ECS stack with created runners and a CA bundle, run in its own directory (the
    program writes the provider's CA file into its working directory)."""
    project = tmp_path_factory.mktemp("project")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        return run_program(ca_config()), project


def test_the_provider_reads_the_bundle_from_a_relative_content_addressed_file(
    ca_run: tuple[Plan, Path],
) -> None:
    plan, project = ca_run
    cacert_file = plan.one(PROVIDER).inputs["cacertFile"]
    assert cacert_file == provider_ca_path(EXAMPLE_CA_BUNDLE)
    assert cacert_file.startswith(f"{PROVIDER_CA_DIR}/") and cacert_file.endswith(".pem")
    assert not Path(cacert_file).is_absolute() and str(project) not in cacert_file
    assert (project / cacert_file).read_bytes() == EXAMPLE_CA_BUNDLE.encode()
    assert sorted(p.name for p in (project / PROVIDER_CA_DIR).iterdir()) == [Path(cacert_file).name]


def test_the_ca_file_changes_neither_the_runners_nor_the_token_handling(
    ca_run: tuple[Plan, Path],
) -> None:
    """Only the provider gains an input; the GitLab token stays a secret, and neither the
    token nor any created runner token reaches the CA file or the provider's plain inputs."""
    plan, project = ca_run
    provider = plan.one(PROVIDER)
    assert provider.redacted_inputs["token"] == REDACTED
    assert provider.redacted_inputs["cacertFile"] == provider.inputs["cacertFile"]
    written = (project / provider.inputs["cacertFile"]).read_text()
    assert GITLAB_TOKEN_SENTINEL not in written and "glrt-" not in written
    without = {r.name: r.inputs for r in ecs_plan().all(USER_RUNNER)}
    assert {r.name: r.inputs for r in plan.all(USER_RUNNER)} == without
    assert {k: v for k, v in provider.inputs.items() if k != "cacertFile"} == (
        ecs_plan().one(PROVIDER).inputs
    )


def test_without_a_bundle_the_provider_has_no_ca_input() -> None:
    """Stacks without gitlab.caBundle plan exactly as before (tests/parity too)."""
    assert "cacertFile" not in ecs_plan().one(PROVIDER).inputs
    config, _ = parse_config(created_config(GROUP))
    assert provider_ca_file(config) is None


def test_a_bundle_without_created_runners_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config, _ = parse_config(dev_config(gitlab={"caBundle": EXAMPLE_CA_BUNDLE}))
    assert provider_ca_file(config) is None
    assert not list(tmp_path.iterdir())


def test_the_path_is_the_same_on_every_machine_and_follows_the_content(tmp_path: Path) -> None:
    """Two checkouts get the same provider input (no diff between machines); another bundle
    gets another file, so a run with the old one never reads the new text."""
    first = write_provider_ca(EXAMPLE_CA_BUNDLE, tmp_path / "laptop")
    second = write_provider_ca(EXAMPLE_CA_BUNDLE, tmp_path / "ci-runner" / "builds" / "x")
    assert first == second == provider_ca_path(EXAMPLE_CA_BUNDLE)
    one_cert = EXAMPLE_CA_BUNDLE.split("-----END CERTIFICATE-----")[0]
    one_cert += "-----END CERTIFICATE-----"
    assert provider_ca_path(one_cert) != first
    assert json.dumps(first).count("/") == 1  # '/' on every OS: Go reads it on Windows too


def test_an_unchanged_file_is_not_rewritten_and_a_stale_one_is(tmp_path: Path) -> None:
    relative = write_provider_ca(EXAMPLE_CA_BUNDLE, tmp_path)
    target = tmp_path / relative
    target.write_bytes(b"truncated")
    write_provider_ca(EXAMPLE_CA_BUNDLE, tmp_path)
    assert target.read_bytes() == EXAMPLE_CA_BUNDLE.encode()
    before = target.stat().st_mtime_ns
    write_provider_ca(EXAMPLE_CA_BUNDLE, tmp_path)
    assert target.stat().st_mtime_ns == before
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


def test_a_checkout_it_cannot_write_in_is_refused_naming_the_key_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before any resource is registered (build_stack writes it first). A file where
    the directory belongs stands in for a read-only checkout (the tests may run as root)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / PROVIDER_CA_DIR).write_text("in the way")
    config, _ = parse_config(ca_config())
    with pytest.raises(ConfigError) as caught:
        provider_ca_file(config)
    (problem,) = caught.value.problems
    assert problem.startswith("gitlab.caBundle: cannot write the GitLab provider's CA file")
    assert "writable checkout" in problem
    assert "BEGIN CERTIFICATE" not in problem
