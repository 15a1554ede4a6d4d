"""Where EKS-mode pods run: the labels, taints and names Fargate profiles, Karpenter NodePools
and the gitlab-runner chart must agree on. Kept in one module so they cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from components.domain.specs import EksSpec, RunnerSpec

# The naming is the domain's (the sampler's schedule input is checked at config load).
from components.domain.start_wait_input import runner_namespace as runner_namespace

# A pod in a runner namespace runs on Fargate only if it carries this label: the runner Fargate
# profile selects the runner namespaces + label, so unlabelled pods fall through to Karpenter.
COMPUTE_LABEL = "gitlab-fargate-runners/compute"
FARGATE = "fargate"
# The Fargate profile that serves every runner namespace (components/eks/cluster.py). Its
# name sorts before the per-runner profiles ("runner-<name>") earlier versions made.
RUNNERS_PROFILE = "gitlab-runners"
# Where several profiles match a pod, this label names the one it uses (EKS user guide,
# fargate-profile.md): runner pods name the shared profile, so during the migration from
# per-runner profiles no new pod lands on an old profile about to be deleted.
FARGATE_PROFILE_LABEL = "eks.amazonaws.com/fargate-profile"
# Every Karpenter NodePool taints its nodes with this key (value = pool name), so only pods that
# ask for a pool land on it, and stray pods stay Pending instead of filling CI nodes.
POOL_TAINT_KEY = "gitlab-fargate-runners/pool"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
# Every EC2 job pod names its node architecture: Karpenter then launches a node of that
# architecture (Graviton for arm64) from a pool that admits it, and gitlab-runner picks the
# helper image of that architecture from this very node selector (tests/upstream/
# architectures.json). Managers and Fargate pods stay amd64.
ARCH_LABEL = "kubernetes.io/arch"
MANAGER_ARCHITECTURE = "amd64"
# Karpenter must not consolidate a node away while a CI job runs on it.
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
SYSTEM_POOL = "system"
# EC2 lanes and the Karpenter NodePool each one uses.
LANE_POOLS = {"spot": "spot", "privileged": "privileged"}
# The runner tags the README recommends per lane (tags live on the runner in GitLab).
KARPENTER_NAMESPACE = "karpenter"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
KUBE_SYSTEM = "kube-system"


# A stopping manager finishes its running jobs (SIGQUIT) for up to the job timeout; the margin
# covers the last job's upload and the manager's own exit.
MANAGER_STOP_MARGIN_SECONDS = 300
# Karpenter's drain deadline sits above the pods' own grace period, so it never cuts it short.
NODE_DRAIN_MARGIN_SECONDS = 300


def manager_grace_seconds(eks: EksSpec) -> int:
    """terminationGracePeriodSeconds of a manager pod: long enough for its longest job."""
    return eks.job_timeout_seconds + MANAGER_STOP_MARGIN_SECONDS


def node_termination_grace(eks: EksSpec) -> str:
    """NodePool terminationGracePeriod: how long Karpenter lets pods on a node it removes
    (expiry, Spot reclaim aside) finish before it deletes them anyway."""
    return f"{manager_grace_seconds(eks) + NODE_DRAIN_MARGIN_SECONDS}s"


def fargate_pod_labels() -> dict[str, str]:
    """Labels of a runner pod that runs on Fargate: the manager with managerPlacement fargate,
    a fargate-lane job."""
    return {COMPUTE_LABEL: FARGATE, FARGATE_PROFILE_LABEL: RUNNERS_PROFILE}


@dataclass(frozen=True)
class Placement:
    """Where a runner's manager pod and its job pods run: "fargate" or a NodePool name."""

    manager: str
    jobs: str
    architecture: str = MANAGER_ARCHITECTURE  # kubernetes.io/arch of the job pods

    @property
    def pools(self) -> tuple[str, ...]:
        return tuple(sorted({p for p in (self.manager, self.jobs) if p != FARGATE}))


def placement_for(runner: RunnerSpec, eks: EksSpec) -> Placement:
    manager = FARGATE if eks.manager_placement == "fargate" else SYSTEM_POOL
    jobs = FARGATE if runner.lane == "fargate" else LANE_POOLS[runner.lane]
    return Placement(manager=manager, jobs=jobs, architecture=runner.architecture)


def pool_selector(pool: str, prefix: str = "") -> dict[str, str]:
    """`prefix`: of the cluster-scoped NodePool names (EksFleetSpec.pool_prefix)."""
    return {NODEPOOL_LABEL: f"{prefix}{pool}"}


def job_node_selector(placement: Placement, prefix: str = "") -> dict[str, str]:
    """The node selector of a runner's EC2 job pods: its pool and its architecture."""
    return {**pool_selector(placement.jobs, prefix), ARCH_LABEL: placement.architecture}


def pool_toleration(pool: str, prefix: str = "") -> dict[str, str]:
    value = f"{prefix}{pool}"
    return {"key": POOL_TAINT_KEY, "operator": "Equal", "value": value, "effect": "NoSchedule"}
