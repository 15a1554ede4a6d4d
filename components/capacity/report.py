"""The capacity estimate as a document for scripts (`--json`) and for the text report."""

from __future__ import annotations

from typing import Any

from components.capacity import model, prices
from components.capacity.inputs import Inputs

SPLIT_BY_CONCURRENCY = "byConcurrency"  # N jobs shared out in proportion to concurrency
SPLIT_PER_RUNNER = "perRunner"  # every runner gets N (--per-runner)


def report(inputs: Inputs) -> dict[str, Any]:
    """The estimate as a JSON-ready document (camelCase keys; fields are only ever added)."""
    result = model.estimate(inputs.loads, inputs.limits)
    table, priced_region = prices.prices_for(inputs.region)
    always_on, lines = prices.always_on_per_hour(table, inputs.always_on)
    by_name = {r.name: r for r in inputs.loads}
    rates = model.pickup_rates(inputs.loads, inputs.limits)
    runners = []
    for e in result.runners:
        load = by_name[e.name]
        price = prices.job_price(
            table,
            load.vcpu_per_job,
            load.memory_gib_per_job,
            load.architecture,
            load.compute,
            ec2_spot=load.pool == "spot",
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
                "architecture": load.architecture,
                "fargateUsdPer1000JobMinutes": price.fargate_usd_per_1000_minutes,
                "ec2UsdPer1000JobMinutes": price.ec2_usd_per_1000_minutes,
                "priceBasis": price.basis,
                "concurrency": load.concurrency,
                "queue": load.queue,
                "pool": load.pool or None,
                "firstRequestSeconds": load.check_interval / 2,
                "pickupPerSecond": round(rates.get(e.name, 0.0), 3),
                "warmJobs": e.warm_jobs,
                "warmStartedSeconds": e.warm_started_seconds,
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
        "limits": {
            **result.limits,
            "ec2StartSeconds": inputs.limits.ec2_start_seconds,
            "warmStartSeconds": inputs.limits.warm_start_seconds,
            "requestSeconds": inputs.limits.request_seconds,
            "ec2PoolVcpu": dict(inputs.limits.ec2_pool_vcpu),
            "ec2VcpuQuota": dict(inputs.limits.ec2_quota_vcpu),
        },
        "split": SPLIT_PER_RUNNER if inputs.per_runner else SPLIT_BY_CONCURRENCY,
        "jobSeconds": inputs.job_seconds,
        "runners": runners,
        "cost": {
            "region": inputs.region,
            "pricesForRegion": priced_region,
            "priceBasis": prices.price_basis(inputs.region),
            "pricesAsOf": prices.PRICES_AS_OF,
            "source": prices.PRICE_SOURCE,
            "alwaysOnUsdPerHour": always_on,
            "alwaysOnItems": lines,
            "fargateUsdPer1000JobMinutes": round(sum(j * c for j, c in weighted) / jobs_priced, 4)
            if jobs_priced
            else None,
        },
    }
