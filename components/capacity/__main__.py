"""How fast N jobs start on a stack, which limit binds, what it costs. Offline: no cloud calls.

    python -m components.capacity --stack dev --jobs 200 [--json] [--per-runner]

Jobs: `--jobs N` is split over the runners in proportion to their concurrency (largest
remainder); with `--per-runner` every runner gets N. Runners with the same tags compete for
the same pending jobs (one GitLab queue). The stack file is read with PyYAML and validated by
the project's own config parser (tokens are not needed: placeholders stand in for them).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.capacity import model, prices
from components.domain.eks_sizing import system_fargate_pods
from components.domain.subnets import jobs_per_subnet
from components.ecs.manager_files import PREPARE_EXEC_TIMEOUT_SECONDS
from components.ecs.sizing import managers_job_capacity, plan_shards, shard_instance_types
from components.shared import network

PROJECT_PREFIX = "gitlab-fargate-runners:"
PLACEHOLDER_TOKEN = "glrt-capacity-model-sentinel"
INTERFACE_ENDPOINT_SERVICES = len(network.INTERFACE_ENDPOINT_SERVICES)
ECS_PREPARE_EXEC_TIMEOUT_SECONDS = PREPARE_EXEC_TIMEOUT_SECONDS


class StackInputError(ValueError):
    """The stack file is missing or its config is invalid."""


@dataclass(frozen=True)
class Inputs:
    loads: tuple[model.RunnerLoad, ...]
    limits: model.StackLimits
    always_on: prices.AlwaysOn
    region: str
    spot: dict[str, bool]


def split_jobs(jobs: int, weights: dict[str, int]) -> dict[str, int]:
    """N jobs over runners in proportion to weight, largest remainder first."""
    total = sum(weights.values())
    exact = {name: jobs * w / total for name, w in weights.items()}
    shares = {name: int(v) for name, v in exact.items()}
    left = jobs - sum(shares.values())
    for name in sorted(exact, key=lambda n: shares[n] - exact[n])[:left]:
        shares[name] += 1
    return shares


def read_stack(path: Path) -> tuple[dict[str, Any], str]:
    """This project's keys (prefix removed) and aws:region from Pulumi.<stack>.yaml."""
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    raw = {k[len(PROJECT_PREFIX) :]: v for k, v in config.items() if k.startswith(PROJECT_PREFIX)}
    raw.pop("runnerTokens", None)  # encrypted; not needed here
    return raw, str(config.get("aws:region", prices.FALLBACK_REGION))


