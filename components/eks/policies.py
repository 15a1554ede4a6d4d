"""IAM documents for EKS mode, built from plain strings so tests can inspect them directly.

Every Allow names explicit actions; `"Resource": "*"` appears only for actions AWS offers no
resource-level permission for (EC2 Describe*, pricing, iam:ListInstanceProfiles). The
Karpenter controller statements follow the upstream Karpenter 1.14 CloudFormation policies,
scoped to this cluster by request/resource tags; the zonal-shift read is left out because
`settings.enableZonalShift` stays off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Document = dict[str, Any]
FARGATE_POD_EXECUTION_POLICY = "AmazonEKSFargatePodExecutionRolePolicy"
# Karpenter node roles carry no AmazonEKS_CNI_Policy: the VPC CNI (aws-node) has its own IRSA
# role, so a pod that reaches its node cannot manage network interfaces across the account.
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
# Docker-in-Docker nodes: only joining the cluster and pulling images (no Session Manager).
PRIVILEGED_NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
)
VPC_CNI_POLICY = "AmazonEKS_CNI_Policy"
VPC_CNI_NAMESPACE = "kube-system"
VPC_CNI_SERVICE_ACCOUNT = "aws-node"
CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"


def _document(*statements: dict[str, Any]) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def managed_policy_arn(partition: str, policy: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{policy}"


def cluster_access_policy_arn(partition: str, policy: str) -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/{policy}"


def fargate_pod_execution_trust_policy(
    partition: str, region: str, account_id: str, cluster_name: str
) -> Document:
    """Only Fargate profiles of this cluster may use the role (confused-deputy guard)."""
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {
                    "aws:SourceArn": (
                        f"arn:{partition}:eks:{region}:{account_id}:fargateprofile/{cluster_name}/*"
                    )
                }
            },
        }
    )


def fargate_logging_policy(
    partition: str, region: str, account_id: str, log_group_names: Sequence[str]
) -> Document:
    """What the Fargate log router (Fluent Bit) needs, on the named log groups only.

    CreateLogGroup is granted because Fluent Bit calls it for its process-log group even when
    the group already exists (this program creates both groups, with retention)."""
    groups = [
        f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}" for name in log_group_names
    ]
    return _document(
        {
            "Sid": "FargateLogRouter",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            "Resource": groups + [f"{group}:*" for group in groups],
        }
    )


def ec2_trust_policy(dns_suffix: str) -> Document:
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": f"ec2.{dns_suffix}"},
            "Action": "sts:AssumeRole",
        }
    )


def irsa_trust_policy(
    oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_account: str
) -> Document:
    """IRSA: only this one Kubernetes service account may assume the role."""
    issuer = oidc_issuer.removeprefix("https://")
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        }
    )


def karpenter_controller_policies(
    partition: str,
    region: str,
    account_id: str,
    cluster_name: str,
    node_role_arns: Sequence[str],
    queue_arn: str,
) -> dict[str, Document]:
    """The Karpenter controller's permissions, split like upstream (each fits a managed policy)."""
    ec2 = f"arn:{partition}:ec2:{region}"
    instance_profiles = f"arn:{partition}:iam::{account_id}:instance-profile/*"
    cluster_arn = f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}"
    owned = f"kubernetes.io/cluster/{cluster_name}"
    launched = [
        f"{ec2}:*:fleet/*",
        f"{ec2}:*:instance/*",
        f"{ec2}:*:volume/*",
        f"{ec2}:*:network-interface/*",
        f"{ec2}:*:launch-template/*",
        f"{ec2}:*:spot-instances-request/*",
    ]
    request_tagged = {
        f"aws:RequestTag/{owned}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    resource_tagged = {
        "StringEquals": {f"aws:ResourceTag/{owned}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }
    node_lifecycle = _document(
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": resource_tagged,
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {
                "StringEquals": request_tagged,
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **request_tagged,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                **resource_tagged,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": resource_tagged,
        },
    )
    profile_request_tags = {
        **request_tagged,
        "aws:RequestTag/topology.kubernetes.io/region": region,
    }
    profile_resource_tags = {
        f"aws:ResourceTag/{owned}": "owned",
        "aws:ResourceTag/topology.kubernetes.io/region": region,
    }
    iam_integration = _document(
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": list(node_role_arns),
            "Action": "iam:PassRole",
            "Condition": {
                "StringEquals": {
                    "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]
                }
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": "iam:CreateInstanceProfile",
            "Condition": {
                "StringEquals": profile_request_tags,
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": "iam:TagInstanceProfile",
            "Condition": {
                "StringEquals": {**profile_resource_tags, **profile_request_tags},
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {
                "StringEquals": profile_resource_tags,
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
    )
    eks_integration = _document(
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": cluster_arn,
            "Action": "eks:DescribeCluster",
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
    )
    resource_discovery = _document(
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "pricing:GetProducts",
        },
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": instance_profiles,
            "Action": "iam:GetInstanceProfile",
        },
    )
    return {
        "node-lifecycle": node_lifecycle,
        "iam-integration": iam_integration,
        "eks-integration": eks_integration,
        "resource-discovery": resource_discovery,
    }


def interruption_queue_policy(queue_arn: str) -> Document:
    """EventBridge (and SQS itself) may deliver; anything over plain HTTP is refused."""
    return _document(
        {
            "Sid": "AllowEventBridgeDelivery",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
