"""How long a launched job pod or task takes to run, by where it runs: one source for the
capacity estimate (components/capacity/model.py) and the start-wait alarm
(components/observability/alarms.py), so the alarm fires against what the plan predicted."""

from __future__ import annotations

# A Fargate pod/task takes "~1 min" to start (FACTS.md 3: micro-VM + ENI + image pull, no image
# cache). 45 s is calibrated on the seed blog (capacity/model.py SEED CALIBRATION) and sits
# inside the 40-60 s usually reported; large images take longer.
FARGATE_START_SECONDS = 45.0
# EKS EC2 lanes: Karpenter launches a node, then the pod starts on it. Project estimate (not
# measured): ~60 s node boot + ~30 s join and pull.
EC2_START_SECONDS = 90.0
# Warm EC2 capacity (runners[].warmJobs, gitlab-runner pause pods): the job pod preempts pause
# pods, which stop at once (terminationGracePeriodSeconds 0, executors/kubernetes/autoscaler/
# pause_pod_manager.go at v19.3.0), on a node that is already up; what is left is the
# scheduler's preemption, the image pull and container start. Project estimate, not measured.
WARM_START_SECONDS = 15.0
# "Far above the estimate": the estimates are typical starts of a modest image; the reported
# spread (40-60 s on Fargate) and a large image (a 1-2 GB pull adds tens of seconds) stay
# under three times the estimate, so a p90 beyond it means something the model does not
# expect (launch throttling, capacity shortage, a slow registry, a quota). Project
# assumption, not measured; docs/observability.md#job-start-wait-above-the-estimate.
START_WAIT_ALARM_FACTOR = 3.0


def start_wait_alarm_seconds(estimate_seconds: float) -> float:
    """The p90 start wait that is far above a lane's estimated start."""
    return estimate_seconds * START_WAIT_ALARM_FACTOR


def eks_lane_start_seconds(lane: str) -> float:
    """The capacity estimate's start of an EKS job pod by lane, as components/capacity prices
    it: a Fargate pod on the fargate lane, a new Karpenter node on the EC2 lanes (spot,
    privileged). Warm jobs start sooner; a runner's p90 is its cold starts' as soon as more
    jobs start than it keeps warm, so the alarm compares against the cold start."""
    return FARGATE_START_SECONDS if lane == "fargate" else EC2_START_SECONDS
