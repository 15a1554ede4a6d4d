"""Preflight: quota needs at full concurrency, NodePool limits and existing subnets' free IPs."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from components.config import parse_config
from components.offline import mocks
from components.preflight import (
    EC2_ON_DEMAND,
    FARGATE_ON_DEMAND,
    FARGATE_SPOT,
    nodepool_findings,
    quota_finding,
    quota_needs,
    subnet_findings,
)
from tests.harness import dev_config, run_program, shared_plan

QUOTA_INVOKE = "aws:servicequotas/getServiceQuota:getServiceQuota"


class ProviderError(grpc.RpcError):
    """How a failing data source reaches the program: a gRPC error from the engine."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


EXISTING_VPC = {"vpcId": "vpc-0abc1234", "privateSubnetIds": ["subnet-0aaaaaaa", "subnet-0bbbbbbb"]}


def config_of(raw: dict[str, Any]) -> Any:
    config, _ = parse_config(raw)
    return config


def thousand_jobs(mode: str, **extra: Any) -> dict[str, Any]:
    """The example stack with its two runners at 500 concurrent jobs each."""
    config = dev_config(mode=mode, **extra)
    for runner in config["runners"]:
        runner["concurrency"] = 500
    return config


def test_ecs_needs_task_cpu_times_concurrency_per_lane() -> None:
    raw = thousand_jobs("ecs")
    raw["runners"][0]["taskDefinition"] = "node"  # 2 vCPU
    needs = quota_needs(config_of(raw))
    assert needs[FARGATE_ON_DEMAND].vcpus == 1000
    assert needs[FARGATE_SPOT].vcpus == 500
    assert needs[FARGATE_ON_DEMAND].parts == ["fargate: 500 x 2 vCPU (node)"]


def test_eks_needs_pods_managers_and_system_pods_on_fargate() -> None:
    raw = thousand_jobs("eks")
    raw["runners"][1]["lane"] = "fargate"
    need = quota_needs(config_of(raw))[FARGATE_ON_DEMAND]
    # 1000 one-vCPU job pods + Karpenter (1) + 10 CoreDNS replicas for 1000 jobs (0.25 each)
    # + two 500-job managers (3000m requests: 4 vCPU Fargate pods each) + the metrics
    # collector (0.25 vCPU)
    system = 1 + 10 * 0.25 + 2 * 4 + 0.25
    assert need.vcpus == 1000 + system
    # a 256-unit service pushes a 1-vCPU pod to the 2-vCPU Fargate size
    assert need.vcpus_with_services == 2000 + system


@pytest.mark.parametrize(
    ("placement", "observability", "expected"),
    [
        (
            "fargate",
            True,
            "Karpenter, metrics collector, 2 x CoreDNS, 2 runner managers on Fargate: 3.75 vCPU",
        ),
        ("ec2", True, "Karpenter, metrics collector, 2 x CoreDNS on Fargate: 1.75 vCPU"),
        ("ec2", False, "Karpenter, 2 x CoreDNS on Fargate: 1.5 vCPU"),
    ],
)
def test_the_system_pods_part_names_what_it_counts(
    placement: str, observability: bool, expected: str
) -> None:
    """The always-on Fargate pods as counted (domain/eks_sizing.py): the collector when
    observability is on, the managers only where they run on Fargate."""
    raw = dev_config(
        mode="eks", eks={"managerPlacement": placement}, observability={"enabled": observability}
    )
    need = quota_needs(config_of(raw))[FARGATE_ON_DEMAND]
    assert need.parts is not None and need.parts[0] == expected


def test_privileged_pods_already_hold_their_dind_service() -> None:
    """The privileged lane's size includes one service (components/eks/job_size.py)."""
    raw = thousand_jobs("eks")
    raw["runners"][1].update(lane="privileged", cpu=2048, memory=4096, concurrency=10)
    need = quota_needs(config_of(raw))[EC2_ON_DEMAND]
    assert need.vcpus == need.vcpus_with_services == 10 * 2


def test_quota_warning_names_code_need_current_value_and_console_link() -> None:
    need = quota_needs(config_of(thousand_jobs("ecs")))[FARGATE_ON_DEMAND]
    message = quota_finding(need, 6.0)
    assert message is not None
    for fragment in ("L-3032A538", "is 6 vCPU", "need 500 vCPU", "Request 500 at"):
        assert fragment in message
    assert (
        "https://console.aws.amazon.com/servicequotas/home/services/fargate/quotas/L-3032A538"
        in (message)
    )
    assert quota_finding(need, 500.0) is None


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_preview_of_a_thousand_job_stack_warns_about_the_six_vcpu_default(mode: str) -> None:
    warnings = shared_plan(thousand_jobs(mode)).warnings
    (fargate,) = [w for w in warnings if w.startswith(f"quota {FARGATE_ON_DEMAND}")]
    assert "is 6 vCPU" in fargate and "fargate/quotas/L-3032A538" in fargate


