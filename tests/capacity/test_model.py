"""Capacity model: reproduces the seed blog's measurements and names the limits that bind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import preflight
from components.capacity import model, prices
from components.capacity.cli import main
from components.capacity.inputs import load_inputs, split_jobs
from components.config import parse_config
from components.domain.eks_sizing import system_fargate_pods
from tests.harness import DEV_STACK, dev_config

# The seed blog (shared/seeds/001): chart `concurrent: 200`, poll timeout 90 s, `parallel: 200`,
# hello-world jobs (a few seconds), default check_interval and request_concurrency, chart
# default requests (Fargate's smallest pod: 0.25 vCPU), an account launching only EKS pods.
# It does not state its Fargate vCPU quota; any quota between the 2 x 200 peak (~40 vCPU) and
# the 5 x 300 peak (~197 vCPU) reproduces all three observations. 128 is such a value.
SEED_VCPU_QUOTA = 128.0
SEED_LIMITS = model.StackLimits(mode="eks", fargate_vcpu_quota=SEED_VCPU_QUOTA)
JUST_UNDER_2_MIN = 115.0  # "200 jobs takes just under 2 minutes."
JUST_OVER_3_MIN = 185.0  # "400 jobs takes just over 3 minutes."


def seed_runner(name: str, jobs: int, queue: str, concurrency: int = 200) -> model.RunnerLoad:
    return model.RunnerLoad(
        name=name,
        jobs=jobs,
        concurrency=concurrency,
        queue=queue,
        vcpu_per_job=0.25,
        memory_gib_per_job=1.0,
        timeout_seconds=90,
        job_seconds=10,
    )


def test_seed_200_jobs_on_one_runner_start_in_under_two_minutes():
    result = model.estimate([seed_runner("runner1", 200, "project")], SEED_LIMITS)
    assert result.start_all_seconds == pytest.approx(JUST_UNDER_2_MIN, rel=0.25)
    assert result.start_all_seconds < 120
    assert result.binding_limit == "jobPickup"
    assert result.jobs_timed_out == 0


def test_seed_400_jobs_on_two_runners_take_about_three_minutes():
    # Two runners registered to the same project with the same tags race for one queue.
    loads = [seed_runner("runner1", 200, "project"), seed_runner("runner2", 200, "project")]
    result = model.estimate(loads, SEED_LIMITS)
    assert result.start_all_seconds == pytest.approx(JUST_OVER_3_MIN, rel=0.25)
    assert result.start_all_seconds > 180
    assert result.binding_limit == "jobPickup"
    assert result.jobs_timed_out == 0


def test_seed_beyond_400_hangs_on_the_vcpu_quota_with_pods_pending_past_poll_timeout():
    # "I tried specifically routing jobs to five runners each capable of 300 parallel jobs."
    loads = [seed_runner(f"runner{i}", 300, f"tag{i}", concurrency=300) for i in range(5)]
    result = model.estimate(loads, SEED_LIMITS)
    assert result.binding_limit == "vcpuQuota"
    assert result.jobs_timed_out > 0
    assert result.start_all_seconds is None
    assert result.vcpu_needed > SEED_VCPU_QUOTA


def test_seed_two_runners_would_be_launch_bound_not_timing_out_at_the_documented_rate():
    # The same 400 jobs on separate queues: pickup doubles, Fargate's 20 pods/s keeps up.
    loads = [seed_runner("runner1", 200, "a"), seed_runner("runner2", 200, "b")]
    result = model.estimate(loads, SEED_LIMITS)
    assert result.start_all_seconds == pytest.approx(JUST_UNDER_2_MIN, rel=0.25)


def test_ecs_1000_jobs_with_the_default_quota_bind_on_vcpu():
    load = model.RunnerLoad(name="fargate", jobs=1000, concurrency=1000, timeout_seconds=1200)
    result = model.estimate([load], model.StackLimits(mode="ecs"))
    assert model.StackLimits(mode="ecs").fargate_vcpu_quota == 6
    assert result.binding_limit == "vcpuQuota"
    assert result.jobs_refused == 1000 - 6
    assert result.vcpu_needed == 1000


def test_ecs_fast_pickup_is_bound_by_runtask_then_times_out_at_prepare():
    loads = [
        model.RunnerLoad(
            name=n, jobs=2000, concurrency=2000, request_concurrency=50, queue=n, timeout_seconds=60
        )
        for n in ("a", "b")
    ]
    limits = model.StackLimits(mode="ecs", fargate_vcpu_quota=1e6, queue_dispatch_per_second=1e3)
    result = model.estimate(loads, limits)
    assert result.binding_limit == "prepareTimeout"
    assert result.jobs_timed_out > 0
    relaxed = [model.RunnerLoad(**{**vars(r), "timeout_seconds": 1200}) for r in loads]
    assert model.estimate(relaxed, limits).binding_limit == "runTaskRate"


def test_dropping_a_rate_or_price_constant_changes_the_answer():
    base = [seed_runner("r", 400, "q", concurrency=400)]
    fast = model.StackLimits(
        mode="eks", fargate_vcpu_quota=1e6, queue_dispatch_per_second=1e3, request_seconds=0.001
    )
    assert model.estimate(base, fast).binding_limit == "fargateLaunchRate"
    # EKS-only accounts get a burst of 20, ECS accounts 100 (AWS Fargate throttling quotas).
    assert (model.FARGATE_LAUNCH_BURST, model.FARGATE_LAUNCH_BURST_EKS_ONLY) == (100, 20)
    assert model.FARGATE_LAUNCH_PER_SECOND == 20 and model.RUNTASK_CALLS_PER_SECOND == 20
    assert pytest.approx(2.857, abs=0.01) == model.QUEUE_DISPATCH_PER_SECOND
    table, region = prices.prices_for("eu-west-1")
    assert region == "eu-west-1"
    # 1 vCPU / 2 GiB for 1000 minutes: (0.04048 + 2 * 0.004445) * 1000 / 60
    assert prices.per_1000_job_minutes(table, 1, 2, spot=False) == pytest.approx(0.8228, abs=1e-4)
    assert prices.prices_for("ap-south-2")[1] == prices.FALLBACK_REGION


def test_model_counts_system_pods_and_subnet_room_as_preflight_and_the_config_check_do():
    # Preflight and the model count the same always-on Fargate pods, at the sizes Fargate runs:
    # 20 jobs -> a 600m/848Mi manager -> 1 vCPU / 2 GB; 500 jobs -> 3000m/2768Mi -> 4 / 8.
    assert system_fargate_pods({"small": 20, "big": 500}, True) == [
        ("karpenter", 1.0, 2.0),
        *[("coredns", 0.25, 0.5)] * 6,
        ("manager small", 1.0, 2.0),
        ("manager big", 4.0, 8.0),
    ]
    config, _ = parse_config(dev_config())
    inputs = load_inputs(config, "eu-west-1", 1000)
    # ECS: each runner's subnet, as many jobs as the fixed /19 holds after fixed IPs + headroom.
    assert inputs.limits.subnet_ips == (("10.42.0.0/19", 6524), ("10.42.32.0/19", 6524))
    needs = preflight.quota_needs(config)
    vcpu = {load.name: load.vcpu_per_job * load.concurrency for load in inputs.loads}
    assert vcpu["fargate"] == needs[preflight.FARGATE_ON_DEMAND].vcpus
    assert vcpu["fargate-spot"] == needs[preflight.FARGATE_SPOT].vcpus


def test_jobs_split_in_proportion_to_concurrency():
    assert split_jobs(1000, {"a": 20, "b": 20}) == {"a": 500, "b": 500}
    assert split_jobs(10, {"a": 1, "b": 2}) == {"a": 3, "b": 7}


def run_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str, *args: str) -> dict:
    text = DEV_STACK.read_text().replace(
        "gitlab-fargate-runners:mode: ecs", f"gitlab-fargate-runners:mode: {mode}"
    )
    (tmp_path / "Pulumi.test.yaml").write_text(text)
    code = main(["--stack", "test", "--project-dir", str(tmp_path), "--json", *args])
    assert code == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("mode", ["ecs", "eks"])
def test_cli_json_shape(tmp_path, capsys, mode):
    # 30 jobs: under the t3.small manager's ~38 job slots (ECS) and the runners' 2 x 20.
    doc = run_cli(
        tmp_path,
        capsys,
        mode,
        "--jobs",
        "30",
        "--vcpu-quota",
        "4000",
        "--spot-vcpu-quota",
        "4000",
        "--ec2-spot-vcpu-quota",
        "4000",
    )
    assert doc["mode"] == mode
    assert [r["name"] for r in doc["runners"]] == ["fargate", "fargate-spot"]
    for runner in doc["runners"]:
        for key in (
            "name",
            "startAllSeconds",
            "bindingLimit",
            "jobsTimedOut",
            "ipsUsed",
            "vcpuNeeded",
            "fargateUsdPer1000JobMinutes",
        ):
            assert key in runner
        assert runner["jobs"] == 15
        assert runner["startAllSeconds"] > model.FARGATE_START_SECONDS
    assert doc["anyJobTimesOut"] is False
    assert doc["cost"]["pricesForRegion"] == "eu-west-1"
    assert doc["cost"]["alwaysOnUsdPerHour"] > 0


def test_cli_reports_manager_slots_and_quota_for_the_dev_stack(tmp_path, capsys):
    doc = run_cli(tmp_path, capsys, "ecs", "--jobs", "1000")
    assert doc["bindingLimit"] == "vcpuQuota"
    assert doc["jobsWaitingForSlot"] == 1000 - 40
    assert doc["startAllSeconds"] is None


def test_every_manager_type_the_ecs_sizing_can_pick_has_a_price() -> None:
    from components.ecs.sizing import MANAGER_TYPES

    for region in prices.PRICES:
        table, _ = prices.prices_for(region)
        assert {t.name for t in MANAGER_TYPES} <= set(table.ec2_hour), region


def test_an_ecs_runner_spreads_over_its_managers_subnets_as_the_config_check_counts():
    """With several managers, manager i uses subnet i mod n (ecs/sizing.py): one runner of 400 on
    two managers puts half its jobs in each zone, not all in the first one."""
    raw = dev_config(runners=[{"name": "big", "concurrency": 400}], runnerTokens=None)
    raw["ecs"] = {**raw.get("ecs", {}), "maxJobsPerManager": 200}
    config, _ = parse_config(raw)
    (load,) = load_inputs(config, "eu-west-1", 400).loads
    assert load.subnets == (("10.42.0.0/19", 0.5), ("10.42.32.0/19", 0.5))


def test_eks_spot_jobs_beyond_the_ec2_spot_quota_preflight_warns_about_do_not_start(
    tmp_path, capsys
):
    """The offline plan warns that the dev stack's spot runner (20 x 1 vCPU pods) needs more
    than a new account's EC2 Spot quota L-34B43A08 (5 vCPU, preflight.NEW_ACCOUNT_QUOTAS); the
    estimate counts the same quota for the same lane (preflight.EKS_LANE_QUOTA), so at most 5
    of its 15 jobs get a node. It used to start all 15."""
    from components.preflight import EC2_SPOT, NEW_ACCOUNT_QUOTAS, QuotaNeed, quota_finding

    assert quota_finding(QuotaNeed(EC2_SPOT, 20.0, ["spot"]), NEW_ACCOUNT_QUOTAS[EC2_SPOT])
    doc = run_cli(
        tmp_path, capsys, "eks", "--jobs", "30", "--vcpu-quota", "4000", "--spot-vcpu-quota", "4000"
    )
    spot = next(r for r in doc["runners"] if r["name"] == "fargate-spot")
    assert spot["bindingLimit"] == "ec2Quota"
    assert spot["startAllSeconds"] is None and spot["jobsTimedOut"] == 15 - 5
    assert doc["limits"]["ec2VcpuQuota"] == {"spot": 5.0, "privileged": 5.0}
    raised = run_cli(
        tmp_path,
        capsys,
        "eks",
        "--jobs",
        "30",
        "--vcpu-quota",
        "4000",
        "--ec2-spot-vcpu-quota",
        "15",
    )
    assert next(r for r in raised["runners"] if r["name"] == "fargate-spot")["jobsTimedOut"] == 0
