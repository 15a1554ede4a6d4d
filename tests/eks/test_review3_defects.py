"""REVIEW3: tests that demonstrate defects found in review (they FAIL on main as of 560aa39).

Not fixes: each states what upstream does and what the code would have to do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from components.eks.start_wait.pods import start_waits
from tests.harness import dev_config, run_program


def _pod(created: datetime, ready: datetime) -> dict:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "metadata": {"labels": {}, "creationTimestamp": created.strftime(stamp)},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ready.strftime(stamp)}
            ]
        },
    }


def test_a_pod_ready_while_a_run_lists_is_counted_by_one_run_only() -> None:
    """handler.sample takes `now` before it lists the pods; a pod that turns Ready during the
    listing (ready > now) passes `now - ready <= window` in this run and again in the next,
    one minute later. Windows must tile: [now - window, now) per run (better: the schedule's
    own <aws.scheduler.scheduled-time> as `now`, so runs' jitter neither drops nor repeats)."""
    now = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    pod = _pod(now - timedelta(seconds=30), now + timedelta(seconds=1))
    runs = [now, now + timedelta(seconds=60)]
    counted = sum(len(start_waits([pod], run, 60)) for run in runs)
    assert counted == 1


# Lambda quotas ("Lambda quotas", Function configuration): environment variables, 4 KB in all.
LAMBDA_ENVIRONMENT_BYTES = 4096
# An EKS cluster CA's certificate-authority-data is ~1.4-1.5 kB of base64; the mocks' is shorter.
EKS_CA_DATA_CHARS = 1480


def test_the_samplers_environment_fits_lambdas_4_kb_for_a_fleet_the_config_accepts() -> None:
    """SAMPLER_RUNNERS carries {namespace: name} for every runner and SAMPLER_CA the cluster's
    CA: 30 runners with 32-character names (the config accepts them: no runner count limit)
    go over Lambda's 4 KB, and CreateFunction is refused at `pulumi up` (the variables'
    JSON is what Lambda counts), after the plan passed."""
    runners = [{"name": f"team-{i:02d}-" + "x" * 24, "lane": "spot"} for i in range(30)]
    plan = run_program(dev_config(mode="eks", runners=runners))
    (function,) = [
        f for f in plan.all("aws:lambda/function:Function") if f.name == "eks-start-wait-fn"
    ]
    variables = dict(function.inputs["environment"]["variables"])
    variables["SAMPLER_CA"] = "L" * EKS_CA_DATA_CHARS
    assert len(json.dumps(variables)) <= LAMBDA_ENVIRONMENT_BYTES
