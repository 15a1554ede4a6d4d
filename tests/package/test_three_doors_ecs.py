"""Issue 24 item 2, one validation behind three doors (ecs mode): the same bad value gets the
same message from the stack file's parser (components/config/parse.py), from the fleets' args
check (components/domain/fleet_rules.py, which EcsFargateRunner runs before it registers
anything) and from the component provider's check before construct
(provider/fleet_provider.py), and its valid neighbour passes all three. Each row is one rule
class, written once as stack keys (tests/package/doors.py `Case`); the plugin has an input for
every setting of a spec (provider/fleet_args.py), so every row goes through all three doors.
"""

from __future__ import annotations

import pytest

from components.domain.specs import DEFAULT_ECS_JOB_IMAGE
from tests.package.doors import (
    Case,
    one_message_per_door,
    passes_every_door,
    runner,
    setting,
    task_definition,
)

ARM_ENTRY = {"name": "debian", "image": DEFAULT_ECS_JOB_IMAGE, "architecture": "arm64"}
ADMIN = "arn:aws:iam::123456789012:role/admin"
ENTRY = {"name": "d", "image": "d"}
POLICIES = [f"arn:aws:iam::aws:policy/P{i}" for i in range(11)]
# (rule class, a case with a bad value, the start of the one message every door gives).
BAD: list[tuple[str, Case, str]] = [
    (
        "concurrency",
        runner("ecs", concurrency=0),
        "runners[0] (build).concurrency: 0 is out of range; use a value between 1 and 2000",
    ),
    (
        "lane-ecs",
        runner("ecs", lane="privileged"),
        "runners[0] (build).lane: 'privileged' is not available in ecs mode",
    ),
    (
        "requestConcurrency",
        runner("ecs", requestConcurrency=101),
        "runners[0] (build).requestConcurrency: 101 is out of range; use a value between 1 and 100",
    ),
    (
        "duplicate-runner",
        Case("ecs", ({"name": "build"}, {"name": "build"})),
        "runners: the name 'build' is used more than once; names must be unique",
    ),
    (
        "taskDefinition",
        runner("ecs", taskDefinition="nope"),
        "runners[0] (build).taskDefinition: 'nope' is not in ecs.taskDefinitions",
    ),
    (
        "task-fargate-size",
        task_definition(memory=1000),
        "ecs.taskDefinitions[0] (d): cpu 1024 / memory 1000 is not a valid Fargate size",
    ),
    (
        "task-cpu",
        task_definition(cpu=128),
        "ecs.taskDefinitions[0] (d).cpu: 128 is out of range; use a value >= 256",
    ),
    (
        "task-architecture",
        task_definition(architecture="amd64"),
        "ecs.taskDefinitions[0] (d).architecture: 'amd64' is not one of x86_64 | arm64",
    ),
    (
        "task-storage",
        task_definition(ephemeralStorageGiB=500),
        "ecs.taskDefinitions[0] (d).ephemeralStorageGiB: 500 is out of range; use a value between",
    ),
    (
        "task-arm64-image",
        setting("ecs", taskDefinitions=[ARM_ENTRY]),
        f"ecs.taskDefinitions[0] (debian).image: '{DEFAULT_ECS_JOB_IMAGE}' is GitLab's example",
    ),
    (
        "maxJobsPerManager",
        setting("ecs", maxJobsPerManager=500),
        "ecs.maxJobsPerManager: 500 is out of range; use a value between 1 and 250",
    ),
    (
        "runnerVersion",
        setting("ecs", runnerVersion="v19.3.0"),
        "ecs.runnerVersion: 'v19.3.0' is not valid; use a release number such as 19.3.0",
    ),
    (
        "runnerVersion-release",
        setting("ecs", runnerVersion="15.9.0"),
        "ecs.runnerVersion: '15.9.0' is older than 15.10",
    ),
    (
        "ecs-jobTimeout",
        setting("ecs", jobTimeoutSeconds=30),
        "ecs.jobTimeoutSeconds: 30 is out of range; use a value between 60 and 86400",
    ),
    (
        "logRetentionDays",
        Case("ecs", top={"logRetentionDays": 2}),
        "logRetentionDays: 2 is not one of 0 | 1 | 3 | 5 | 7 | 14 | 30 |",
    ),
    (
        "requestConcurrency-above",
        runner("ecs", concurrency=2, requestConcurrency=3),
        "runners[0] (build).requestConcurrency: 3 is above the runner's concurrency 2",
    ),
    (
        "task-roles",
        task_definition(taskRolePolicyArns=POLICIES),
        "ecs.taskDefinitions[0] (d).taskRolePolicyArns: 11 policies, but IAM attaches at most 10",
    ),
    (
        "driverVersion",
        setting("ecs", driverVersion="v0.5.0"),
        "ecs.driverVersion: 'v0.5.0' is too old",
    ),
    (
        "managerInstanceType-arm64",
        setting("ecs", managerInstanceType="m7g.large"),
        "ecs.managerInstanceType: 'm7g.large' is an arm64 (Graviton) instance type",
    ),
    (
        "managerInstanceType-small",
        Case(
            "ecs",
            ({"name": "build", "concurrency": 200},),
            section={"managerInstanceType": "t3.nano"},
        ),
        "ecs.managerInstanceType: 't3.nano' carries about",
    ),
    (
        "platformVersion",
        setting("ecs", platformVersion="1.3.0"),
        "ecs.platformVersion: '1.3.0' is not valid; use 1.4.0 or LATEST",
    ),
    (
        "ecs-checkInterval",
        setting("ecs", checkInterval=0),
        "ecs.checkInterval: 0 is out of range; use a value between 1 and 3600",
    ),
    (
        "runnerSha256",
        setting("ecs", runnerSha256="ABC"),
        "ecs.runnerSha256: 'ABC' is not valid; use the 64 lowercase hex digits",
    ),
    (
        "driverSha256",
        setting("ecs", driverSha256="0" * 63),
        f"ecs.driverSha256: '{'0' * 63}' is not valid; use the 64 lowercase hex digits",
    ),
    (
        "managerAmiParameter",
        setting("ecs", managerAmiParameter="/aws/service/ami-amazon-linux-latest/x"),
        "ecs.managerAmiParameter: '/aws/service/ami-amazon-linux-latest/x' is not valid",
    ),
    (
        "sshUsername",
        setting("ecs", sshUsername="Root"),
        "ecs.sshUsername: 'Root' is not valid; use the user the job image's sshd accepts",
    ),
    (
        "task-image",
        setting("ecs", taskDefinitions=[{"name": "d", "image": "Debian:12"}]),
        "ecs.taskDefinitions[0] (d).image: 'Debian:12' is not a valid image reference",
    ),
    (
        "task-credentials",
        task_definition(repositoryCredentialsArn="x"),
        "ecs.taskDefinitions[0] (d).repositoryCredentialsArn: 'x' is not an ARN",
    ),
    (
        "task-policy-arn",
        task_definition(taskRolePolicyArns=[ADMIN]),
        f"ecs.taskDefinitions[0] (d).taskRolePolicyArns: '{ADMIN}' is an ARN of a iam role",
    ),
    (
        "task-environment-name",
        task_definition(environment={"MY-VAR": "1"}),
        "ecs.taskDefinitions[0] (d).environment.MY-VAR: not a valid variable name",
    ),
    (
        "task-environment-reserved",
        task_definition(environment={"SSH_PUBLIC_KEY": "k"}),
        "ecs.taskDefinitions[0] (d).environment.SSH_PUBLIC_KEY: reserved",
    ),
]
# Valid neighbours: at the edge of each rule, accepted by every door.
GOOD: list[tuple[str, Case]] = [
    (
        "ecs-edges",
        Case(
            "ecs",
            ({"name": "build", "concurrency": 2000, "requestConcurrency": 100},),
            section={
                "maxJobsPerManager": 250,
                "runnerVersion": "19.3.0",
                "jobTimeoutSeconds": 60,
                "taskDefinitions": [
                    {
                        "name": "d",
                        "image": "registry.example.com/coordinator:1",
                        "cpu": 256,
                        "memory": 512,
                        "ephemeralStorageGiB": 200,
                        "architecture": "arm64",
                    },
                ],
            },
            top={"logRetentionDays": 3653},
        ),
    ),
    (
        "ecs-spot",
        Case("ecs", ({"name": "build", "lane": "spot"},), top={"logRetentionDays": 0}),
    ),
    (
        "ecs-settings",
        Case(
            "ecs",
            ({"name": "build", "concurrency": 20, "requestConcurrency": 20},),
            section={
                "driverVersion": "v0.5.1",
                "managerInstanceType": "m6i.large",
                "platformVersion": "LATEST",
                "checkInterval": 3600,
                "sshUsername": "root",
                "managerAmiParameter": "/aws/service/ami-amazon-linux-latest/"
                "al2023-ami-kernel-6.12-x86_64",
            },
        ),
    ),
]


@pytest.mark.parametrize(("rule", "case", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_value_gets_one_message_through_every_door(
    rule: str, case: Case, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_message_per_door(case, message, monkeypatch)


@pytest.mark.parametrize(("name", "case"), GOOD, ids=[g[0] for g in GOOD])
def test_a_valid_neighbour_passes_every_door(
    name: str, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes_every_door(case, monkeypatch)
