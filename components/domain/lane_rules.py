"""The value rules of an EKS fleet's lanes: what Karpenter can launch for the EC2 lanes and
what Fargate runs, one function each, called by the stack file's parser
(components/config/eks_checks.py, leftovers.py, architecture.py), the fleet's args check
(fleet_rules.py `eks_fleet_problems`) and the component provider alike.

Instance categories: Karpenter labels an instance type with the leading letters of its name
as `karpenter.k8s.aws/instance-category` and the digits after them as `instance-generation`
(karpenter-provider-aws pkg/providers/instancetype/types.go, `instanceTypeScheme =
(^[a-z]+)(\\-[0-9]+tb)?([0-9]+).*\\.`), and a NodePool's requirements all hold at once: an
instance type must satisfy every one (Karpenter docs, concepts/nodepools "requirements"; the
pod's own node selector is intersected with them, concepts/scheduling). Graviton is not a
category: it is the `g` after the generation (c7g, m7g, t4g; EC2 User Guide, "Amazon EC2
instance type naming conventions": "g - AWS Graviton processors"), and the category `g` is
the GPU family (g4dn, g5, g5g). So a lane's `kubernetes.io/arch In [...]`, its
`instance-generation Gt 2` and `instance-category In eks.instanceCategories` must leave at
least one family, or every job of the lane stays Pending.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from components.domain.chart_versions import runner_of_chart_version
from components.domain.eks_sizing import manager_size
from components.domain.fargate_sizes import EKS_FARGATE_POD_OVERHEAD_MIB
from components.domain.manager_sizing import MIB_PER_VCPU
from components.domain.specs import EksSpec, RunnerSpec
from components.domain.value_rules import item_problems, too_few_problem
from components.domain.versions import PAUSE_PODS_RUNNER, TESTED_CHART

# Kubernetes node architectures (the kubernetes.io/arch label) of EKS job pods.
NODE_ARCHITECTURES = ("amd64", "arm64")
ARM64_NODE = "arm64"
# A NodePool limit is what stops a runaway bill: 10,000 vCPU is 2,500 jobs of 4 vCPU, beyond the
# 2,000-job ceiling of one runner; anything larger is a typo (an extra zero), not a plan.
MAX_POOL_VCPU = 10000
# Each NodePool requires `instance-category In` these: Karpenter's CRD refuses an `In`
# requirement without a value (karpenter.sh_nodepools.yaml:343 at v1.14.1).
INSTANCE_CATEGORIES_RULE = "one or more single lowercase letters, e.g. c, m, r"
# Categories with a family past generation 2 (the NodePools' `instance-generation Gt 2`), by
# architecture (EC2 User Guide, instance types: c/m/r/t/i/x/g/p have Graviton (or Grace)
# families such as c8g, t4g, i8g, x8g, g5g, p6e-gb200; d3 and u7i are x86 only). a1, f1/f2,
# h1 and z1d are all generation 1 or 2, so `a`, `f`, `h` and `z` give no node at all.
CATEGORY_ARCHITECTURES = {
    **dict.fromkeys("cmrtixgp", ("amd64", "arm64")),
    **dict.fromkeys("du", ("amd64",)),
    **dict.fromkeys("afhz", ()),
}
EC2_LANES = ("spot", "privileged")
MANAGER_ARCHITECTURE = "amd64"  # the runner managers' image is amd64 (eks/placement.py)
# A node's kubelet, kube-proxy and aws-node take a share of what the system pool's limit counts.
SYSTEM_NODE_OVERHEAD = 1.15


def check_instance_category(value: str) -> str | None:
    return None if re.fullmatch(r"[a-z]", value) else "is not an instance category (c, m, r...)"


def instance_category_item_problems(eks: EksSpec) -> list[str]:
    """eks.instanceCategories' own rule (the stack key's `check` and `min_items`)."""
    path = "eks.instanceCategories"
    problems = item_problems(path, eks.instance_categories, check_instance_category)
    few = too_few_problem(path, eks.instance_categories, 1, INSTANCE_CATEGORIES_RULE)
    return problems + ([few] if few else [])


def fargate_arm64_problem(label: str, runner: RunnerSpec) -> str | None:
    """EKS Fargate runs x86_64 pods only (aws/containers-roadmap issue 1629, open; FACTS.md
    9): arm64 is for the EC2 lanes, where Karpenter launches Graviton nodes."""
    if runner.architecture != ARM64_NODE or runner.lane != "fargate":
        return None
    return (
        f"{label}.architecture: 'arm64' is not available on "
        "the fargate lane: EKS Fargate runs x86_64 pods only (AWS containers-roadmap "
        "issue 1629); use lane spot or privileged (Karpenter launches Graviton "
        "nodes for them), or architecture amd64"
    )


def gpu_category_warning(eks: EksSpec) -> str | None:
    if "g" not in eks.instance_categories:
        return None
    return (
        "eks.instanceCategories: 'g' is the GPU category (g4dn, g5, g5g), not Graviton, so "
        "Karpenter may launch GPU instances for jobs; Graviton is the 'g' after the "
        "generation (c7g, m7g), which a runner gets with architecture arm64"
    )


def instance_category_problems(runners: Sequence[RunnerSpec], eks: EksSpec) -> list[str]:
    """Categories that leave an EC2 lane no instance type of its architecture."""
    categories = eks.instance_categories
    known = [c for c in categories if c in CATEGORY_ARCHITECTURES]
    if len(known) < len(categories):
        return []  # a category this table does not know may well have families
    needs = [
        (f"runners[{i}] ({x.name})", x.architecture)
        for i, x in enumerate(runners)
        if x.lane in EC2_LANES
    ]
    if eks.manager_placement == "ec2":
        needs.append(("eks.managerPlacement ec2 (the runner managers)", MANAGER_ARCHITECTURE))
    problems = []
    for who, architecture in needs:
        if any(architecture in CATEGORY_ARCHITECTURES[c] for c in known):
            continue
        offer = "".join(c for c, a in CATEGORY_ARCHITECTURES.items() if architecture in a)
        problems.append(
            f"eks.instanceCategories: {list(categories)} has no EC2 family of generation 3 or "
            f"later for {architecture}, which {who} needs (Karpenter requires every NodePool "
            "requirement at once, so its jobs would stay Pending); Graviton is not a category "
            "but the 'g' after the generation (c7g), chosen by the runner's architecture: use "
            f"categories with {architecture} families ({', '.join(offer)}), e.g. pulumi config "
            "set --path 'eks.instanceCategories[0]' c"
        )
    return problems


def ec2_lane_pod_problem(i: int, runner: RunnerSpec, eks: EksSpec) -> str | None:
    """EC2-lane pods run on Karpenter nodes, not Fargate (no size table), but the lane's
    NodePool launches no node above its `limits.cpu` (Karpenter v1 NodePool limits), and a
    node's allocatable is below its capacity (kubelet and system reservations): a pod whose
    CPU reaches the limit, or whose memory reaches the most the allowed categories give that
    many vCPU (c 2, m 4, r 8 GiB per vCPU), never gets a node."""
    if runner.lane not in EC2_LANES:
        return None
    key = "spotCpuLimit" if runner.lane == "spot" else "privilegedCpuLimit"
    limit = eks.spot_cpu_limit if runner.lane == "spot" else eks.privileged_cpu_limit
    ratios = [MIB_PER_VCPU.get(c) for c in eks.instance_categories]
    # Memory per vCPU of the roomiest allowed category; unknown categories (x, z...): not judged.
    ratio = max(x for x in ratios if x is not None) if ratios and None not in ratios else None
    needed = runner.cpu // 1024 + 1  # the smallest limit a node holding the pod fits under
    if ratio is not None:
        needed = max(needed, runner.memory // ratio + 1)
    if needed <= limit:
        return None
    return (
        f"runners[{i}] ({runner.name}): cpu {runner.cpu} / memory {runner.memory} pods "
        f"need a node larger than the {runner.lane} NodePool may launch (eks.{key} {limit} "
        f"vCPU, categories {', '.join(eks.instance_categories)}): they stay Pending; raise "
        f"eks.{key} to {needed} or more (and the EC2 quota with it) or lower the runner's size"
    )


def build_room_problem(i: int, runner: RunnerSpec, eks: EksSpec) -> str | None:
    """The build container gets the pod's size less the helper's and Fargate's overhead."""
    build_memory = runner.memory - eks.helper_memory - EKS_FARGATE_POD_OVERHEAD_MIB
    if runner.cpu - eks.helper_cpu >= 64 and build_memory >= 128:
        return None
    return (
        f"runners[{i}] ({runner.name}): cpu {runner.cpu} / memory {runner.memory} "
        f"leaves too little for the build container once the helper "
        f"({eks.helper_cpu} CPU, {eks.helper_memory} MiB) and the "
        f"{EKS_FARGATE_POD_OVERHEAD_MIB} MiB Fargate overhead are taken; use at least "
        "cpu 512 / memory 1024"
    )


