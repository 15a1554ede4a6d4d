"""The IRSA role of one runner manager: object access to the stack's build cache, nothing else.

The manager presigns its jobs' cache URLs (`AuthenticationType = "iam"`), so its service
account assumes this role; the job pods use their own service account and get no S3 access.
IRSA rather than EKS Pod Identity: managers may run on Fargate, which Pod Identity does not
serve.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.domain.specs import RunnerSpec
from components.eks.placement import runner_namespace
from components.eks.policies import irsa_trust_policy
from components.eks.runner_chart import ManagerCache, release_name
from components.shared.cache import CacheBucket, cache_access_statements


def manager_cache(
    name: str,
    runner: RunnerSpec,
    cache: CacheBucket,
    oidc: tuple[pulumi.Input[str], pulumi.Input[str]],  # provider ARN, issuer
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> tuple[pulumi.Output[ManagerCache], aws.iam.RolePolicy]:
    """The manager's cache settings with its role ARN, and the policy it must wait for."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        name,
        description=f"GitLab runner manager '{runner.name}': presign build cache URLs (IRSA)",
        assume_role_policy=pulumi.Output.all(*oidc).apply(
            lambda v: json.dumps(
                irsa_trust_policy(v[0], v[1], runner_namespace(runner.name), release_name(runner))
            )
        ),
        tags=dict(tags),
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.from_input(cache.bucket_arn).apply(
            lambda arn: json.dumps(
                {"Version": "2012-10-17", "Statement": cache_access_statements(arn)}
            )
        ),
        opts=child,
    )
    settings = pulumi.Output.all(cache.settings(), role.arn).apply(
        lambda v: ManagerCache(settings=v[0], role_arn=v[1])
    )
    return settings, policy
