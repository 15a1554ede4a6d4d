"""The capacity report for a person: one table row per runner, then how the jobs were split,
what runs around the clock, and the assumptions the numbers rest on.

Rendered from the same document `--json` prints (components/capacity/report.py), so the text
and the JSON never disagree. Plain column formatting: the table is small and fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.capacity import model, prices
from components.capacity.report import SPLIT_PER_RUNNER

BINDING = {
    "jobPickup": "GitLab's job pickup",
    "runTaskRate": "ECS RunTask rate",
    "fargateLaunchRate": "Fargate launch rate",
    "managerCapacity": "manager job slots",
    "vcpuQuota": "Fargate vCPU quota",
    "subnetIps": "free subnet IPs",
    "ec2PoolLimit": "Karpenter pool CPU limit",
    "ec2Quota": "EC2 vCPU quota",
    "pollTimeout": "poll timeout",
    "prepareTimeout": "prepare timeout",
    "none": "nothing (no jobs)",
}
COMPUTE = {
    model.COMPUTE_FARGATE: "Fargate",
    model.COMPUTE_FARGATE_SPOT: "Fargate Spot",
    model.COMPUTE_EC2: "EC2",
}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Columns as wide as their widest cell; the columns in `right` aligned right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _not_started(entry: dict[str, Any], mode: str) -> list[str]:
    parts = []
    if entry["jobsWaitingForSlot"]:
        parts.append(f"{entry['jobsWaitingForSlot']} wait for a manager slot")
    if entry["jobsRefused"]:
        parts.append(f"{entry['jobsRefused']} refused")
    if entry["jobsTimedOut"]:
        pending = "stay Pending and time out" if mode == "eks" else "time out"
        parts.append(f"{entry['jobsTimedOut']} {pending}")
    return parts


def started(entry: dict[str, Any], mode: str) -> str:
    """When a runner's (or the stack's) jobs have all started, in words."""
    if not entry["jobs"]:
        return "no jobs"
    if entry["startAllSeconds"] is not None:
        return f"after {entry['startAllSeconds']:.0f} s"
    return "never: " + ", ".join(_not_started(entry, mode))


def _usd(value: float) -> str:
    return f"${value:.4f}".rstrip("0").rstrip(".") if value else "$0"


def _job_cost(runner: dict[str, Any]) -> str:
    if runner["fargateUsdPer1000JobMinutes"] is not None:
        return _usd(runner["fargateUsdPer1000JobMinutes"])
    if runner.get("ec2UsdPer1000JobMinutes") is not None:
        return f"{_usd(runner['ec2UsdPer1000JobMinutes'])} (node share)"
    return "no price for this region"


def _any_warm(doc: dict[str, Any]) -> bool:
    return any(r.get("warmJobs") for r in doc["runners"])


def _warm(runner: dict[str, Any]) -> str:
    """The jobs that found warm EC2 capacity (runners[].warmJobs) and when they all ran."""
    if not runner.get("warmJobs"):
        return "-"
    return f"{runner['warmJobs']} after {runner['warmStartedSeconds']:.0f} s"


def _runner_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in doc["runners"]:
        runs_on = COMPUTE.get(r["compute"], r["compute"])
        if r.get("pool"):
            runs_on += f" ({r['pool']} pool)"
        if r.get("architecture") == model.ARM64:
            runs_on += ", arm64"
        rows.append(
            [
                r["name"],
                runs_on,
                str(r["jobs"]),
                started(r, doc["mode"]),
                BINDING.get(r["bindingLimit"], r["bindingLimit"]),
                _job_cost(r),
            ]
        )
        if _any_warm(doc):
            rows[-1].insert(4, _warm(r))
    return rows


def _why(doc: dict[str, Any]) -> list[str]:
    out = []
    for r in doc["runners"]:
        out.append(
            f"  {r['name']}: {r['detail']}; picked up within {r['pickupSeconds']:g} s, longest "
            f"launch wait {r['launchWaitSeconds']:g} s, {r['peakRunning']} running at the peak "
            f"({r['vcpuNeeded']:g} vCPU needed, {r['ipsUsed']} IPs)"
        )
    return out


def _split(doc: dict[str, Any]) -> list[str]:
    runners = doc["runners"]
    if doc.get("split") == SPLIT_PER_RUNNER:
        line = f"Split: every runner gets all {runners[0]['jobs']} jobs (--per-runner)."
    else:
        shares = ", ".join(
            f"{r['name']} {r['jobs']} (concurrency {r['concurrency']})" for r in runners
        )
        line = (
            f"Split: the {doc['jobs']} jobs are shared out in proportion to each runner's "
            f"concurrency, largest remainder first: {shares}. --per-runner gives every runner "
            f"all {doc['jobs']}."
        )
    queues: dict[str, list[str]] = {}
    for r in runners:
        queues.setdefault(r["queue"], []).append(r["name"])
    rate = doc["limits"]["queueDispatchPerSecond"]
    shared = [names for names in queues.values() if len(names) > 1]
    if shared:
        groups = "; ".join(" and ".join(names) for names in shared)
        queue_line = (
            f"Runners with the same tags take jobs from one GitLab queue and share its pickup "
            f"rate of {rate:g} jobs/s: {groups}."
        )
    else:
        queue_line = (
            f"Each runner has its own tags, so each takes jobs from its own GitLab queue, at up "
            f"to {rate:g} jobs/s."
        )
    return [line, queue_line]


def _cost(doc: dict[str, Any]) -> list[str]:
    cost = doc["cost"]
    per_job = cost["fargateUsdPer1000JobMinutes"]
    if per_job is not None:
        jobs = f"jobs {_usd(per_job)} per 1000 job-minutes on Fargate (averaged over those jobs)"
    elif doc["jobs"]:
        jobs = "no job runs on Fargate (EC2-lane jobs: their node share, in the table)"
    else:
        jobs = "no jobs to price"
    out = [
        f"Cost at {cost['priceBasis']}: {jobs}; always on "
        f"{_usd(cost['alwaysOnUsdPerHour'])} per hour:"
    ]
    grouped: dict[str, list[Any]] = {}
    for item in cost["alwaysOnItems"]:
        entry = grouped.setdefault(item["item"], [0, 0.0, True])
        entry[0] += item["count"]
        entry[1] += item["usdPerHour"] or 0.0
        entry[2] = entry[2] and item["usdPerHour"] is not None
    rows = [
        [f"{count:g} x {item}", f"{_usd(usd)}/h" if priced else "no price in the table"]
        for item, (count, usd, priced) in grouped.items()
    ]
    out += [f"  {line}" for line in _table(["Part", "Per hour"], rows, right={1})]
    return out


def _assumptions(doc: dict[str, Any]) -> list[str]:
    limits = doc["limits"]
    job_seconds = doc.get("jobSeconds")
    jobs = (
        "every job runs longer than the others take to start, so all are wanted at once "
        "(--job-seconds N models shorter jobs)"
        if job_seconds is None
        else f"every job runs {job_seconds:g} s, then frees its slot for the next"
    )
    out = [
        "Assumptions (components/capacity/model.py; docs/scaling.md):",
        f"  - all jobs are queued at once; {jobs}",
        f"  - GitLab hands out at most {limits['queueDispatchPerSecond']:g} jobs/s per queue "
        "(calibrated on the seed's 200- and 400-job runs); a runner asks again at once after "
        f"each job, one request per {limits['requestSeconds']:g} s per request in flight",
        f"  - a Fargate task or pod runs {limits['startSeconds']:g} s after its launch; a pod on "
        f"a new Karpenter EC2 node {limits['ec2StartSeconds']:g} s"
        + (
            f"; one on warm capacity (warmJobs: it preempts pause pods on a running node) "
            f"{limits['warmStartSeconds']:g} s"
            if _any_warm(doc)
            else ""
        ),
        f"  - Fargate launches: a burst of {limits['launchBurst']}, then "
        f"{limits['launchPerSecond']:g} per second per account and region"
        + (
            f"; ECS RunTask {limits['runTaskPerSecond']:g} calls per second"
            if limits["runTaskPerSecond"]
            else ""
        ),
        f"  - Fargate vCPU quotas: {limits['fargateVcpuQuota']:g} On-Demand "
        + (
            f"for jobs ({limits['systemPodsVcpu']:g} of --vcpu-quota go to the system pods, "
            "as preflight counts them), "
            if limits.get("systemPodsVcpu")
            else "(--vcpu-quota), "
        )
        + f"{limits['fargateSpotVcpuQuota']:g} Spot (--spot-vcpu-quota); "
        f"{model.DEFAULT_FARGATE_VCPU_QUOTA:g} is a new account's",
    ]
    if limits.get("ec2PoolVcpu"):
        pools = ", ".join(f"{pool} {cpu:g}" for pool, cpu in limits["ec2PoolVcpu"].items())
        out.append(f"  - Karpenter NodePool CPU limits (vCPU): {pools}")
    if limits.get("ec2VcpuQuota"):
        quotas = ", ".join(f"{pool} {cpu:g}" for pool, cpu in limits["ec2VcpuQuota"].items())
        out.append(
            f"  - EC2 vCPU quotas of the Karpenter pools, counted in job pods' vCPU as preflight "
            f"counts them: {quotas} (--ec2-spot-vcpu-quota, --ec2-vcpu-quota; 5 is a new "
            "account's)"
        )
    if limits.get("managerJobCapacity") is not None:
        out.append(
            f"  - the runner managers hold {limits['managerJobCapacity']} jobs at once "
            "(components/ecs/sizing.py)"
        )
    bases = "; ".join(
        f"{r['name']}: {r['priceBasis']}" for r in doc["runners"] if "priceBasis" in r
    )
    if bases:
        out.append(f"  - job prices: {bases}")
    out.append(
        f"  - Fargate Spot at {prices.FARGATE_SPOT_FRACTION:.0%} of the On-Demand price; data "
        "transfer, logs and storage are not included"
    )
    return out


def render_text(doc: dict[str, Any]) -> str:
    """The whole report as lines a person reads at a glance."""
    mode = doc["mode"]
    head = f"{mode} stack in {doc['cost']['region']}: {doc['jobs']} jobs queued at once"
    if not doc["jobs"]:
        summary = "No jobs queued: nothing to start."
    elif doc["startAllSeconds"] is not None:
        summary = (
            f"All {doc['jobs']} started after {doc['startAllSeconds']:.0f} s; what binds: "
            f"{BINDING.get(doc['bindingLimit'], doc['bindingLimit'])} ({doc['detail']})."
        )
    else:
        summary = (
            f"Not all start: {', '.join(_not_started(doc, mode))}; what binds: "
            f"{BINDING.get(doc['bindingLimit'], doc['bindingLimit'])} ({doc['detail']})."
        )
    out = [head, summary]
    header = ["Runner", "Runs on", "Jobs", "All started", "What binds", "$ per 1000 job-min"]
    if _any_warm(doc):  # runners[].warmJobs: the column only where some runner has them
        header.insert(4, "Warm jobs started")
    if doc["runners"]:
        out += ["", *_table(header, _runner_rows(doc), right={2})]
        out += ["", "Why:", *_why(doc), "", *_split(doc)]
    out += ["", *_cost(doc), "", *_assumptions(doc)]
    return "\n".join(out)
