"""An EKS GitLab runner fleet on an EKS cluster you already run, built from the component package.

The fleet creates no cluster: it reads yours (endpoint, certificate authority, OIDC provider,
cluster security group) and adds its own Fargate profile, pod execution role, one
gitlab-runner release per runner, IRSA roles for the build cache, and for the spot lane
Karpenter (or, with `karpenter: existing`, only its NodePool, EC2NodeClass, node role and that
role's access entry, for the Karpenter v1 your cluster runs). `pulumi destroy` removes only
those. What the cluster needs, and what it keeps: docs/bring-your-own.md.
"""

import pulumi

from components.domain.specs import EksFleetSpec, ExistingCluster, RunnerSpec
from components.eks.runner import EksFargateRunner, EksFargateRunnerArgs
from components.shared.cache import BuildCache, BuildCacheArgs
from components.shared.network import VpcRefs

NAME_PREFIX = "ci-runners"  # log groups, the cache bucket: unique per account and region
TAGS = {"team": "platform", "managed-by": "pulumi"}


def build() -> dict[str, object]:
    config = pulumi.Config()
    cluster = ExistingCluster(
        name=config.require("clusterName"), karpenter=config.get("karpenter") or "install"
    )
    cache = BuildCache(
        "ci-cache",
        BuildCacheArgs(expiration_days=14, tags=TAGS, bucket_prefix=f"{NAME_PREFIX}-cache-"),
    )
    fleet = EksFargateRunner(
        "ci",
        EksFargateRunnerArgs(
            fleet=EksFleetSpec(
                gitlab_url=config.get("gitlabUrl") or "https://gitlab.com",
                runners=(
                    RunnerSpec(name="build", tags=("build",), concurrency=20),
                    RunnerSpec(name="build-spot", tags=("spot",), concurrency=10, lane="spot"),
                ),
            ),
            # The cluster's VPC and private subnets: its NAT and routes are not in this
            # program, so there is nothing to keep alive on destroy (`egress`).
            network=VpcRefs(
                vpc_id=config.require("vpcId"),
                private_subnet_ids=config.require_object("privateSubnetIds"),
            ),
            cluster_name=cluster.name,
            existing_cluster=cluster,
            name_prefix=NAME_PREFIX,
            metrics_namespace="CIRunners",
            tokens={
                "build": config.require_secret("buildToken"),
                "build-spot": config.require_secret("buildSpotToken"),
            },
            tags=TAGS,
            cache=cache.bucket(),
            # `aws eks get-token` runs with the profile the AWS provider uses.
            kubeconfig_credentials=(pulumi.Config("aws").get("profile"), None),
        ),
    )
    # What your cluster's owner grants: its Fargate log group to the pod execution role and,
    # with `karpenter: existing`, iam:PassRole on the node roles to its Karpenter.
    owner = ("podExecutionRoleArn", "karpenterNodeRoleArns")
    return {
        "runners": fleet.stack_outputs["runners"],
        **{key: fleet.stack_outputs[key] for key in owner if key in fleet.stack_outputs},
        "gitlabCiExample": fleet.stack_outputs["gitlabCiExample"],
    }


if __name__ == "__main__":
    for key, value in build().items():
        pulumi.export(key, value)
