"""What the dashboard and the alarms watch, as plain values (resolved names, no Outputs)."""

from __future__ import annotations

from dataclasses import dataclass

from components.domain.specs import AlertsSpec


@dataclass(frozen=True)
class FleetView:
    mode: str  # "ecs" or "eks"
    region: str
    namespace: str  # the stack's CloudWatch namespace
    prefix: str  # resource_prefix(stack): names the alarms
    runners: tuple[str, ...]
    manager_groups: tuple[str, ...]  # ECS: one Auto Scaling group per manager; EKS: none
    fargate_classes: tuple[str, ...]  # catalogue.FARGATE_CLASSES keys the stack uses
    task_events_log_group: str | None  # ECS: tasks that stopped before running
    alerts: AlertsSpec
    # ECS: (lane, cluster name) of the lanes the runners use; the reaper's start-wait metric
    # has the cluster name as its dimension. EKS: none.
    clusters: tuple[tuple[str, str], ...] = ()
    # EKS: (runner, estimated start in seconds) of the runners whose job pods' start waits
    # the sampler writes (JobStartWaitSeconds by runner_name). ECS: none.
    runner_start_seconds: tuple[tuple[str, float], ...] = ()
    # (what, Lambda function name) of the stack's scheduled functions, whose errors alarm:
    # the ECS task reaper, the EKS start-wait sampler.
    functions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in ("ecs", "eks"):
            raise ValueError(f"mode: {self.mode!r}")
        if not self.runners:
            raise ValueError("a fleet has at least one runner")
        if (self.mode == "ecs") != bool(self.manager_groups):
            raise ValueError("manager groups exist exactly in ecs mode")
        if (self.mode == "ecs") != (self.task_events_log_group is not None):
            raise ValueError("the task events log group exists exactly in ecs mode")
        if self.mode == "eks" and self.clusters:
            raise ValueError("ECS clusters exist only in ecs mode")
        if self.mode == "ecs" and self.runner_start_seconds:
            raise ValueError("the pod start-wait sampler exists only in eks mode")
