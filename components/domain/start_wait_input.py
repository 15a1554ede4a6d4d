"""What EventBridge Scheduler hands the EKS start-wait sampler each minute, and whether a fleet
fits in it (the sampler: components/eks/start_wait_sampler.py, its handler:
components/eks/start_wait/handler.py).

The runner list rides in the schedule target's input, not in the function's environment:
Lambda allows 4 KB of environment variables in all ("Lambda quotas"), and the cluster's CA
alone takes ~1.5 kB of it, so a few dozen runners would not fit; a target's input may hold
8192 characters (EventBridge Scheduler API reference, Target.Input: length 1 to 8192). With
it goes the schedule's own time, the context attribute `<aws.scheduler.scheduled-time>`
(EventBridge Scheduler user guide, "Adding context attributes"), which the handler takes as
the end of its window, so a late or early invocation neither drops nor repeats a pod.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

SCHEDULER_INPUT_MAX_CHARS = 8192
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def runner_namespace(runner_name: str) -> str:
    """The Kubernetes namespace of a runner's release and job pods."""
    return f"gitlab-runner-{runner_name}"


def sampler_input(runner_names: Iterable[str]) -> str:
    """The schedule target's input: {namespace: runner name} and the scheduled time."""
    runners = {runner_namespace(n): n for n in sorted(runner_names)}
    return json.dumps({"runners": runners, "scheduledTime": SCHEDULED_TIME}, sort_keys=True)


def sampler_input_problem(runner_names: Iterable[str]) -> str | None:
    """The runners do not fit in the sampler's schedule input: refused before any cloud call,
    since Scheduler would refuse the schedule at `pulumi up` after the plan passed."""
    names = list(runner_names)
    size = len(sampler_input(names))
    if size <= SCHEDULER_INPUT_MAX_CHARS:
        return None
    return (
        f"runners: {len(names)} runners take {size} characters in the start-wait sampler's "
        f"schedule input, over EventBridge Scheduler's {SCHEDULER_INPUT_MAX_CHARS}; use fewer "
        "runners or shorter names, or set observability.enabled false"
    )
