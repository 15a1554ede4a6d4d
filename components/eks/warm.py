"""Warm capacity for EC2-lane runners (`runners[].warmJobs`): gitlab-runner's pause pods.

What gitlab-runner does (v19.3.0, executors/kubernetes/autoscaler/ and docs/executors/
kubernetes/_index.md "Pre-warm cluster capacity with pause pods"; absent at v18.10.0, present
from v18.11.0):
- with a `[runners.kubernetes.autoscaler]` section that has at least one `policy`
  (provider.go ensureManager), the manager keeps a Deployment of pause pods, replicas =
  the active policy's `idle_count` capped by `max_pause_pods` (pause_pod_manager.go
  calculateDesiredReplicas). The last policy whose cron `periods` match the time in its
  `timezone` wins; when none matches, no pause pods are kept (policy.go Active/DefaultPolicy);
- a pause pod requests only [runners.kubernetes] `cpu_request`/`memory_request`, the BUILD
  container's (provider.go BuildResourceRequests), not the helper's or services'. So one job
  needs several pause pods' room: pause_pods_for() counts them;
- it gets the runner's `node_selector` and `node_tolerations` (provider.go createManager), so
  it lands on the lane's NodePool, and Karpenter keeps a node for it; its labels are only
  runner.gitlab.com/pause-pod and the manager ids (buildDeployment), not `pod_labels`, so the
  runners' Fargate profile (which selects the compute label) never takes one;
- `pause_pod_priority_class_name` set to anything but the default skips creating a
  PriorityClass (ensurePriorityClass): PriorityClasses are cluster-scoped and the chart's
  namespaced Role (clusterWideAccess false) cannot grant them, so this program creates the
  class itself and the runner only needs `deployments` in its namespace (get, list, create,
  update, delete: the `kubeAPI:` comments in pause_pod_manager.go).
"""

from __future__ import annotations

import math
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.domain.specs import RunnerSpec
from components.eks.job_size import JobPodSize
from components.naming import PROJECT

# Below every job pod (no priority class = 0), so a job's pod preempts pause pods.
WARM_PRIORITY_CLASS = f"{PROJECT}-warm"
WARM_PRIORITY = -1
# The namespaced rule the runner's Role gains for its pause-pod Deployment.
PAUSE_POD_RBAC_RULE: dict[str, Any] = {
    "apiGroups": ["apps"],
    "resources": ["deployments"],
    "verbs": ["create", "delete", "get", "list", "update"],
}


def pause_pods_for(size: JobPodSize, jobs: int) -> int:
    """Pause pods whose requests together hold the room of `jobs` whole job pods (build +
    helper + the services the lane's size holds): each pause pod requests the build
    container's CPU and memory only."""
    per_job = max(size.pod_cpu_m / size.build_cpu_m, size.pod_memory_mib / size.build_memory_mib)
    return math.ceil(jobs * per_job)


def autoscaler_section(runner: RunnerSpec, size: JobPodSize) -> dict[str, Any]:
    """[runners.kubernetes.autoscaler] for a runner's warm jobs: one policy, active in the
    runner's warmPeriods (always when none), nothing kept outside them."""
    pods = pause_pods_for(size, runner.warm_jobs)
    policy: dict[str, Any] = {"idle_count": pods, "timezone": runner.warm_timezone}
    if runner.warm_periods:
        policy["periods"] = list(runner.warm_periods)
    return {
        "max_pause_pods": pods,
        "pause_pod_priority_class_name": WARM_PRIORITY_CLASS,
        "policy": [policy],
    }


def warm_priority_class(
    name: str, provider: k8s.Provider, parent: pulumi.Resource
) -> k8s.scheduling.v1.PriorityClass:
    """The cluster's one priority class for pause pods, below every job pod."""
    return k8s.scheduling.v1.PriorityClass(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=WARM_PRIORITY_CLASS),
        value=WARM_PRIORITY,
        global_default=False,
        preemption_policy="Never",
        description="gitlab-runner pause pods (runners[].warmJobs): preempted by job pods.",
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
