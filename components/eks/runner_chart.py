"""One GitLab Runner manager per configured runner: the official `gitlab-runner` Helm chart
(Kubernetes executor) in its own namespace, with its glrt- token in a Kubernetes Secret.

Pure functions render the chart values and the `runners.config` TOML; the component creates
the Namespace, the Secret, the job service account, the manager's PodDisruptionBudget (on EC2
nodes only, see `manager_pdb`) and the Helm release.

Day-2 behaviour (docs/eks-operations.md):
- a new token rolls the manager pod: the chart's `checksum/secrets` hashes nothing with
  `runners.secret` and the manager reads the token only at start, so a pod annotation carries
  an HMAC of the token (computed inside a secret Output, never the token);
- a stopping manager finishes its jobs: the chart's entrypoint execs the runner under
  dumb-init with no stop signal, so Kubernetes' SIGTERM would abort every job; a preStop hook
  sends SIGQUIT (graceful) and waits, within terminationGracePeriodSeconds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import tomli_w

from components.domain.eks_sizing import manager_size
from components.domain.specs import EksFleetSpec, EksSpec, RunnerSpec
from components.eks.job_size import job_pod_size, resource_settings
from components.eks.placement import (
    DO_NOT_DISRUPT,
    FARGATE,
    POOL_TAINT_KEY,
    Placement,
    fargate_pod_labels,
    job_node_selector,
    manager_grace_seconds,
    placement_for,
    pool_selector,
    pool_toleration,
    runner_namespace,
)
from components.eks.trust import CA_SECRET, ca_file_name, with_ca_annotation
from components.eks.warm import PAUSE_POD_RBAC_RULE, autoscaler_section
from components.naming import PROJECT, type_token
from components.shared.cache import CacheSettings, cache_section
from components.shared.images import helper_image_for

TYPE_TOKEN = type_token("eks", "GitLabRunnerChart")

CHART = "gitlab-runner"
CHART_REPOSITORY = "https://charts.gitlab.io"
TOKEN_SECRET = "gitlab-runner-token"
# Pod annotation whose value changes with the runner token, so a new token rolls the pod.
TOKEN_ANNOTATION = f"{PROJECT}/token-hmac"
# Helm waits up to this for an install/upgrade (the manager Ready; a Fargate or fresh Karpenter
# node takes minutes) and for an uninstall. Uninstall deletes the Deployment in the background,
# so it does not wait out the manager's grace period; the namespace deletion after it does.
RELEASE_TIMEOUT_SECONDS = 900
# A runner namespace goes only once its pods are gone: the manager finishing its running jobs
# (its terminationGracePeriodSeconds), then the last job pods' own stop. Its delete waits that
# long (the provider's default is minutes) before the Fargate profile and NodePools its pods
# run on may go.
NAMESPACE_DELETE_MARGIN_SECONDS = 300
# The chart's runner process: the readiness probe's pattern (process name gitlab-runner).
RUNNER_PROCESS = "gitlab.*runner"
# preStop: graceful stop (SIGQUIT: no new jobs, running ones finish), then wait for the exit.
GRACEFUL_STOP = (
    f"pkill -QUIT '{RUNNER_PROCESS}'; while pgrep '{RUNNER_PROCESS}' >/dev/null; do sleep 5; done"
)
# Docker-in-Docker with TLS: the dind service writes client certs here for the build container.
DOCKER_CERTS_VOLUME = {"name": "docker-certs", "mount_path": "/certs/client", "medium": "Memory"}
# IRSA: the manager's service account assumes this role (it presigns the S3 cache URLs).
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
# The permissions the Kubernetes executor needs in its job namespace (runner docs, 18.x),
# pods list/watch enabling the informer and pods/log for CI_DEBUG_SERVICES.
RUNNER_RBAC_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]},
    {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["create", "delete", "get", "list", "watch"],
    },
    {
        "apiGroups": [""],
        "resources": ["pods/attach", "pods/exec"],
        "verbs": ["create", "delete", "get", "patch"],
    },
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete", "get", "update"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["services"], "verbs": ["create", "get"]},
)


def runner_rbac_rules() -> list[dict[str, Any]]:
    """The manager's namespaced Role: the executor's rules and its pause-pod Deployment
    (components/eks/warm.py), the latter for every runner, warm jobs or not.

    A manager deletes its pause-pod Deployment only as it stops, after its last job
    (gitlab-runner v19.3.0 commands/multi.go:763-766, stopWorkers then
    shutdownUsedExecutorProviders; executors/kubernetes/autoscaler/provider.go:66-79 Shutdown;
    pause_pod_manager.go:148-162 Stop, 440-447 deleteDeployment); a manager without an
    autoscaler policy never touches one (provider.go:108-115, and the orphan cleanup runs in
    createManager only, :170-173). The manager that stops is the one an update replaces, and
    by then the Helm upgrade has applied the new Role: a rule that went with `warmJobs` (or
    with the lane) would refuse that delete, and the pause pods would hold their node for
    good."""
    return [*RUNNER_RBAC_RULES, PAUSE_POD_RBAC_RULE]


def runners_config_toml(
    runner: RunnerSpec,
    eks: EksSpec,
    cache: CacheSettings | None = None,
    helper_image: str | None = None,
    environment: Sequence[str] = (),
    pool_prefix: str = "",
) -> str:
    """The `runners.config` chart value: one [[runners]] entry for the Kubernetes executor,
    with the stack's S3 cache when `cache` is given.

    Only settings gitlab-runner knows; URL, token and executor come from the chart.
    `helper_image` None keeps gitlab-runner's default helper (registry.gitlab.com), which it
    picks per architecture from the node selector; a set one gets the runner's architecture
    when its tag follows the helper's <arch>-v<version> scheme.

    `environment` (network.httpProxy) becomes the runner's `environment`: job variables
    (gitlab-runner v18.9.0 common/config.go:2213-2226) that the Kubernetes executor sets on
    every container of the job pod, helper included (executors/kubernetes/kubernetes.go:
    1466, 1510). The CA needs no entry here: the manager hands the chain it verified GitLab
    with to each job as CI_SERVER_TLS_CA_FILE (common/build.go:1523-1533), which git and the
    helper use (shells/abstract.go:599-625)."""
    placement = placement_for(runner, eks)
    kubernetes: dict[str, Any] = {
        "namespace": runner_namespace(runner.name),
        "image": eks.default_job_image,
        "poll_timeout": eks.poll_timeout_seconds,
        **resource_settings(job_pod_size(runner, eks)),
    }
    if helper_image:
        kubernetes["helper_image"] = helper_image_for(helper_image, placement.architecture)
    if placement.jobs == FARGATE:
        kubernetes["pod_labels"] = fargate_pod_labels()
    else:
        kubernetes["pod_annotations"] = {DO_NOT_DISRUPT: "true"}
        kubernetes["node_selector"] = job_node_selector(placement, pool_prefix)
        pool = f"{pool_prefix}{placement.jobs}"
        kubernetes["node_tolerations"] = {f"{POOL_TAINT_KEY}={pool}": "NoSchedule"}
        if runner.warm_jobs:
            kubernetes["autoscaler"] = autoscaler_section(runner, job_pod_size(runner, eks))
    if runner.lane == "privileged":
        # Docker-in-Docker needs privileged containers: only this lane, only on EC2 nodes.
        kubernetes["privileged"] = True
        kubernetes["volumes"] = {"empty_dir": [dict(DOCKER_CERTS_VOLUME)]}
    # Job pods run as a service account with no RBAC, and get no API token mounted.
    kubernetes["service_account"] = job_service_account(runner)
    kubernetes["automount_service_account_token"] = False
    # `limit` = the chart's `concurrent` (one runner per release): gitlab_runner_limit then
    # carries the runner's concurrency, which the saturation alarm divides by.
    entry = {
        "limit": runner.concurrency,
        "request_concurrency": runner.request_concurrency_in("eks"),
        "kubernetes": kubernetes,
    }
    if environment:
        entry["environment"] = list(environment)
    if cache is not None:
        entry["cache"] = cache_section(cache)
    return tomli_w.dumps({"runners": [entry]})


def _manager_placement_values(placement: Placement, pool_prefix: str) -> dict[str, Any]:
    if placement.manager == FARGATE:
        return {"podLabels": fargate_pod_labels()}
    return {
        "nodeSelector": pool_selector(placement.manager, pool_prefix),
        "tolerations": [pool_toleration(placement.manager, pool_prefix)],
        # Karpenter must not consolidate or drift a node away under a manager and its jobs.
        "podAnnotations": {DO_NOT_DISRUPT: "true"},
    }


def manager_pdb(runner: RunnerSpec, eks: EksSpec) -> bool:
    """Whether the manager gets a PodDisruptionBudget that forbids its eviction.

    On Fargate, no: EKS patches Fargate pods through the Eviction API, and a refused eviction
    only turns into a deletion at a date AWS picks (EKS user guide, "Fargate OS patching"),
    while an allowed one is the graceful stop below (preStop SIGQUIT, the running jobs finish
    within terminationGracePeriodSeconds, the Deployment starts a new manager).
    On a Karpenter node, yes: Karpenter skips nodes with such a pod for consolidation and
    drift, and on forceful expiry waits for it up to the NodePool's terminationGracePeriod,
    which is above the manager's grace period (Karpenter docs, concepts/disruption.md "Pod-
    Level Controls"; designs/forceful-expiration.md), as for karpenter.sh/do-not-disrupt."""
    return placement_for(runner, eks).manager != FARGATE