def load_inputs_from_stack_config(
    raw: dict[str, Any],
    region: str,
    jobs: int,
    per_runner: bool = False,
    vcpu_quota: float = model.DEFAULT_FARGATE_VCPU_QUOTA,
    spot_vcpu_quota: float = model.DEFAULT_FARGATE_VCPU_QUOTA,
    job_seconds: float | None = None,
) -> Inputs:
    """The ONE place that knows the project's config types (components.config)."""
    from components.config import ConfigError, parse_config

    runners = raw.get("runners") or [{"name": "fargate"}]
    names = [r.get("name") for r in runners if isinstance(r, dict)]
    tokens = {n: f"{PLACEHOLDER_TOKEN}-{n}" for n in names if isinstance(n, str)}
    try:
        config, _ = parse_config({**raw, "runnerTokens": tokens}, tokens_are_secret=True)
    except ConfigError as error:
        raise StackInputError(str(error)) from error
    eks = config.mode == "eks"
    weights = {r.name: r.concurrency for r in config.runners}
    counts = {n: jobs for n in weights} if per_runner else split_jobs(jobs, weights)
    net = config.network
    private = task_subnets = net.layout.private if net.layout else ()
    task_defs = {t.name: t for t in config.ecs.task_definitions}
    loads, spot = [], {}
    for index, r in enumerate(config.runners):
        if eks:
            vcpu, memory = r.cpu / 1024, r.memory / 1024
            compute = model.COMPUTE_FARGATE if r.lane == "fargate" else model.COMPUTE_EC2
            subnet, timeout = "private", config.eks.poll_timeout_seconds
            check = config.eks.check_interval
        else:
            td = task_defs[r.task_definition]
            vcpu, memory = td.cpu / 1024, td.memory / 1024
            compute = model.COMPUTE_FARGATE_SPOT if r.lane == "spot" else model.COMPUTE_FARGATE
            # The driver puts a runner's tasks in ONE subnet, picked round-robin (ecs/runner.py).
            subnet = task_subnets[index % len(task_subnets)] if task_subnets else "private"
            timeout, check = ECS_PREPARE_EXEC_TIMEOUT_SECONDS, config.ecs.check_interval
        spot[r.name] = compute == model.COMPUTE_FARGATE_SPOT
        loads.append(
            model.RunnerLoad(
                name=r.name,
                jobs=counts[r.name],
                concurrency=r.concurrency,
                request_concurrency=r.request_concurrency,
                check_interval=check,
                queue=",".join(sorted(r.tags)),
                vcpu_per_job=vcpu,
                memory_gib_per_job=memory,
                compute=compute,
                pool=r.lane if compute == model.COMPUTE_EC2 else "",
                timeout_seconds=timeout,
                subnet=subnet,
                job_seconds=job_seconds,
            )
        )
    # IPs jobs may take: after fixed IPs and headroom, as the config check and preflight count.
    free = lambda cidrs: sum(jobs_per_subnet(c) for c in cidrs)  # noqa: E731
    if eks:
        subnet_ips = (("private", free(private)),) if private else ()
    else:
        subnet_ips = tuple((c, free([c])) for c in task_subnets)
    shards = plan_shards(config.runners, config.ecs.max_jobs_per_manager)
    manager_types = shard_instance_types(shards, config.ecs.manager_instance_type)
    limits = model.StackLimits(
        mode=config.mode,
        fargate_vcpu_quota=vcpu_quota,
        fargate_spot_vcpu_quota=spot_vcpu_quota,
        subnet_ips=subnet_ips,
        manager_job_capacity=None if eks else managers_job_capacity(shards, manager_types),
        ec2_pool_vcpu=(
            ("spot", config.eks.spot_cpu_limit),
            ("privileged", config.eks.privileged_cpu_limit),
        )
        if eks
        else (),
    )
    zones = len(private) if net.layout else 0
    fargate_pods: tuple[tuple[str, float, float], ...] = ()
    if eks:
        # The same pods preflight counts against the vCPU quota (components/domain/eks_sizing.py).
        fargate_pods = tuple(
            system_fargate_pods(
                {r.name: r.concurrency for r in config.runners},
                config.eks.manager_placement == "fargate",
                metrics_collector=config.observability.enabled,
            )
        )
    always_on = prices.AlwaysOn(
        nat_gateways=0 if not net.layout else (1 if net.nat_gateways == "single" else zones),
        interface_endpoints=INTERFACE_ENDPOINT_SERVICES * zones if net.vpc_endpoints else 0,
        eks_clusters=1 if eks else 0,
        manager_instance_types=() if eks else tuple(manager_types),
        fargate_pods=fargate_pods,
    )
    return Inputs(tuple(loads), limits, always_on, region, spot)


def report(inputs: Inputs) -> dict[str, Any]:
    result = model.estimate(inputs.loads, inputs.limits)
    table, priced_region = prices.prices_for(inputs.region)
    always_on, lines = prices.always_on_per_hour(table, inputs.always_on)
    by_name = {r.name: r for r in inputs.loads}
    runners = []
    for e in result.runners:
        load = by_name[e.name]
        cost = None
        if load.compute != model.COMPUTE_EC2:
            cost = prices.per_1000_job_minutes(
                table, load.vcpu_per_job, load.memory_gib_per_job, inputs.spot[e.name]
            )
        runners.append(
            {
                "name": e.name,
                "jobs": e.jobs,
                "startAllSeconds": e.start_all_seconds,
                "bindingLimit": e.binding_limit,
                "detail": e.detail,
                "pickupSeconds": e.pickup_seconds,
                "launchWaitSeconds": e.launch_wait_seconds,
                "jobsTimedOut": e.jobs_timed_out,
                "jobsRefused": e.jobs_refused,
                "jobsWaitingForSlot": e.jobs_waiting,
                "peakRunning": e.peak_running,
                "ipsUsed": e.ips_used,
                "vcpuNeeded": e.vcpu_needed,
                "compute": load.compute,
                "vcpuPerJob": load.vcpu_per_job,
                "memoryGiBPerJob": load.memory_gib_per_job,
                "timeoutSeconds": load.timeout_seconds,
                "fargateUsdPer1000JobMinutes": cost,
            }
        )
    weighted = [
        (r["jobs"], r["fargateUsdPer1000JobMinutes"])
        for r in runners
        if r["fargateUsdPer1000JobMinutes"] is not None
    ]
    jobs_priced = sum(j for j, _ in weighted)
    return {
        "mode": result.mode,
        "jobs": result.jobs,
        "startAllSeconds": result.start_all_seconds,
        "bindingLimit": result.binding_limit,
        "detail": result.detail,
        "anyJobTimesOut": result.jobs_timed_out > 0,
        "jobsTimedOut": result.jobs_timed_out,
        "jobsRefused": result.jobs_refused,
        "jobsWaitingForSlot": result.jobs_waiting,
        "ipsUsed": result.ips_used,
        "vcpuNeeded": result.vcpu_needed,
        "limits": result.limits,
        "runners": runners,
        "cost": {
            "region": inputs.region,
            "pricesForRegion": priced_region,
            "pricesAsOf": prices.PRICES_AS_OF,
            "source": prices.PRICE_SOURCE,
            "alwaysOnUsdPerHour": always_on,
            "alwaysOnItems": lines,
            "fargateUsdPer1000JobMinutes": round(sum(j * c for j, c in weighted) / jobs_priced, 4)
            if jobs_priced
            else None,
        },
    }


