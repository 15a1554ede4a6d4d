"""A token rotation (gitlab.tokenRotation + 1) with gitlab.createRunners, both modes: the
previous GitLab runner outlives the drain of the managers that still use its token.

Why ordering alone cannot do it: a replacement deletes the old runner at the end of
`pulumi up`, after the token stores and managers are updated, but neither drain is over then.
ECS: the launch template change starts an instance refresh that AWS runs asynchronously; the
old manager drains for up to ecs.jobTimeoutSeconds after `pulumi up` has returned. EKS: the
Helm release (no skipAwait) waits for the upgraded Deployment's new pod to be Ready (helm
pkg/kube/ready.go, ReadyChecker.deploymentReady counts the new ReplicaSet's ReadyReplicas
only), not for the old pod's terminationGracePeriodSeconds (eks.jobTimeoutSeconds + 300 s).
So the program keeps two generations in GitLab: the managers get the new runner's token, the
previous runner is deleted by the NEXT rotation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.offline.mocks import Plan, created_token
from components.offline.order import removal, replacements
from tests.gitlab.test_runners import EKS_RUNNERS, K8S_SECRET, SECRET_VERSION, created_config
from tests.harness import run_program
from tests.offline.invariants import USER_RUNNER, runners_outlive_drains, token_users

MODES = ("ecs", "eks")
RELEASE = "kubernetes:helm.sh/v3:Release"
UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"
FACTS = json.loads((UPSTREAM / "rotation.json").read_text())


def rotation_config(mode: str, generation: int) -> dict[str, Any]:
    gitlab = {"runnerType": "group", "groupId": 42, "tokenRotation": generation}
    if mode == "ecs":
        return created_config(gitlab)
    return created_config(gitlab, mode="eks", ecs=None, runners=EKS_RUNNERS)


@cache
def plan(mode: str, generation: int) -> Plan:
    return run_program(rotation_config(mode, generation))


def runner_names(p: Plan) -> set[str]:
    return {r.name for r in p.all(USER_RUNNER)}


@pytest.mark.parametrize("mode", MODES)
def test_a_rotation_keeps_the_runner_the_draining_managers_use(mode: str) -> None:
    """Rotation 1 -> 2: the managers draining with generation 1's token keep their runner."""
    before, after = plan(mode, 1), plan(mode, 2)
    assert runners_outlive_drains(before, after) == []
    assert [r for r in replacements(before, after) if r.after.type == USER_RUNNER] == []


@pytest.mark.parametrize("mode", MODES)
def test_a_rotation_retires_the_runner_of_two_generations_ago(mode: str) -> None:
    """Rotation 1 -> 2 creates generation 2, keeps 1 unchanged and deletes 0, whose managers
    drained during the previous rotation."""
    before, after = plan(mode, 1), plan(mode, 2)
    names = {r.name for r in before.all(USER_RUNNER)} | runner_names(after)
    gone = [r.name for wave in removal(before, after) for r in wave if r.type == USER_RUNNER]
    runners = [r["name"] for r in before.outputs["runners"]]
    assert sorted(gone) == sorted(f"gitlab-runner-{n}-g0" for n in runners)
    for name in runners:
        kept = f"gitlab-runner-{name}-g1"
        assert before.one(USER_RUNNER, kept).inputs == after.one(USER_RUNNER, kept).inputs
        assert f"gitlab-runner-{name}-g2" in runner_names(after) <= names


def stored_tokens(mode: str, p: Plan) -> dict[str, str]:
    """{runner: the token its managers use}, from the mode's secret store."""
    if mode == "ecs":
        return json.loads(p.one(SECRET_VERSION).inputs["secretString"])
    return {
        r["name"]: p.one(K8S_SECRET, f"eks-runner-{r['name']}-token").inputs["stringData"][
            "runner-token"
        ]
        for r in p.outputs["runners"]
    }


@pytest.mark.parametrize("mode", MODES)
def test_the_managers_get_the_new_generations_token(mode: str) -> None:
    for generation in (0, 1, 2):
        p = plan(mode, generation)
        assert stored_tokens(mode, p) == {
            r["name"]: created_token(f"gitlab-runner-{r['name']}-g{generation}")
            for r in p.outputs["runners"]
        }


@pytest.mark.parametrize("mode", MODES)
def test_the_first_generation_has_no_previous_runner(mode: str) -> None:
    """Generation 0 is a new stack: no previous runner to keep, so none is created."""
    names = [r["name"] for r in plan(mode, 0).outputs["runners"]]
    assert runner_names(plan(mode, 0)) == {f"gitlab-runner-{n}-g0" for n in names}
    assert runner_names(plan(mode, 1)) == {f"gitlab-runner-{n}-g{g}" for n in names for g in (0, 1)}