def pod_room_problems(runners: Sequence[RunnerSpec], eks: EksSpec) -> list[str]:
    """Job pods no node can hold: EC2-lane pods above their NodePool's limit, and pods whose
    build container gets too little (stack file: eks_checks.py `check_eks_pod_room`)."""
    problems = []
    for i, runner in enumerate(runners):
        for problem in (ec2_lane_pod_problem(i, runner, eks), build_room_problem(i, runner, eks)):
            problems += [problem] if problem else []
    return problems


def system_pool_problem(runners: Sequence[RunnerSpec], eks: EksSpec) -> str | None:
    """Managers on EC2 (managerPlacement ec2) all live in the system NodePool."""
    if eks.manager_placement != "ec2":
        return None
    cpu = sum(manager_size(x.concurrency).cpu_m for x in runners) / 1000
    needed = math.ceil(cpu * SYSTEM_NODE_OVERHEAD)
    if needed <= eks.system_cpu_limit:
        return None
    return (
        f"eks.systemCpuLimit: {eks.system_cpu_limit} vCPU cannot hold the runner managers "
        f"(eks.managerPlacement ec2): together they request {cpu:g} vCPU, about {needed} "
        f"with each node's own daemons, and Karpenter launches no node past the limit, so "
        f"some managers stay Pending and their runners take no jobs; raise "
        f"eks.systemCpuLimit to {needed} or set eks.managerPlacement fargate"
    )