def _seconds(value: float | None) -> str:
    return "never (see limit)" if value is None else f"{value:.0f} s"


def _usd(value: float | None) -> str:
    return "n/a (EC2 lane, priced by instance)" if value is None else f"${value}"


def render_text(doc: dict[str, Any]) -> str:
    cost = doc["cost"]
    out = [
        f"{doc['mode']} stack, {doc['jobs']} jobs: all started after "
        f"{_seconds(doc['startAllSeconds'])}; binding limit {doc['bindingLimit']} "
        f"({doc['detail']})",
        f"  timed out {doc['jobsTimedOut']}, refused {doc['jobsRefused']}, waiting for a "
        f"manager slot {doc['jobsWaitingForSlot']}; IPs {doc['ipsUsed']}, "
        f"vCPU needed {doc['vcpuNeeded']} (quota {doc['limits']['fargateVcpuQuota']})",
    ]
    for r in doc["runners"]:
        out.append(
            f"  runner {r['name']} ({r['compute']}, {r['jobs']} jobs): "
            f"{_seconds(r['startAllSeconds'])}, {r['bindingLimit']}: {r['detail']}; "
            f"pickup {r['pickupSeconds']} s, launch wait {r['launchWaitSeconds']} s, "
            f"timed out {r['jobsTimedOut']}, IPs {r['ipsUsed']}, vCPU {r['vcpuNeeded']}, "
            f"{_usd(r['fargateUsdPer1000JobMinutes'])}/1000 job-min"
        )
    note = (
        ""
        if cost["region"] == cost["pricesForRegion"]
        else (f" (no prices for {cost['region']}: {cost['pricesForRegion']} prices shown)")
    )
    out.append(
        f"  always on: ${cost['alwaysOnUsdPerHour']}/h; Fargate "
        f"${cost['fargateUsdPer1000JobMinutes']} per 1000 job-minutes; prices "
        f"{cost['pricesForRegion']} as of {cost['pricesAsOf']}{note}"
    )
    for line in cost["alwaysOnItems"]:
        cost = line["usdPerHour"]
        shown = "no price in the table" if cost is None else f"${cost}/h"
        out.append(f"    {line['count']} x {line['item']}: {shown}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="reads Pulumi.<stack>.yaml")
    parser.add_argument("--jobs", type=int, required=True, help="jobs queued at once")
    parser.add_argument("--per-runner", action="store_true", help="N jobs for EVERY runner")
    parser.add_argument("--json", action="store_true", help="print JSON (camelCase keys)")
    parser.add_argument(
        "--vcpu-quota",
        type=float,
        default=model.DEFAULT_FARGATE_VCPU_QUOTA,
        help="Fargate On-Demand vCPU quota L-3032A538 (default: new-account 6)",
    )
    parser.add_argument(
        "--spot-vcpu-quota",
        type=float,
        default=model.DEFAULT_FARGATE_VCPU_QUOTA,
        help="quota L-36FBB829",
    )
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=None,
        help="job run time; default: jobs outlast the start window",
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    if args.jobs < 0:
        parser.error("--jobs must be >= 0")
    try:
        raw, region = read_stack(args.project_dir / f"Pulumi.{args.stack}.yaml")
        inputs = load_inputs_from_stack_config(
            raw,
            region,
            args.jobs,
            args.per_runner,
            args.vcpu_quota,
            args.spot_vcpu_quota,
            args.job_seconds,
        )
    except (OSError, StackInputError) as error:
        print(error, file=sys.stderr)
        return 2
    doc = report(inputs)
    print(json.dumps(doc, indent=2) if args.json else render_text(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
