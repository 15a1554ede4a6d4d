"""runners[].warmJobs: gitlab-runner pause pods keep EC2-lane capacity ready.

Upstream behaviour relied on (gitlab-runner v19.3.0, executors/kubernetes/autoscaler/):
- provider.go createManager: the pause pods get [runners.kubernetes] `cpu_request` and
  `memory_request` only (BuildResourceRequests), `node_selector` and the node tolerations;
  ensureManager keeps none without a `policy`;
- pause_pod_manager.go: replicas = the active policy's idle_count capped by max_pause_pods
  (calculateDesiredReplicas); a priority class other than the default skips creating one
  (ensurePriorityClass); pod labels are only runner.gitlab.com/pause-pod and the manager ids
  (buildDeployment); the Deployment is read, listed, created, updated and deleted (its
  `kubeAPI:` comments);
- policy.go: the last active policy wins, none active = no pause pods (DefaultPolicy);
- executors/kubernetes/autoscaler/ is absent at v18.10.0 and present at v18.11.0.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.eks.job_size import job_pod_size
from components.eks.warm import WARM_PRIORITY_CLASS, pause_pods_for
from components.offline.mocks import Plan
from tests.eks.support import (
    COMPUTE_LABEL,
    PROFILE,
    UPSTREAM,
    deps,
    eks_config,
    kubernetes_section,
    release,
)

CONFIG = json.loads((UPSTREAM / "gitlab-runner-config.json").read_text())["sections"]
PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"


def warm_runner(**overrides: Any) -> dict[str, Any]:
    return {"name": "spot", "lane": "spot", "concurrency": 10, "warmJobs": 10, **overrides}


def problems_of(runners: list[dict[str, Any]], **eks: Any) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(eks_config(runners=runners, **({"eks": eks} if eks else {})))
    return raised.value.problems


def test_a_warm_privileged_runner_keeps_pause_pods_for_whole_job_pods(full_plan: Plan) -> None:
    """The docker runner (tests/eks/support.py FULL_RUNNERS): 2 warm jobs of 2 vCPU / 4 GiB,
    whose build container (the docker CLI) requests 250m / 512Mi; a pause pod requests just
    that, so 2 jobs need 2 x 2000m / 250m = 16 pause pods."""
    kubernetes = kubernetes_section(full_plan, "docker")
    autoscaler = kubernetes["autoscaler"]
    assert autoscaler == {
        "max_pause_pods": 16,
        "pause_pod_priority_class_name": WARM_PRIORITY_CLASS,
        "policy": [{"idle_count": 16, "timezone": "Europe/Berlin", "periods": ["* 8-17 * * 1-5"]}],
    }
    assert set(autoscaler) <= set(CONFIG["runners.kubernetes.autoscaler"]["keys"])
    policy_keys = CONFIG["runners.kubernetes.autoscaler.policy"]["keys"]
    assert set(autoscaler["policy"][0]) <= set(policy_keys)
    # Placed like the job pods: the lane's NodePool, its taint, the job architecture.
    assert kubernetes["node_selector"] == {
        "karpenter.sh/nodepool": "privileged",
        "kubernetes.io/arch": "amd64",
    }
    taint = "gitlab-fargate-runners/pool=privileged"
    assert kubernetes["node_tolerations"] == {taint: "NoSchedule"}
    assert "autoscaler" not in kubernetes_section(full_plan, "spot")  # no warmJobs: none


def test_the_runner_may_manage_its_pause_pod_deployment_and_no_more(full_plan: Plan) -> None:
    rules = release(full_plan, "docker").inputs["values"]["rbac"]["rules"]
    assert {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "verbs": ["create", "delete", "get", "list", "update"],
    } in rules
    assert not any("priorityclasses" in r["resources"] for r in rules)  # the program makes it
    assert release(full_plan, "docker").inputs["values"]["rbac"]["clusterWideAccess"] is False


def test_turning_warm_jobs_off_leaves_the_stopping_manager_its_delete(full_plan: Plan) -> None:
    """The pause-pod Deployment goes only when the manager that made it stops: Shutdown runs
    after the last job (gitlab-runner v19.3.0 commands/multi.go:763-766) and deletes it
    (executors/kubernetes/autoscaler/provider.go:66-79, pause_pod_manager.go:148-162,
    440-447); a manager without an autoscaler policy never touches one (provider.go:113-115).
    The Helm upgrade that drops `warmJobs` applies the new Role before the old manager has
    drained, so a runner without warm jobs (the spot runner here, the fargate one after a lane
    change) must keep the rule, or the delete is refused and the pause pods hold a node."""
    rule = {
        "apiGroups": ["apps"],
        "resources": ["deployments"],
        "verbs": ["create", "delete", "get", "list", "update"],
    }
    for runner in ("spot", "fargate"):
        assert rule in release(full_plan, runner).inputs["values"]["rbac"]["rules"], runner


def test_the_program_creates_the_priority_class_below_every_job(full_plan: Plan) -> None:
    (cls,) = full_plan.all(PRIORITY_CLASS)
    assert cls.inputs["metadata"]["name"] == WARM_PRIORITY_CLASS
    assert cls.inputs["value"] == -1 and cls.inputs["globalDefault"] is False
    assert cls.inputs["preemptionPolicy"] == "Never"
    assert cls.name in deps(full_plan, release(full_plan, "docker"))


def test_no_priority_class_without_warm_jobs(plan: Plan) -> None:
    assert plan.all(PRIORITY_CLASS) == []


def test_the_fargate_profile_never_selects_a_pause_pod(full_plan: Plan) -> None:
    """Pause pods carry only runner.gitlab.com/pause-pod and the manager ids
    (pause_pod_manager.go buildDeployment), never the compute label every runner-profile
    selector requires, so they stay with Karpenter."""
    runner_profiles = [
        p for p in full_plan.all(PROFILE) if p.inputs["fargateProfileName"] == "gitlab-runners"
    ]
    assert runner_profiles
    for profile in runner_profiles:
        for selector in profile.inputs["selectors"]:
            assert selector["labels"] == COMPUTE_LABEL


def test_pause_pods_hold_the_larger_of_the_cpu_and_memory_shares() -> None:
    config, _ = parse_config(eks_config(runners=[warm_runner(memory=8192, cpu=1024)]))
    size = job_pod_size(config.runners[0], config.eks)
    # build = the pod minus the helper (875m of 1000m, 7936 of 8192 MiB): CPU decides,
    # ceil(10 x 1000 / 875) = 12
    assert (size.build_cpu_m, size.pod_cpu_m) == (875, 1000)
    assert pause_pods_for(size, 10) == 12
    assert pause_pods_for(size, 0) == 0


def test_warm_jobs_on_the_fargate_lane_are_refused() -> None:
    problems = problems_of([warm_runner(lane="fargate")])
    assert any(
        "runners[0] (spot).warmJobs: 10 on the fargate lane" in p and "micro-VM" in p
        for p in problems
    )


def test_warm_jobs_need_a_chart_with_runner_18_11() -> None:
    (problem,) = problems_of([warm_runner()], runnerChartVersion="0.87.0")
    assert "needs gitlab-runner 18.11 or later" in problem and "ships 18.10" in problem
    parse_config(eks_config(runners=[warm_runner()], eks={"runnerChartVersion": "0.88.0"}))


def test_warm_jobs_above_the_concurrency_and_bad_schedules_are_refused() -> None:
    problems = problems_of(
        [warm_runner(warmJobs=11, warmPeriods=["8-17 mon-fri"], warmTimezone="Mars/Base")]
    )
    assert any("above the runner's concurrency 10" in p for p in problems)
    assert any("warmPeriods" in p and "five-field cron" in p for p in problems)
    assert any("warmTimezone" in p and "IANA time zone" in p for p in problems)
