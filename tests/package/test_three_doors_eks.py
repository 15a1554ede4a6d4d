"""Issue 24 item 2, one validation behind three doors (eks mode): the same bad value gets the
same message from the stack file's parser (components/config/parse.py), from the fleets' args
check (components/domain/fleet_rules.py, which EksFargateRunner runs before it registers
anything) and from the component provider's check before construct
(provider/fleet_provider.py), and its valid neighbour passes all three. Each row is one rule
class, written once as stack keys (tests/package/doors.py `Case`); the plugin has an input for
every setting of a spec (provider/fleet_args.py), so every row goes through all three doors.
"""

from __future__ import annotations

import pytest

from tests.package.doors import (
    Case,
    one_message_per_door,
    passes_every_door,
    runner,
    setting,
)

BIG_SPOT = {"name": "build", "lane": "spot", "cpu": 8192, "memory": 16384}
ARM_SPOT = {"name": "build", "lane": "spot", "architecture": "arm64"}
ADMIN = "arn:aws:iam::123456789012:role/admin"
OLD_CHART = {"runnerChartVersion": "0.87.0"}  # ships gitlab-runner 18.10: no pause pods


def _long_named(count: int) -> tuple[dict[str, str], ...]:
    """`count` runners with 32-character names (the longest a name may be)."""
    return tuple({"name": f"r{i:03d}-" + "x" * 27} for i in range(count))


