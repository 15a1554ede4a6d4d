"""The EKS metrics collector: one ADOT collector pod on Fargate that scrapes every runner
manager pod's `metrics` port and writes gitlab-runner's metrics to CloudWatch as EMF.

Fargate runs no DaemonSets, so this is a one-replica Deployment. It runs in kube-system,
which the cluster's own Fargate profile already selects (no extra profile, none of the
runner profiles). It may list pods in the runner namespaces only (a Role in each), and
assumes its IAM role through IRSA (EKS Pod Identity does not serve Fargate); that role may
only write the stack's metrics log group. Configuration: components/observability/scrape.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.domain.specs import EksFleetSpec
from components.eks.placement import KUBE_SYSTEM, runner_namespace
from components.eks.policies import irsa_trust_policy
from components.naming import PROJECT, type_token
from components.observability.catalogue import metrics_log_group_name
from components.observability.scrape import (
    COLLECTOR_CONFIG_FILE,
    COLLECTOR_IMAGE,
    HEALTH_PORT,
    render_collector_config,
)
from components.shared.marker import metrics_log_group_aliases

TYPE_TOKEN = type_token("eks", "MetricsCollector")
COLLECTOR_NAME = "gitlab-runner-metrics-collector"
# The Role and RoleBinding in each runner namespace. The chart names its own there
# fullnameOverride, `gitlab-runner-<runner>` (templates/role.yaml:5 at chart 0.86.0), which
# COLLECTOR_NAME would be for a runner named "metrics-collector"; the project prefix never is.
POD_DISCOVERY_NAME = f"{PROJECT}-metrics-collector"
CONFIG_MOUNT = "/conf"
# Requests = limits; Fargate adds 256 MiB and rounds up: a 0.25 vCPU / 1 GB pod, which
# preflight counts (domain/eks_sizing.py METRICS_COLLECTOR_POD).
COLLECTOR_CPU_M = 250
COLLECTOR_MEMORY_MIB = 512
# What the Prometheus pod discovery needs in each runner namespace.
POD_DISCOVERY_RULES = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
)
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def collector_policy(log_group_arn: str) -> dict[str, object]:
    """EMF events into the one log group; no cloudwatch:PutMetricData (CloudWatch Logs
    extracts the metrics)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteRunnerMetrics",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            }
        ],
    }


@dataclass(frozen=True)
class MetricsCollectorArgs:
    config: EksFleetSpec
    prefix: str  # the fleet's name prefix: names the log group
    namespace: str  # the CloudWatch namespace of the runners' metrics
    region: pulumi.Output[str]
    provider: k8s.Provider
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    # The runner releases (their namespaces must exist) and the logging ConfigMap.
    depends_on: Sequence[pulumi.Resource]
    tags: Mapping[str, str]


class MetricsCollector(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MetricsCollectorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k8s_opts = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=list(args.depends_on)
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=metrics_log_group_name(args.prefix),
            retention_in_days=args.config.log_retention_days,
            tags=dict(args.tags),
            # The same group as ECS mode's: a switch hands it over (shared/marker.py).
            opts=pulumi.ResourceOptions(parent=self, aliases=metrics_log_group_aliases("eks")),
        )
        role = aws.iam.Role(
            f"{name}-role",
            description="gitlab-runner metrics collector: write EMF metrics (IRSA)",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda v: json.dumps(irsa_trust_policy(v[0], v[1], KUBE_SYSTEM, COLLECTOR_NAME))
            ),
            tags=dict(args.tags),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=self.log_group.arn.apply(lambda arn: json.dumps(collector_policy(arn))),
            opts=child,
        )
        namespaces = [runner_namespace(r.name) for r in args.config.runners]
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=COLLECTOR_NAME,
                namespace=KUBE_SYSTEM,
                annotations={IRSA_ROLE_ANNOTATION: role.arn},
            ),
            opts=k8s_opts,
        )
        for namespace in namespaces:
            k8s.rbac.v1.Role(
                f"{name}-{namespace}-pods",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=POD_DISCOVERY_NAME, namespace=namespace),
                rules=[dict(rule) for rule in POD_DISCOVERY_RULES],
                opts=k8s_opts,
            )
            k8s.rbac.v1.RoleBinding(
                f"{name}-{namespace}-pods",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=POD_DISCOVERY_NAME, namespace=namespace),
                role_ref={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": POD_DISCOVERY_NAME,
                },
                subjects=[
                    {"kind": "ServiceAccount", "name": COLLECTOR_NAME, "namespace": KUBE_SYSTEM}
                ],
                opts=k8s_opts,
            )
        self.config_yaml = pulumi.Output.all(args.region, self.log_group.name).apply(
            lambda v: render_collector_config(v[0], args.namespace, v[1], namespaces)
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=COLLECTOR_NAME, namespace=KUBE_SYSTEM),
            data={COLLECTOR_CONFIG_FILE: self.config_yaml},
            opts=k8s_opts,
        )
        labels = {"app": COLLECTOR_NAME}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=COLLECTOR_NAME, namespace=KUBE_SYSTEM),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels,
                        # A new configuration rolls the pod (the collector reads it at start).
                        annotations={
                            "checksum/config": self.config_yaml.apply(
                                lambda c: hashlib.sha256(c.encode()).hexdigest()
                            )
                        },
                    ),
                    spec=self._pod_spec(),
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[*args.depends_on, policy, account, config_map],
            ),
        )
        self.register_outputs({"logGroup": self.log_group.name})

    @staticmethod
    def _pod_spec() -> k8s.core.v1.PodSpecArgs:
        resources = {"cpu": f"{COLLECTOR_CPU_M}m", "memory": f"{COLLECTOR_MEMORY_MIB}Mi"}
        return k8s.core.v1.PodSpecArgs(
            service_account_name=COLLECTOR_NAME,
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="collector",
                    image=COLLECTOR_IMAGE,
                    args=[f"--config={CONFIG_MOUNT}/{COLLECTOR_CONFIG_FILE}"],
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests=resources, limits=resources
                    ),
                    liveness_probe=k8s.core.v1.ProbeArgs(
                        http_get=k8s.core.v1.HTTPGetActionArgs(path="/", port=HEALTH_PORT)
                    ),
                    security_context=k8s.core.v1.SecurityContextArgs(
                        allow_privilege_escalation=False,
                        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                    ),
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_MOUNT)
                    ],
                )
            ],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="config",
                    config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=COLLECTOR_NAME),
                )
            ],
        )
