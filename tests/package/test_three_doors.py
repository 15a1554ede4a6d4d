"""Issue 24 item 2, one validation behind three doors: the same bad value gets the same
message from the stack file's parser (components/config/parse.py), from the fleets' args check
(components/domain/fleet_rules.py, which EcsFargateRunner and EksFargateRunner run before they
register anything) and from the component provider's check before construct
(provider/fleet_provider.py), and its valid neighbour passes all three.

Each row is one rule class, written once as stack keys (tests/package/doors.py `Case`); the
package's specs and the plugin's inputs are derived from it. A door that has no input for a
key is skipped: the plugin takes only the settings in provider/fleet_args.py.
"""

from __future__ import annotations

import pytest

from components.domain.specs import DEFAULT_ECS_JOB_IMAGE
from tests.package.doors import Case

ARM_ENTRY = {"name": "debian", "image": DEFAULT_ECS_JOB_IMAGE, "architecture": "arm64"}
BIG_SPOT = {"name": "build", "lane": "spot", "cpu": 8192, "memory": 16384}
ARM_SPOT = {"name": "build", "lane": "spot", "architecture": "arm64"}
POLICIES = [f"arn:aws:iam::aws:policy/P{i}" for i in range(11)]
# (rule class, a case with a bad value, the start of the one message every door gives).
BAD: list[tuple[str, Case, str]] = [
    ("name", Case("ecs", ({"name": "Build_1"},)), "runners[0].name: 'Build_1' is not a valid"),
    (
        "concurrency",
        Case("ecs", ({"name": "build", "concurrency": 0},)),
        "runners[0] (build).concurrency: 0 is out of range; use a value between 1 and 2000",
    ),
    (
        "lane-choice",
        Case("eks", ({"name": "build", "lane": "gpu"},)),
        "runners[0] (build).lane: 'gpu' is not one of fargate | spot | privileged; pick one",
    ),
    (
        "lane-ecs",
        Case("ecs", ({"name": "build", "lane": "privileged"},)),
        "runners[0] (build).lane: 'privileged' is not available in ecs mode",
    ),
    (
        "requestConcurrency",
        Case("ecs", ({"name": "build", "requestConcurrency": 101},)),
        "runners[0] (build).requestConcurrency: 101 is out of range; use a value between 1 and 100",
    ),
    (
        "duplicate-runner",
        Case("ecs", ({"name": "build"}, {"name": "build"})),
        "runners: the name 'build' is used more than once; names must be unique",
    ),
    (
        "taskDefinition",
        Case("ecs", ({"name": "build", "taskDefinition": "nope"},)),
        "runners[0] (build).taskDefinition: 'nope' is not in ecs.taskDefinitions",
    ),
    (
        "task-fargate-size",
        Case("ecs", section={"taskDefinitions": [{"name": "d", "image": "d", "memory": 1000}]}),
        "ecs.taskDefinitions[0] (d): cpu 1024 / memory 1000 is not a valid Fargate size",
    ),
    (
        "task-cpu",
        Case("ecs", section={"taskDefinitions": [{"name": "d", "image": "d", "cpu": 128}]}),
        "ecs.taskDefinitions[0] (d).cpu: 128 is out of range; use a value >= 256",
    ),
    (
        "task-architecture",
        Case(
            "ecs",
            section={"taskDefinitions": [{"name": "d", "image": "d", "architecture": "amd64"}]},
        ),
        "ecs.taskDefinitions[0] (d).architecture: 'amd64' is not one of x86_64 | arm64",
    ),
    (
        "task-storage",
        Case(
            "ecs",
            section={"taskDefinitions": [{"name": "d", "image": "d", "ephemeralStorageGiB": 500}]},
        ),
        "ecs.taskDefinitions[0] (d).ephemeralStorageGiB: 500 is out of range; use a value between",
    ),
    (
        "task-arm64-image",
        Case("ecs", section={"taskDefinitions": [ARM_ENTRY]}),
        f"ecs.taskDefinitions[0] (debian).image: '{DEFAULT_ECS_JOB_IMAGE}' is GitLab's example",
    ),
    (
        "maxJobsPerManager",
        Case("ecs", section={"maxJobsPerManager": 500}),
        "ecs.maxJobsPerManager: 500 is out of range; use a value between 1 and 250",
    ),
    (
        "runnerVersion",
        Case("ecs", section={"runnerVersion": "v19.3.0"}),
        "ecs.runnerVersion: 'v19.3.0' is not valid; use a release number such as 19.3.0",
    ),
    (
        "ecs-jobTimeout",
        Case("ecs", section={"jobTimeoutSeconds": 30}),
        "ecs.jobTimeoutSeconds: 30 is out of range; use a value between 60 and 86400",
    ),
    (
        "logRetentionDays",
        Case("ecs", top={"logRetentionDays": 2}),
        "logRetentionDays: 2 is not one of 0 | 1 | 3 | 5 | 7 | 14 | 30 |",
    ),
    (
        "gitlabUrl",
        Case("eks", top={"gitlabUrl": "https://ci:hunter2@gitlab.example.com"}),
        "gitlabUrl: 'https://ci:***@gitlab.example.com'",
    ),
    (
        "eks-architecture",
        Case("eks", ({"name": "build", "lane": "spot", "architecture": "x86_64"},)),
        "runners[0] (build).architecture: 'x86_64' is not one of amd64 | arm64; pick one",
    ),
    (
        "eks-arm64-fargate",
        Case("eks", ({"name": "build", "architecture": "arm64"},)),
        "runners[0] (build).architecture: 'arm64' is not available on the fargate lane",
    ),
    (
        "eks-pod-cpu",
        Case("eks", ({"name": "build", "lane": "spot", "cpu": 128},)),
        "runners[0] (build).cpu: 128 is out of range; use a value >= 256",
    ),
    (
        "eks-fargate-size",
        Case("eks", ({"name": "build", "memory": 1000},)),
        "runners[0] (build): cpu 1024 / memory 1000 is not a valid Fargate size",
    ),
    (
        "instanceCategories-item",
        Case("eks", section={"instanceCategories": ["c5"]}),
        "eks.instanceCategories: 'c5' is not an instance category (c, m, r...)",
    ),
    (
        "instanceCategories-empty",
        Case("eks", section={"instanceCategories": []}),
        "eks.instanceCategories: [] has 0 item(s); list at least one",
    ),
    (
        "instanceCategories-arch",
        Case("eks", (ARM_SPOT,), section={"instanceCategories": ["d"]}),
        "eks.instanceCategories: ['d'] has no EC2 family of generation 3 or later for arm64, "
        "which runners[0] (build) needs",
    ),
    (
        "instanceCategories-managers",
        Case("eks", section={"instanceCategories": ["a"], "managerPlacement": "ec2"}),
        "eks.instanceCategories: ['a'] has no EC2 family of generation 3 or later for amd64, "
        "which eks.managerPlacement ec2 (the runner managers) needs",
    ),
    (
        "spotCpuLimit-range",
        Case("eks", section={"spotCpuLimit": 0}),
        "eks.spotCpuLimit: 0 is out of range; use a value between 1 and 10000",
    ),
    (
        "privilegedCpuLimit-range",
        Case("eks", section={"privilegedCpuLimit": 20000}),
        "eks.privilegedCpuLimit: 20000 is out of range; use a value between 1 and 10000",
    ),
    (
        "systemCpuLimit-range",
        Case("eks", section={"systemCpuLimit": 0}),
        "eks.systemCpuLimit: 0 is out of range; use a value between 1 and 10000",
    ),
    (
        "spot-pod-over-limit",
        Case("eks", (BIG_SPOT,), section={"spotCpuLimit": 4}),
        "runners[0] (build): cpu 8192 / memory 16384 pods need a node larger than the spot "
        "NodePool may launch (eks.spotCpuLimit 4 vCPU",
    ),
    (
        "privileged-pod-over-limit",
        Case("eks", ({**BIG_SPOT, "lane": "privileged"},), section={"privilegedCpuLimit": 8}),
        "runners[0] (build): cpu 8192 / memory 16384 pods need a node larger than the "
        "privileged NodePool may launch (eks.privilegedCpuLimit 8 vCPU",
    ),
    (
        "build-room",
        Case("eks", ({"name": "build", "cpu": 256, "memory": 512},)),
        "runners[0] (build): cpu 256 / memory 512 leaves too little for the build container",
    ),
    (
        "kubernetesVersion",
        Case("eks", section={"kubernetesVersion": "1.3"}),
        "eks.kubernetesVersion: '1.3' is not valid; use a minor version such as 1.35",
    ),
    (
        "requestConcurrency-above",
        Case("ecs", ({"name": "build", "concurrency": 2, "requestConcurrency": 3},)),
        "runners[0] (build).requestConcurrency: 3 is above the runner's concurrency 2",
    ),
    (
        "task-roles",
        Case(
            "ecs",
            section={
                "taskDefinitions": [{"name": "d", "image": "d", "taskRolePolicyArns": POLICIES}]
            },
        ),
        "ecs.taskDefinitions[0] (d).taskRolePolicyArns: 11 policies, but IAM attaches at most 10",
    ),
    (
        "driverVersion",
        Case("ecs", section={"driverVersion": "v0.5.0"}),
        "ecs.driverVersion: 'v0.5.0' is too old",
    ),
    (
        "managerInstanceType-arm64",
        Case("ecs", section={"managerInstanceType": "m7g.large"}),
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
        Case("ecs", section={"platformVersion": "1.3.0"}),
        "ecs.platformVersion: '1.3.0' is not valid; use 1.4.0 or LATEST",
    ),
    (
        "ecs-checkInterval",
        Case("ecs", section={"checkInterval": 0}),
        "ecs.checkInterval: 0 is out of range; use a value between 1 and 3600",
    ),
    (
        "pollTimeoutSeconds",
        Case("eks", section={"pollTimeoutSeconds": 60}),
        "eks.pollTimeoutSeconds: 60 is out of range; use a value between 180 and 3600",
    ),
    (
        "helperCpu",
        Case("eks", section={"helperCpu": 2048}),
        "eks.helperCpu: 2048 is out of range; use a value between 64 and 1024",
    ),
    (
        "managerPlacement",
        Case("eks", section={"managerPlacement": "ec2-spot"}),
        "eks.managerPlacement: 'ec2-spot' is not one of fargate | ec2; pick one of them",
    ),
    (
        "runnerChartVersion",
        Case("eks", section={"runnerChartVersion": "v0.92.0"}),
        "eks.runnerChartVersion: 'v0.92.0' is not valid; use a gitlab-runner chart version",
    ),
    (
        "system-pool",
        Case(
            "eks",
            ({"name": "build", "concurrency": 2000},),
            section={"managerPlacement": "ec2", "systemCpuLimit": 1},
        ),
        "eks.systemCpuLimit: 1 vCPU cannot hold the runner managers",
    ),
    (
        "eks-jobTimeout",
        Case("eks", section={"jobTimeoutSeconds": 300}),
        "eks.jobTimeoutSeconds: 300 is out of range; use a value between 600 and 86400",
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
            },
        ),
    ),
    (
        "eks-settings",
        Case(
            "eks",
            ({"name": "build", "concurrency": 20, "cpu": 2048, "memory": 4096},),
            section={
                "managerPlacement": "ec2",
                "systemCpuLimit": 8,
                "pollTimeoutSeconds": 180,
                "helperCpu": 1024,
                "runnerChartVersion": "0.92.0",
            },
        ),
    ),
    (
        "eks-lanes",
        Case(
            "eks",
            (
                {"name": "build", "cpu": 512, "memory": 1024},
                {
                    "name": "arm",
                    "lane": "spot",
                    "architecture": "arm64",
                    "cpu": 4096,
                    "memory": 8192,
                },
                {"name": "dind", "lane": "privileged"},
            ),
            section={
                "instanceCategories": ["c", "m", "r"],
                "spotCpuLimit": 5,
                "jobTimeoutSeconds": 600,
            },
        ),
    ),
    (
        "eks-x86-categories",
        Case("eks", ({"name": "build", "lane": "spot"},), section={"instanceCategories": ["d"]}),
    ),
    (
        "eks-limit-edges",
        Case(
            "eks",
            section={"spotCpuLimit": 10000, "privilegedCpuLimit": 1, "kubernetesVersion": "1.35"},
        ),
    ),
]