def namespace_delete_seconds(eks: EksSpec) -> int:
    """How long deleting a runner namespace may take: its manager's grace period + margin."""
    return manager_grace_seconds(eks) + NAMESPACE_DELETE_MARGIN_SECONDS


def release_name(runner: RunnerSpec) -> str:
    """The Helm release, the manager's service account and (fullnameOverride) the name and
    `app` label of its Deployment."""
    return f"gitlab-runner-{runner.name}"


@dataclass(frozen=True)
class ManagerCache:
    """The cache a runner manager uses, and the IRSA role that lets it presign URLs."""

    settings: CacheSettings
    role_arn: str


def job_service_account(runner: RunnerSpec) -> str:
    """The service account of job pods: bound to no Role."""
    return f"{release_name(runner)}-jobs"


def token_fingerprint(release: str, token: str) -> str:
    """HMAC-SHA256 of the token keyed by the release name, shortened: changes with the token,
    reveals nothing about it."""
    digest = hmac.new(release.encode(), token.encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def runner_chart_values(
    config: EksFleetSpec, runner: RunnerSpec, cache: ManagerCache | None = None
) -> dict[str, Any]:
    """Helm values for one runner. The token is NOT here: the chart reads `runners.secret`.

    The chart runs its unregister preStop hook only without `deploymentLifecycle`; this
    program needs that hook for the graceful stop, so unregisterRunners is false. With a glrt-
    token a pod only ever owns a runner *manager* record (the runner and its tags stay in
    GitLab), and GitLab deletes manager records not contacted for 7 days.

    network.httpProxy reaches the manager through the chart's `extraEnv` (chart 0.86.0
    templates/_env_vars.tpl:26-29; values.yaml:691), gitlab.caBundle through
    `certsSecretName` (CA_SECRET)."""
    placement = placement_for(runner, config.eks)
    proxy = config.proxy_environment
    return {
        "gitlabUrl": config.gitlab_url,
        "fullnameOverride": release_name(runner),
        "concurrent": runner.concurrency,
        "checkInterval": config.eks.check_interval,
        "logFormat": "json",
        "unregisterRunners": False,
        "terminationGracePeriodSeconds": manager_grace_seconds(config.eks),
        "deploymentLifecycle": {
            "preStop": {"exec": {"command": ["/bin/bash", "-c", GRACEFUL_STOP]}}
        },
        "rbac": {"create": True, "clusterWideAccess": False, "rules": runner_rbac_rules()},
        "serviceAccount": {
            "create": True,
            "name": release_name(runner),
            **({"annotations": {IRSA_ROLE_ANNOTATION: cache.role_arn}} if cache else {}),
        },
        # The listener also serves /debug/jobs/list and /debug/pprof on every pod interface:
        # open only while the metrics collector scrapes it (observability.enabled).
        "metrics": {"enabled": config.observability.enabled},
        "resources": manager_size(runner.concurrency).resources(),
        **({"certsSecretName": CA_SECRET} if config.ca_bundle else {}),
        **({"extraEnv": dict(proxy)} if proxy else {}),
        **with_ca_annotation(
            _manager_placement_values(placement, config.pool_prefix), config.ca_bundle
        ),
        "runners": {
            "name": runner.name,
            "secret": TOKEN_SECRET,
            "config": runners_config_toml(
                runner,
                config.eks,
                cache.settings if cache else None,
                config.helper_image,
                [f"{name}={value}" for name, value in config.proxy_environment],
                config.pool_prefix,
            ),
        },
    }


def namespace_labels(runner: RunnerSpec) -> dict[str, str]:
    """Pod Security Admission: only the privileged lane's namespace admits privileged pods."""
    level = "privileged" if runner.lane == "privileged" else "baseline"
    return {
        "pod-security.kubernetes.io/enforce": level,
        "app.kubernetes.io/managed-by": "pulumi",
        "gitlab-fargate-runners/runner": runner.name,
    }


@dataclass(frozen=True)
class GitLabRunnerChartArgs:
    config: EksFleetSpec
    runner: RunnerSpec
    provider: k8s.Provider
    # What the runner's pods run on and use: the runner Fargate profile, its NodePools and the
    # Karpenter release, the logging ConfigMap, the cache policy. Created before the namespace
    # and deleted after it, so a draining manager keeps them until its namespace is gone.
    depends_on: Sequence[pulumi.Resource]
    token: pulumi.Output[str]  # secret glrt- token (components/gitlab/runners.py)
    cache: pulumi.Output[ManagerCache] | None = None
    retired: bool = False  # switchFrom: no manager pod (the chart's `replicas`: 0)


class GitLabRunnerChart(pulumi.ComponentResource):
    """Namespace + token Secret + gitlab-runner Helm release for one runner."""

    def __init__(
        self, name: str, args: GitLabRunnerChartArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        runner = args.runner
        self.namespace_name = runner_namespace(runner.name)
        self.release_name = release_name(runner)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.namespace = namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.namespace_name, labels=namespace_labels(runner)
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                # The token's resources too (the GitLab runner, with gitlab.createRunners):
                # the stopping manager reports its jobs with that token while the namespace
                # is deleted. The Output resolves to no resource, so only its dependencies
                # count; the token value is not read.
                depends_on=[*args.depends_on, args.token.apply(lambda _: None)],
                custom_timeouts=pulumi.CustomTimeouts(
                    delete=f"{namespace_delete_seconds(args.config.eks)}s"
                ),
            ),
        )
        secret = k8s.core.v1.Secret(
            f"{name}-token",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=TOKEN_SECRET, namespace=namespace.metadata.name
            ),
            type="Opaque",
            string_data={
                "runner-token": pulumi.Output.secret(args.token),
                # The chart requires the key; registration tokens are deprecated.
                "runner-registration-token": "",
            },
            opts=k8s_opts,
        )
        ca_bundle = args.config.ca_bundle
        release_inputs: list[pulumi.Resource] = [secret]
        if ca_bundle:
            release_inputs.append(
                k8s.core.v1.Secret(
                    f"{name}-ca",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=CA_SECRET, namespace=namespace.metadata.name
                    ),
                    type="Opaque",
                    string_data={ca_file_name(args.config.gitlab_url): ca_bundle},
                    opts=k8s_opts,
                )
            )
        k8s.core.v1.ServiceAccount(
            f"{name}-job-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=job_service_account(runner), namespace=namespace.metadata.name
            ),
            automount_service_account_token=False,
            opts=k8s_opts,
        )
        if manager_pdb(runner, args.config.eks):
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-manager-pdb",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=self.release_name, namespace=namespace.metadata.name
                ),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=0,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app": self.release_name}),
                ),
                opts=k8s_opts,
            )
        # The values without the token annotation: shown by the offline plan.
        self.values: pulumi.Output[dict[str, Any]] = pulumi.Output.from_input(args.cache).apply(
            lambda cache: runner_chart_values(args.config, runner, cache)
        )
        # The release gets the same values key by key, so the token's fingerprint can stay a
        # secret leaf instead of making every value secret (and unreviewable) in the state.
        shape = runner_chart_values(args.config, runner)
        release_values: dict[str, Any] = {
            key: self.values.apply(lambda v, k=key: v[k]) for key in shape
        }
        if args.retired:
            # A Deployment scaled down deletes its pods gracefully: preStop SIGQUIT, running
            # jobs finish within terminationGracePeriodSeconds, with the release's RBAC intact.
            release_values["replicas"] = 0
        release_values["podAnnotations"] = {
            **shape.get("podAnnotations", {}),
            TOKEN_ANNOTATION: pulumi.Output.secret(args.token).apply(
                lambda t: token_fingerprint(self.release_name, t)
            ),
        }
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=self.release_name,
            chart=CHART,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
            version=args.config.eks.runner_chart_version,
            namespace=namespace.metadata.name,
            values=release_values,
            timeout=RELEASE_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[*release_inputs, *args.depends_on],
            ),
        )
        self.register_outputs({"namespace": self.namespace_name, "release": self.release_name})


def runner_summary(runner: RunnerSpec, eks: EksSpec) -> Mapping[str, Any]:
    """The `runners` stack output entry: where to find and how to target a runner."""
    placement = placement_for(runner, eks)
    return {
        "name": runner.name,
        "namespace": runner_namespace(runner.name),
        "release": release_name(runner),
        "lane": runner.lane,
        "tags": list(runner.tags),
        "placement": {
            "manager": placement.manager,
            "jobs": placement.jobs,
            "architecture": placement.architecture,
        },
    }