def test_fail_on_quota_stops_the_deployment_before_any_resource() -> None:
    with pytest.raises(Exception, match=r"preflight\.failOnQuota") as raised:
        run_program(thousand_jobs("ecs", preflight={"failOnQuota": True}))
    assert "L-3032A538" in str(raised.value)


def test_unreadable_quota_is_a_warning_and_check_quotas_false_skips_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def denied(_args: dict[str, Any], _region: str) -> dict[str, Any]:
        raise ProviderError("AccessDeniedException: servicequotas:GetServiceQuota")

    monkeypatch.setitem(mocks.INVOKES_BY_TOKEN, QUOTA_INVOKE, denied)
    warnings = run_program(thousand_jobs("ecs")).warnings
    assert any(w.startswith("could not read quota L-3032A538") for w in warnings)
    skipped = run_program(thousand_jobs("ecs", preflight={"checkQuotas": False})).warnings
    assert not any("quota" in w for w in skipped)


def test_existing_subnets_without_room_are_reported() -> None:
    raw = dev_config(network=EXISTING_VPC)
    config = config_of(raw)
    # 251 free IPs hold (251 - 32) / 1.25 = 175 jobs; each ECS runner has its own subnet.
    assert subnet_findings(config, {"subnet-0aaaaaaa": 251, "subnet-0bbbbbbb": 251}) == []
    (finding,) = subnet_findings(config, {"subnet-0aaaaaaa": 40, "subnet-0bbbbbbb": 251})
    assert "subnet subnet-0aaaaaaa (40 free IPs) can hold 6 jobs" in finding
    warnings = run_program(thousand_jobs("ecs", network=EXISTING_VPC)).warnings
    assert any("subnet subnet-0aaaaaaa (251 free IPs) can hold 175 jobs" in w for w in warnings)
    eks = config_of(thousand_jobs("eks", network=EXISTING_VPC))
    (total,) = subnet_findings(eks, {"subnet-0aaaaaaa": 251, "subnet-0bbbbbbb": 251})
    assert "subnets subnet-0aaaaaaa, subnet-0bbbbbbb (502 free IPs) can hold 350 jobs" in total


def test_karpenter_pool_limits_below_the_lane_need_are_reported() -> None:
    (finding,) = nodepool_findings(config_of(thousand_jobs("eks")))
    assert finding.startswith("eks.spotCpuLimit is 64 vCPU but the spot lane's runners need 500")
    assert nodepool_findings(config_of(thousand_jobs("eks", eks={"spotCpuLimit": 500}))) == []


def test_existing_subnets_are_checked_against_the_managers_placement() -> None:
    """One runner of 300 jobs on two managers (cap 150) puts 150 in each subnet (manager i:
    subnet i mod n, ecs/sizing.py); the old check put all 300 in one."""
    raw = dev_config(
        network=EXISTING_VPC,
        runners=[{"name": "big", "concurrency": 300}],
        runnerTokens=None,
        ecs={"maxJobsPerManager": 150},
    )
    config = config_of(raw)
    # 251 free IPs hold 175 jobs: 150 fit each subnet
    assert subnet_findings(config, {"subnet-0aaaaaaa": 251, "subnet-0bbbbbbb": 251}) == []
    (finding,) = subnet_findings(config, {"subnet-0aaaaaaa": 251, "subnet-0bbbbbbb": 200})
    assert "subnet subnet-0bbbbbbb (200 free IPs) can hold 134 jobs" in finding
    assert (
        "the managers place 150 jobs in it" in finding and "ecs.maxJobsPerManager (150" in finding
    )


def test_ecs_managers_count_against_the_ec2_on_demand_quota() -> None:
    """ceil(total / ecs.maxJobsPerManager) On-Demand managers (ecs/sizing.py): 1000 jobs at 5
    per manager are 200 t3.small instances of 2 vCPU, 400 vCPU of L-1216C47A; the default cap
    of 200 plans 5 m6i.2xlarge (8 vCPU)."""
    tiny = quota_needs(config_of(thousand_jobs("ecs", ecs={"maxJobsPerManager": 5})))
    assert tiny[EC2_ON_DEMAND].vcpus == 400
    assert "200 x t3.small runner managers" in "; ".join(tiny[EC2_ON_DEMAND].parts or [])
    finding = quota_finding(tiny[EC2_ON_DEMAND], 64)
    assert finding and "L-1216C47A" in finding and "400 vCPU" in finding
    default = quota_needs(config_of(thousand_jobs("ecs")))
    assert default[EC2_ON_DEMAND].vcpus == 5 * 8
    assert quota_finding(default[EC2_ON_DEMAND], 64) is None