# (rule class, a case with a bad value, the start of the one message every door gives).
BAD: list[tuple[str, Case, str]] = [
    (
        # EventBridge Scheduler API reference, Target.Input: 1 to 8192 characters; the runners
        # left Lambda's 4 KB environment for it (components/domain/start_wait_input.py).
        "sampler-input",
        Case("eks", _long_named(95)),
        "runners: 95 runners take 8234 characters in the start-wait sampler's schedule input, "
        "over EventBridge Scheduler's 8192; use fewer runners or shorter names, or set "
        "observability.enabled false",
    ),
    (
        "lane-choice",
        runner("eks", lane="gpu"),
        "runners[0] (build).lane: 'gpu' is not one of fargate | spot | privileged; pick one",
    ),
    (
        "gitlabUrl",
        Case("eks", top={"gitlabUrl": "https://ci:hunter2@gitlab.example.com"}),
        "gitlabUrl: 'https://ci:***@gitlab.example.com'",
    ),
    (
        "eks-architecture",
        runner("eks", lane="spot", architecture="x86_64"),
        "runners[0] (build).architecture: 'x86_64' is not one of amd64 | arm64; pick one",
    ),
    (
        "eks-arm64-fargate",
        runner("eks", architecture="arm64"),
        "runners[0] (build).architecture: 'arm64' is not available on the fargate lane",
    ),
    (
        "eks-pod-cpu",
        runner("eks", lane="spot", cpu=128),
        "runners[0] (build).cpu: 128 is out of range; use a value >= 256",
    ),
    (
        "eks-fargate-size",
        runner("eks", memory=1000),
        "runners[0] (build): cpu 1024 / memory 1000 is not a valid Fargate size",
    ),
    (
        "instanceCategories-item",
        setting("eks", instanceCategories=["c5"]),
        "eks.instanceCategories: 'c5' is not an instance category (c, m, r...)",
    ),
    (
        "instanceCategories-empty",
        setting("eks", instanceCategories=[]),
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
        setting("eks", instanceCategories=["a"], managerPlacement="ec2"),
        "eks.instanceCategories: ['a'] has no EC2 family of generation 3 or later for amd64, "
        "which eks.managerPlacement ec2 (the runner managers) needs",
    ),
    (
        "spotCpuLimit-range",
        setting("eks", spotCpuLimit=0),
        "eks.spotCpuLimit: 0 is out of range; use a value between 1 and 10000",
    ),
    (
        "privilegedCpuLimit-range",
        setting("eks", privilegedCpuLimit=20000),
        "eks.privilegedCpuLimit: 20000 is out of range; use a value between 1 and 10000",
    ),
    (
        "systemCpuLimit-range",
        setting("eks", systemCpuLimit=0),
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
        runner("eks", cpu=256, memory=512),
        "runners[0] (build): cpu 256 / memory 512 leaves too little for the build container",
    ),
    (
        "kubernetesVersion",
        setting("eks", kubernetesVersion="1.3"),
        "eks.kubernetesVersion: '1.3' is not valid; use a minor version such as 1.35",
    ),
    (
        "pollTimeoutSeconds",
        setting("eks", pollTimeoutSeconds=60),
        "eks.pollTimeoutSeconds: 60 is out of range; use a value between 180 and 3600",
    ),
    (
        "helperCpu",
        setting("eks", helperCpu=2048),
        "eks.helperCpu: 2048 is out of range; use a value between 64 and 1024",
    ),
    (
        "managerPlacement",
        setting("eks", managerPlacement="ec2-spot"),
        "eks.managerPlacement: 'ec2-spot' is not one of fargate | ec2; pick one of them",
    ),
    (
        "runnerChartVersion",
        setting("eks", runnerChartVersion="v0.92.0"),
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
        "clusterLogTypes",
        setting("eks", clusterLogTypes=["api", "kubelet"]),
        "eks.clusterLogTypes: 'kubelet' is not one of api | audit | authenticator",
    ),
    (
        "adminRoleArns-arn",
        setting("eks", adminRoleArns=["arn:aws:iam::123456789012:user/me"]),
        "eks.adminRoleArns: 'arn:aws:iam::123456789012:user/me' is an ARN of a iam user",
    ),
    (
        "adminRoleArns-twice",
        setting("eks", adminRoleArns=[ADMIN, ADMIN]),
        f"eks.adminRoleArns: '{ADMIN}' is listed more than once",
    ),
    (
        "adminRoleArns-principal",
        setting("eks", adminRoleArns=[ADMIN, ADMIN.replace("role/", "role/ops/")]),
        "eks.adminRoleArns[1]: 'arn:aws:iam::123456789012:role/ops/admin' is the role of",
    ),
    (
        "publicAccessCidrs",
        setting("eks", publicAccessCidrs=["203.0.113.7/24"]),
        "eks.publicAccessCidrs: '203.0.113.7/24' has host bits set",
    ),
    (
        "privateAccessSecurityGroupIds",
        setting("eks", privateAccessSecurityGroupIds=["sg-123"]),
        "eks.privateAccessSecurityGroupIds: 'sg-123' is not a security group id",
    ),
    (
        "privateAccessCidrs",
        setting("eks", privateAccessCidrs=["10.0.0.0/8", "10.0.0.0/8"]),
        "eks.privateAccessCidrs: '10.0.0.0/8' is listed more than once",
    ),
    (
        "endpointAccess",
        setting("eks", endpointAccess="internal"),
        "eks.endpointAccess: 'internal' is not one of public | private; pick one of them",
    ),
    (
        "nodeAmiAlias",
        setting("eks", nodeAmiAlias="al2@latest"),
        "eks.nodeAmiAlias: 'al2@latest' is not valid; use an AL2023 EKS AMI release",
    ),
    (
        "serviceCpu",
        setting("eks", serviceCpu=32),
        "eks.serviceCpu: 32 is out of range; use a value between 64 and 4096",
    ),
    (
        "helperMemory",
        setting("eks", helperMemory=4096),
        "eks.helperMemory: 4096 is out of range; use a value between 128 and 2048",
    ),
    (
        "defaultJobImage",
        setting("eks", defaultJobImage="Debian:12"),
        "eks.defaultJobImage: 'Debian:12' is not a valid image reference",
    ),
    (
        "warmJobs",
        runner("eks", lane="spot", warmJobs=2001),
        "runners[0] (build).warmJobs: 2001 is out of range; use a value between 0 and 2000",
    ),
    (
        "warmPeriods",
        runner("eks", lane="spot", warmPeriods=["8-17 * *"]),
        "runners[0] (build).warmPeriods: '8-17 * *' is not a five-field cron expression",
    ),
    (
        "warmTimezone",
        runner("eks", lane="spot", warmTimezone="CET+1"),
        "runners[0] (build).warmTimezone: 'CET+1' is not an IANA time zone name",
    ),
    (
        "warmJobs-fargate",
        runner("eks", warmJobs=2),
        "runners[0] (build).warmJobs: 2 on the fargate lane",
    ),
    (
        "warmJobs-old-chart",
        Case("eks", ({"name": "build", "lane": "spot", "warmJobs": 2},), section=OLD_CHART),
        "runners[0] (build).warmJobs: 2 needs gitlab-runner 18.11 or later",
    ),
    (
        "kubernetesVersion-offered",
        setting("eks", kubernetesVersion="1.20"),
        "eks.kubernetesVersion: '1.20' is not a Kubernetes version EKS offers",
    ),
    (
        "karpenterVersion-v1",
        setting("eks", karpenterVersion="0.37.0"),
        "eks.karpenterVersion: '0.37.0' predates Karpenter's v1 APIs",
    ),
    (
        "runnerChartVersion-release",
        setting("eks", runnerChartVersion="1.0.0"),
        "eks.runnerChartVersion: '1.0.0' is not a gitlab-runner chart release",
    ),
    (
        "helperImage",
        Case("eks", top={"images": {"helperImage": "Helper:1"}}),
        "images.helperImage: 'Helper:1' is not a valid image reference",
    ),
    (
        "publicAccessCidrs-private",
        setting("eks", endpointAccess="private", publicAccessCidrs=["10.0.0.0/8"]),
        "eks.publicAccessCidrs: ['10.0.0.0/8'] cannot be used with eks.endpointAccess private",
    ),
    (
        "eks-jobTimeout",
        setting("eks", jobTimeoutSeconds=300),
        "eks.jobTimeoutSeconds: 300 is out of range; use a value between 600 and 86400",
    ),
]
# Valid neighbours: at the edge of each rule, accepted by every door.
GOOD: list[tuple[str, Case]] = [
    ("sampler-input-full", Case("eks", _long_named(94))),  # 8148 characters
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
                "helperMemory": 2048,
                "serviceCpu": 64,
                "runnerChartVersion": "0.92.0",
                "endpointAccess": "private",
                "privateAccessCidrs": ["10.0.0.0/8"],
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
        setting("eks", spotCpuLimit=10000, privilegedCpuLimit=1, kubernetesVersion="1.35"),
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
