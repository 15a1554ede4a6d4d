"""Docker-in-Docker jobs: the dind service does the building, so it gets the runner's size and
the build container (the docker CLI) stays small; jobs may raise a service up to a bound.

Checked on what the runner receives: the release's `runners.config` goes through the chart's
ConfigMap template (gitlab-runner chart 0.86.0 templates/configmap.yaml, fact
`configmap.config_template_line`: `tpl .Values.runners.config $ | toYaml`) into
config.template.toml, which the register script merges into config.toml. gitlab-runner 18.9
then gives the build container cpu_*/memory_* (executors/kubernetes/kubernetes.go:1216-1217)
and each service container service_* (kubernetes.go:2323-2324), and accepts a job's
KUBERNETES_SERVICE_* value only up to service_*_overwrite_max_allowed
(executors/kubernetes/overwrites.go:674-711, evaluateMaxResourceOverwrite).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import parse_config
from components.eks.job_size import job_pod_size, millicores
from components.offline.mocks import Plan
from tests.eks.support import KNOWN_KUBERNETES_KEYS, eks_config, release

CHART = json.loads(
    (Path(__file__).resolve().parent.parent / "upstream" / "gitlab-runner-chart.json").read_text()
)
UNITS = {"m": 0.001, "": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
# The privileged runner of the full plan (tests/eks/support.py FULL_RUNNERS): 2 vCPU, 4 GiB.
DOCKER_CPU_M, DOCKER_MEMORY_MIB = 2000, 4096


def quantity(text: str) -> float:
    """A Kubernetes quantity in base units (cores, bytes), for the suffixes used here."""
    number, suffix = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[suffix]


def rendered_kubernetes(plan: Plan, runner: str) -> dict[str, Any]:
    """[runners.kubernetes] as the runner reads it from the chart's config.template.toml."""
    line = CHART["configmap"]["config_template_line"]
    assert line == "config.template.toml: {{ tpl .Values.runners.config $ | toYaml | indent 2 }}"
    assert CHART["configmap"]["register_uses_template_config"] is True
    config = release(plan, runner).inputs["values"]["runners"]["config"]
    # `tpl` evaluates the value as a template: with no action in it, it is the text itself.
    assert "{{" not in config
    data = yaml.safe_load(f"config.template.toml: {yaml.safe_dump(config)}")
    (entry,) = tomllib.loads(data["config.template.toml"])["runners"]
    return entry["kubernetes"]


def container(kubernetes: dict[str, Any], prefix: str) -> dict[str, float]:
    return {
        f"{resource}_{kind}": quantity(kubernetes[f"{prefix}{resource}_{kind}"])
        for resource in ("cpu", "memory")
        for kind in ("request", "limit")
    }


def overwrite(kubernetes: dict[str, Any], key: str, value: str) -> str:
    """gitlab-runner's evaluateMaxResourceOverwrite for one service resource."""
    maximum = kubernetes.get(f"service_{key}_overwrite_max_allowed", "")
    if not maximum:
        return kubernetes[f"service_{key}"]  # no bound configured: the job cannot change it
    if quantity(value) > quantity(maximum):
        raise ValueError(f"{key} {value} is above the allowed {maximum}")
    return value


def test_the_dind_service_is_at_least_as_large_as_the_build_container(full_plan: Plan) -> None:
    kubernetes = rendered_kubernetes(full_plan, "docker")
    assert set(kubernetes) <= KNOWN_KUBERNETES_KEYS
    build, helper, service = (container(kubernetes, p) for p in ("", "helper_", "service_"))
    for key in build:
        assert service[key] >= build[key], key
    # The build container runs the docker CLI: small. One service (docker:dind) fills the pod
    # to the runner's size exactly.
    assert build["cpu_request"] <= 0.25 and build["memory_request"] <= 512 * 2**20
    assert build["cpu_request"] + helper["cpu_request"] + service["cpu_request"] == pytest.approx(
        DOCKER_CPU_M / 1000
    )
    assert (
        build["memory_request"] + helper["memory_request"] + service["memory_request"]
        == DOCKER_MEMORY_MIB * 2**20
    )


def test_jobs_may_raise_the_dind_service_up_to_the_runners_size(full_plan: Plan) -> None:
    kubernetes = rendered_kubernetes(full_plan, "docker")
    for key in ("cpu_request", "cpu_limit"):
        assert kubernetes[f"service_{key}_overwrite_max_allowed"] == f"{DOCKER_CPU_M}m"
        assert overwrite(kubernetes, key, "2") == "2"
        with pytest.raises(ValueError, match="above the allowed"):
            overwrite(kubernetes, key, "2100m")
    for key in ("memory_request", "memory_limit"):
        assert kubernetes[f"service_{key}_overwrite_max_allowed"] == f"{DOCKER_MEMORY_MIB}Mi"
        assert overwrite(kubernetes, key, "4Gi") == "4Gi"
        with pytest.raises(ValueError, match="above the allowed"):
            overwrite(kubernetes, key, "5Gi")


@pytest.mark.parametrize("runner", ["fargate", "spot"])
def test_other_lanes_keep_the_global_service_size_and_no_overwrite(
    full_plan: Plan, runner: str
) -> None:
    kubernetes = rendered_kubernetes(full_plan, runner)
    # eks.serviceCpu 512 units / eks.serviceMemory 1024 MiB in the full plan.
    assert container(kubernetes, "service_")["cpu_request"] == pytest.approx(0.5)
    assert container(kubernetes, "service_")["memory_request"] == 1024 * 2**20
    assert not [k for k in kubernetes if k.endswith("_overwrite_max_allowed")]
    assert overwrite(kubernetes, "cpu_request", "4") == kubernetes["service_cpu_request"]


@pytest.mark.parametrize(
    ("cpu", "memory"), [(512, 1024), (1024, 2048), (2048, 16384), (4096, 8192)]
)
def test_any_privileged_size_keeps_dind_the_larger_container(cpu: int, memory: int) -> None:
    config, _ = parse_config(
        eks_config(runners=[{"name": "d", "lane": "privileged", "cpu": cpu, "memory": memory}])
    )
    size = job_pod_size(config.runners[0], config.eks)
    assert size.service_cpu_m >= size.build_cpu_m > 0
    assert size.service_memory_mib >= size.build_memory_mib > 0
    assert size.pod_cpu_m == millicores(cpu) and size.pod_memory_mib == memory
    assert (size.service_max_cpu_m, size.service_max_memory_mib) == (millicores(cpu), memory)