@pytest.mark.parametrize(("rule", "case", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_value_gets_one_message_through_every_door(
    rule: str, case: Case, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    doors = {"stack file": case.stack(), "package": case.package()}
    plugin = case.plugin(monkeypatch)
    if plugin is not None:
        doors["plugin"] = plugin
    found = {
        door: [p for p in problems if p.startswith(message)] for door, problems in doors.items()
    }
    for door, matches in found.items():
        assert len(matches) == 1, (door, doors[door])
    assert len({m for matches in found.values() for m in matches}) == 1, found
    assert "hunter2" not in repr(doors)


@pytest.mark.parametrize(("name", "case"), GOOD, ids=[g[0] for g in GOOD])
def test_a_valid_neighbour_passes_every_door(
    name: str, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert case.stack() == []
    assert case.package() == []
    assert case.plugin(monkeypatch) in ([], None)


def test_the_plugin_door_is_tried_wherever_it_has_the_inputs() -> None:
    """The rows the plugin skips are the keys it has no input for, and no more."""
    skipped = {rule for rule, case, _ in BAD if case.plugin_inputs() is None}
    assert skipped == {
        "systemCpuLimit-range",
        "instanceCategories-managers",
        "task-roles",
        "driverVersion",
        "managerInstanceType-arm64",
        "managerInstanceType-small",
        "platformVersion",
        "ecs-checkInterval",
        "pollTimeoutSeconds",
        "helperCpu",
        "managerPlacement",
        "runnerChartVersion",
        "system-pool",
    }