@pytest.mark.parametrize("mode", MODES)
def test_only_the_current_runner_feeds_the_token_store(mode: str) -> None:
    """Guards the invariant: it follows the token into the mode's store, and the previous
    generation feeds nothing (its removal by the next rotation strands no manager)."""
    p = plan(mode, 1)
    store = SECRET_VERSION if mode == "ecs" else K8S_SECRET
    users = {r.name: {u.type for u in token_users(p, r)} for r in p.all(USER_RUNNER)}
    for name, types in users.items():
        assert (store in types) == name.endswith("-g1"), (name, types)


@pytest.mark.parametrize("mode", MODES)
def test_a_stack_from_before_the_generations_keeps_its_runner_as_the_current_one(
    mode: str,
) -> None:
    """Upgrading changes no token: the one runner per entry of an older stack
    (`gitlab-runner-<runner>`, same parent) is the current generation's, by alias (an empty
    parentUrn without noParent is "default to current parent": pulumi 3.272.0
    pulumi/runtime/resource.py, create_alias_spec, line 346)."""
    p = plan(mode, 1)
    for runner in (r["name"] for r in p.outputs["runners"]):
        current = p.one(USER_RUNNER, f"gitlab-runner-{runner}-g1")
        assert current.aliases == [{"name": f"gitlab-runner-{runner}", "parentUrn": ""}]
        assert p.one(USER_RUNNER, f"gitlab-runner-{runner}-g0").aliases == []
        # Same note as the pre-generation runner of generation 1: the alias updates nothing.
        assert "token generation 1." in current.inputs["maintenanceNote"]


def test_removing_an_ecs_runner_deletes_a_runner_still_in_use_as_documented() -> None:
    """The one edit the two generations do not cover: a removed runners[] entry keeps no
    runner in GitLab, so the ECS managers refreshed off its token drain after its runners are
    gone. docs/gitlab.md ("Removing a runner") says so and how to avoid it (pause first)."""
    config = rotation_config("ecs", 1)
    config["runners"] = config["runners"][:1]
    problems = runners_outlive_drains(plan("ecs", 1), run_program(config))
    assert problems == [
        "gitlab-runner-fargate-spot-g1 is deleted while the managers of "
        "['ecs-runner-tokens-version'] drain"
    ]


def test_the_eks_upgrade_returns_before_the_old_manager_pod_has_drained() -> None:
    """Why EKS needs the previous runner too: each runner release waits (no skipAwait), and
    that wait is Helm's ready check, which looks at the Deployment's new ReplicaSet only
    (tests/upstream/rotation.json, derived by scripts/rotation_facts.py); the old pod's grace
    period (job timeout + 300 s) also outlasts the release's own timeout."""
    quotes = FACTS["quotes"]
    assert set(quotes) == {
        "release-upgrade-waits-unless-skip-await",
        "deployment-uses-new-replicaset",
        "deployment-ready-counts-the-new-replicaset",
    }
    assert quotes["deployment-ready-counts-the-new-replicaset"]["lines"] == [302]
    assert FACTS["provenance"]["generator"] == "scripts/rotation_facts.py"
    p = plan("eks", 1)
    for runner in (r["name"] for r in p.outputs["runners"]):
        release = p.one(RELEASE, f"eks-runner-{runner}-release")
        assert not release.inputs.get("skipAwait")
        assert release.inputs["timeout"] < 3600 + 300  # eks.jobTimeoutSeconds + 300


SOURCES = ("PULUMI_KUBERNETES_SRC", "HELM_SRC")


@pytest.mark.skipif(
    not all(os.environ.get(v) for v in SOURCES),
    reason="set PULUMI_KUBERNETES_SRC and HELM_SRC to their git directories",
)
def test_the_rotation_facts_are_what_the_generator_derives(tmp_path: Path) -> None:
    """Re-derives tests/upstream/rotation.json from the mirrors at the recorded refs."""
    refs = {
        repo: fact["ref"].split(" ")[0]
        for repo, fact in FACTS["provenance"].items()
        if isinstance(fact, dict)
    }
    out = tmp_path / "rotation.json"
    done = subprocess.run(
        [
            sys.executable,
            "scripts/rotation_facts.py",
            "--kubernetes-src",
            os.environ["PULUMI_KUBERNETES_SRC"],
            "--kubernetes-ref",
            refs["pulumi/pulumi-kubernetes"],
            "--helm-src",
            os.environ["HELM_SRC"],
            "--helm-ref",
            refs["helm/helm"],
            "--out",
            str(out),
        ],
        cwd=UPSTREAM.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == FACTS