def warm_jobs_problems(label: str, runner: RunnerSpec, chart_version: str) -> list[str]:
    """warmJobs keeps gitlab-runner pause pods on the runner's EC2 lane (runner 18.11+)."""
    if not runner.warm_jobs:
        return []
    key = f"{label}.warmJobs: {runner.warm_jobs}"
    problems = []
    if runner.lane == "fargate":
        problems.append(
            f"{key} on the fargate lane: every Fargate pod is its own micro-VM, so a pause pod "
            "reserves no capacity for a job, it only costs; remove warmJobs or use lane spot "
            "or privileged (EC2 nodes that pause pods can keep ready)"
        )
    elif runner.warm_jobs > runner.concurrency:
        problems.append(
            f"{key} is above the runner's concurrency {runner.concurrency}: capacity for "
            f"jobs it never runs; set it to {runner.concurrency} or less"
        )
    runner_version = runner_of_chart_version(chart_version)
    if runner_version < PAUSE_PODS_RUNNER:
        problems.append(
            f"{key} needs gitlab-runner 18.11 or later (pause pods, [runners.kubernetes."
            f"autoscaler]); eks.runnerChartVersion {chart_version} ships "
            f"{runner_version[0]}.{runner_version[1]}: use chart 0.88.0 or later "
            f"(tested: {TESTED_CHART})"
        )
    return problems
